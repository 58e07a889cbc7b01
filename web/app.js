// The demo page of cutout-server. Plain browser JavaScript, no build step. What it does is what
// docs/frontend.md describes for any frontend:
//   1. on open, POST /warmup (wakes a cold instance; answers when ready) and, while that is pending,
//      poll GET /health to show the start-up phases and the time-left estimate;
//   2. POST the chosen image to /remove-background; on 503 wait Retry-After seconds and try again;
//   3. show the result over a checkerboard and against the original (before/after slider, zoom),
//      offer it for download, and show the Server-Timing and result headers (size, subject box).
// The options (output, background colour, format, crop, max side) become query parameters.
'use strict';

const HEALTH_POLL_MS = 250;
const WARMUP_TIMEOUT_MS = 60000;
const MAX_UPLOAD_TRIES = 10;
const PHASES = ['starting', 'loading_model', 'warming_up', 'ready'];
const STAGE_LABELS = {
  decode: 'decode', preprocess: 'preprocess', inference: 'inference', queue: 'queue wait',
  postprocess: 'postprocess', encode: 'encode',
};

const $ = (selector) => document.querySelector(selector);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms) => (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + ' s';

let settled = false;          // ready or failed: stop polling
const seenPhases = new Set(); // for people and for the browser test (data-seen-phases)

function setState(state) {
  document.body.dataset.state = state;
}

async function getJson(url, init) {
  const response = await fetch(url, { cache: 'no-store', ...init });
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON: leave null */ }
  return { response, body };
}

function markPhases(current, phaseElapsedMs, typical) {
  const index = PHASES.indexOf(current);
  for (const li of document.querySelectorAll('#phases li')) {
    const i = PHASES.indexOf(li.dataset.phase);
    li.classList.toggle('done', i < index || current === 'ready');
    li.classList.toggle('active', i === index && current !== 'ready');
    const time = li.querySelector('.time');
    if (i === index && current !== 'ready') {
      const usual = typical && typical[i] !== undefined ? ` (usually ~${seconds(typical[i])})` : '';
      time.textContent = seconds(phaseElapsedMs) + usual;
    }
  }
}

// A /health 503 "loading" body or a /warmup 503 "warmup_timeout" body.
function showProgress(p) {
  setState('loading');
  seenPhases.add(p.phase);
  $('#service').dataset.seenPhases = [...seenPhases].join(' ');
  const typical = (p.phases || []).map((phase) => phase.typical_ms);
  markPhases(p.phase, p.phase_elapsed_ms, typical);
  const remaining = p.estimated_remaining_ms;
  const fraction = p.elapsed_ms / (p.elapsed_ms + Math.max(remaining, 1));
  $('#progress-fill').style.width = (100 * Math.min(fraction, 0.97)).toFixed(1) + '%';
  let left;
  if (p.phase_overdue) left = 'taking longer than usual';
  else if (remaining < 1000) left = 'almost there';
  else left = `about ${Math.ceil(remaining / 1000)} s left`;
  const label = $(`#phases li[data-phase="${p.phase}"] .name`);
  const name = label ? label.textContent : p.phase;
  $('#service-summary').textContent =
    `${name}: step ${p.phase_index} of ${p.phase_count}, ${seconds(p.elapsed_ms)} since start, ${left}`;
}

// The /warmup 200 body (timeline and phase durations) and the /health 200 body (model, device).
function showReady(warmup, health) {
  settled = true;
  setState('ready');
  seenPhases.add('ready');
  $('#service').dataset.seenPhases = [...seenPhases].join(' ');
  markPhases('ready');
  $('#progress-fill').style.width = '100%';
  const durations = (warmup && warmup.phase_duration_ms) || {};
  for (const li of document.querySelectorAll('#phases li')) {
    const ms = durations[li.dataset.phase];
    li.querySelector('.time').textContent = ms === undefined ? '' : 'took ' + seconds(ms);
  }
  const readyMs = warmup && warmup.since_process_start_ms && warmup.since_process_start_ms.ready_ms;
  const start = readyMs === undefined ? '' : ` It started in ${seconds(readyMs)}.`;
  $('#service-summary').textContent =
    (warmup && warmup.already_warm ? 'Ready (it was already warm).' : 'Ready.') + start;
  if (health && health.model) {
    const [w, h] = health.model.input_size || [];
    $('#service-detail').textContent =
      `Model ${health.model.name} at ${w}×${h} on ${health.device} (${health.precision}).`;
  }
}

function showFailed(message) {
  settled = true;
  setState('failed');
  $('#service-summary').textContent = 'The service could not start: ' + message;
}

async function pollHealth() {
  while (!settled) {
    try {
      const { response, body } = await getJson('/health');
      if (settled) return;
      if (response.ok) return;  // /warmup answers too and carries the timeline: let it finish
      if (body && body.status === 'loading') showProgress(body);
      else if (body && body.status === 'failed') { showFailed(body.error.message); return; }
    } catch (_) {
      setState('unreachable');
      $('#service-summary').textContent = 'The service does not answer; trying again…';
    }
    await sleep(HEALTH_POLL_MS);
  }
}

async function warmUp() {
  while (!settled) {
    try {
      const { response, body } = await getJson(`/warmup?timeout_ms=${WARMUP_TIMEOUT_MS}`, { method: 'POST' });
      if (response.status === 200) {
        const health = await getJson('/health').then((r) => r.body).catch(() => null);
        showReady(body, health);
        return;
      }
      if (response.status === 503 && body && body.phase) {
        showProgress(body);  // still starting after WARMUP_TIMEOUT_MS: ask again at once
        continue;
      }
      if (body && body.status === 'failed') {
        showFailed(body.error.message);
        return;
      }
      // Anything else (a proxy's 502/504 page, say) is not this service's answer: try again.
      throw new Error(`HTTP ${response.status}`);
    } catch (_) {
      setState('unreachable');
      $('#service-summary').textContent = 'The service does not answer; trying again…';
      await sleep(2000);
    }
  }
}

// "decode;dur=1.2, inference;dur=30.5;desc="includes queue", ..." -> [{name, dur, desc}]
function parseServerTiming(header) {
  if (!header) return [];
  return header.split(',').map((entry) => {
    const [name, ...params] = entry.trim().split(';');
    const metric = { name: name.trim(), dur: NaN, desc: '' };
    for (const param of params) {
      const eq = param.indexOf('=');
      const key = param.slice(0, eq).trim();
      const value = param.slice(eq + 1).trim().replace(/^"|"$/g, '');
      if (key === 'dur') metric.dur = Number(value);
      if (key === 'desc') metric.desc = value;
    }
    return metric;
  }).filter((m) => m.name);
}

function showTimings(metrics, roundTripMs) {
  const tbody = $('#timing tbody');
  tbody.replaceChildren();
  const row = (label, ms, className) => {
    const tr = document.createElement('tr');
    if (className) tr.className = className;
    const name = document.createElement('td');
    name.textContent = label;
    const value = document.createElement('td');
    value.className = 'num';
    value.textContent = ms.toFixed(1);
    const barCell = document.createElement('td');
    barCell.className = 'bar-cell';
    const bar = document.createElement('div');
    bar.className = 'stage-bar';
    bar.style.width = (100 * Math.min(ms / roundTripMs, 1)).toFixed(1) + '%';
    barCell.append(bar);
    tr.append(name, value, barCell);
    tbody.append(tr);
  };
  for (const m of metrics) {
    const label = (STAGE_LABELS[m.name] || m.name) + (m.desc ? ` (${m.desc})` : '');
    row(label, m.dur, 'stage');
  }
  row('round trip seen by this page (upload and download included)', roundTripMs, 'total');
}

function imageSize(img) {
  return img.decode().then(() => ({ width: img.naturalWidth, height: img.naturalHeight }));
}

let objectUrls = [];
let lastFile = null;   // re-sent when an option changes
let rerunPending = false;  // an option changed while a request was out: send again when it ends
let resultCount = 0;   // for the browser test: which answer the page shows (data-results)
const EXTENSIONS = { 'image/png': 'png', 'image/webp': 'webp', 'image/jpeg': 'jpg' };

// The query string of the chosen options; only what differs from the defaults is sent.
function optionsQuery() {
  const q = new URLSearchParams();
  const output = $('#opt-output').value;
  if (output !== 'rgba') q.set('output', output);
  if ($('#opt-bg-on').checked && output === 'rgba') q.set('bg_color', $('#opt-bg').value.slice(1));
  if ($('#opt-format').value) q.set('format', $('#opt-format').value);
  if ($('#opt-crop').checked) {
    q.set('crop', 'true');
    const margin = $('#opt-margin').value.trim();
    if (margin) q.set('crop_margin', margin);
  }
  const maxSide = $('#opt-max-side').value.trim();
  if (maxSide) q.set('max_side', maxSide);
  const text = q.toString();
  return text ? '?' + text : '';
}

// X-Width, X-Height and the subject's box (X-Foreground-*), or null for a header that is absent.
function resultHeaders(response) {
  const number = (name) => (response.headers.has(name) ? Number(response.headers.get(name)) : null);
  const box = ['Left', 'Top', 'Width', 'Height'].map((k) => number('X-Foreground-' + k));
  return {
    width: number('X-Width'),
    height: number('X-Height'),
    box: box.every((v) => v !== null) ? box : null,
  };
}

function showCompare(originalUrl, resultUrl, cropped) {
  $('#compare-before').src = originalUrl;
  $('#compare-after').src = resultUrl;
  $('#compare').classList.toggle('cropped', cropped);
  $('#compare-note').hidden = !cropped;
  $('#compare-slider').disabled = cropped;
}

async function removeBackground(file) {
  await sendOnce(file);
  while (rerunPending) {
    rerunPending = false;
    await sendOnce(lastFile);
  }
}

async function sendOnce(file) {
  lastFile = file;
  const query = optionsQuery();
  const status = $('#upload-status');
  status.className = '';
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls = [URL.createObjectURL(file)];
  const original = $('#original');
  original.src = objectUrls[0];
  const form = new FormData();
  form.append('image', file, file.name);

  for (let attempt = 1; attempt <= MAX_UPLOAD_TRIES; attempt++) {
    status.textContent = `Removing the background of ${file.name}…`;
    document.body.dataset.upload = 'sending';
    const started = performance.now();
    let response;
    try {
      response = await fetch('/remove-background' + query, { method: 'POST', body: form });
    } catch (e) {
      status.className = 'error';
      status.textContent = 'The request did not reach the service: ' + e.message;
      document.body.dataset.upload = 'error';
      return;
    }
    if (response.status === 503) {
      // not_ready or queue_full: the server says when to come back. model_failed comes without
      // Retry-After: this instance will not recover, so say so instead of retrying.
      const body = await response.json().catch(() => null);
      if (!response.headers.has('Retry-After')) {
        status.className = 'error';
        status.textContent = body && body.error ? `${body.error.message} (${body.error.type})` : 'HTTP 503';
        document.body.dataset.upload = 'error';
        return;
      }
      const wait = Number(response.headers.get('Retry-After')) || 2;
      const type = body && body.error ? body.error.type : 'unavailable';
      status.textContent = `The service is busy (${type}); trying again in ${wait} s (attempt ${attempt} of ${MAX_UPLOAD_TRIES})…`;
      await sleep(wait * 1000);
      continue;
    }
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      status.className = 'error';
      status.textContent = body && body.error
        ? `${body.error.message} (${body.error.type}, HTTP ${response.status})`
        : `HTTP ${response.status}`;
      document.body.dataset.upload = 'error';
      return;
    }
    const blob = await response.blob();
    const roundTripMs = performance.now() - started;
    const resultUrl = URL.createObjectURL(blob);
    objectUrls.push(resultUrl);
    const cutout = $('#cutout');
    cutout.src = resultUrl;
    $('#result').hidden = false;
    const [inSize, outSize] = await Promise.all([imageSize(original), imageSize(cutout)]);
    const type = (response.headers.get('Content-Type') || '').split(';')[0];
    const extension = EXTENSIONS[type] || 'bin';
    const facts = resultHeaders(response);
    $('#original-caption').textContent = `Original: ${file.name}, ${inSize.width}×${inSize.height}`;
    $('#cutout-caption').textContent =
      `Result: ${outSize.width}×${outSize.height} ${extension.toUpperCase()}, ${(blob.size / 1024).toFixed(0)} KiB`;
    const result = $('#result');
    result.dataset.type = type;
    result.dataset.width = facts.width;
    result.dataset.height = facts.height;
    result.dataset.foreground = facts.box ? facts.box.join(',') : 'none';
    $('#result-facts').textContent = `Sent ${query || 'no options'}. ` + (facts.box
      ? `Subject box (X-Foreground-*): left ${facts.box[0]}, top ${facts.box[1]}, ${facts.box[2]}×${facts.box[3]} of ${facts.width}×${facts.height}.`
      : 'No subject found (X-Foreground: none).');
    // Cropped (crop=true and a subject found): the result no longer lines up with the original.
    showCompare(objectUrls[0], resultUrl, /crop=true/.test(query) && facts.box !== null);
    const download = $('#download');
    download.href = resultUrl;
    download.download = file.name.replace(/\.[^.]*$/, '') + '-cutout.' + extension;
    download.textContent = 'Download ' + extension.toUpperCase();
    showTimings(parseServerTiming(response.headers.get('Server-Timing')), roundTripMs);
    status.textContent = `Done in ${roundTripMs.toFixed(0)} ms.`;
    document.body.dataset.results = String(++resultCount);
    document.body.dataset.upload = 'done';
    return;
  }
  status.className = 'error';
  status.textContent = `The service stayed busy after ${MAX_UPLOAD_TRIES} attempts; try again later.`;
  document.body.dataset.upload = 'error';
}

function setUpDropZone() {
  const drop = $('#drop');
  const input = $('#file');
  input.addEventListener('change', () => {
    if (input.files.length) removeBackground(input.files[0]);
    input.value = '';  // picking the same file again still fires "change"
  });
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  for (const type of ['dragleave', 'drop']) {
    drop.addEventListener(type, () => drop.classList.remove('over'));
  }
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    const file = e.dataTransfer.files[0];
    if (file) removeBackground(file);
  });
}

function setUpOptions() {
  const rerun = () => {
    if (!lastFile) return;
    if (document.body.dataset.upload === 'sending') rerunPending = true;
    else removeBackground(lastFile);
  };
  for (const id of ['#opt-output', '#opt-bg-on', '#opt-bg', '#opt-format', '#opt-crop', '#opt-margin', '#opt-max-side']) {
    $(id).addEventListener('change', rerun);
  }
  const slider = $('#compare-slider');
  const split = () => $('#compare').style.setProperty('--split', slider.value + '%');
  slider.addEventListener('input', split);
  split();
  $('#compare-zoom').addEventListener('change', (e) => $('#compare').style.setProperty('--zoom', e.target.value));
}

setUpDropZone();
setUpOptions();
warmUp();
pollHealth();
