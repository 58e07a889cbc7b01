#!/usr/bin/env node
// End-to-end test of the demo page in a real browser: Debian's chromium, driven by playwright-core,
// against cutout-server started on loopback. The page must load, show the start-up phases until
// ready, send an image to /remove-background and show a cut-out of the image's size with its
// Server-Timing, without a console error (a CSP violation is one). A screenshot is saved.
//
//   node tests/browser/demo_page.mjs --server build/cutout-server --model build/tests/fixtures/slow_start.pt \
//        --screenshot build/tests/browser/demo_page.png
//
// The same script makes the screenshot in docs/ with a real model and photo:
//   node tests/browser/demo_page.mjs --server build/cutout-server --model models/default.pt \
//        --image photo.png --screenshot docs/frontend-demo.png --warmup-runs 1 --width 1100
//
// Without --image it sends a generated picture (red object on blue ground, what the fixture models
// see as foreground and background) and checks the transparency where the object was.
// Needs playwright-core in .cache/npm-playwright (tests/browser/install.sh, run by
// scripts/setup.sh --for-tests) and /usr/bin/chromium (Debian package chromium).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

function parseArgs(argv) {
  const opts = {
    server: resolve(ROOT, 'build/cutout-server'),
    model: resolve(ROOT, 'build/tests/fixtures/slow_start.pt'),
    warmupRuns: 10,  // slow_start.pt: a warm-up long enough for the page to show it on any machine
    failedModel: null,  // also check the page's "could not start" state with this (broken) model
    image: null,
    screenshot: null,
    playwright: resolve(ROOT, '.cache/npm-playwright'),
    chromium: '/usr/bin/chromium',
    width: 1000,
    timeoutS: 240,
  };
  const keys = { '--server': 'server', '--model': 'model', '--warmup-runs': 'warmupRuns',
    '--image': 'image', '--screenshot': 'screenshot', '--playwright': 'playwright',
    '--chromium': 'chromium', '--width': 'width', '--timeout-s': 'timeoutS',
    '--failed-model': 'failedModel' };
  for (let i = 2; i < argv.length; i += 2) {
    const key = keys[argv[i]];
    if (!key || argv[i + 1] === undefined) throw new Error(`unknown or incomplete argument ${argv[i]}`);
    opts[key] = ['warmupRuns', 'width', 'timeoutS'].includes(key) ? Number(argv[i + 1]) : argv[i + 1];
  }
  return opts;
}

function need(path, what, fix) {
  if (!existsSync(path)) throw new Error(`${what} not found at ${path}: ${fix}`);
}

// A PNG (RGB, 8 bit) of a red rectangle on blue, built here so the test needs no image library.
function crc32(bytes) {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
function redOnBluePng(width, height, object) {
  const raw = Buffer.alloc(height * (1 + 3 * width));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + 3 * width)] = 0;  // filter: none
    for (let x = 0; x < width; x++) {
      const inside = x >= object.x0 && x < object.x1 && y >= object.y0 && y < object.y1;
      const at = y * (1 + 3 * width) + 1 + 3 * x;
      raw[at] = inside ? 220 : 20;
      raw[at + 1] = 30;
      raw[at + 2] = inside ? 20 : 220;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;  // bit depth
  header[9] = 2;  // colour type: RGB
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// Starts the server on a free loopback port; resolves with its port once it listens.
function startServer(opts, log, extraArgs = []) {
  const child = spawn(opts.server, ['--host', '127.0.0.1', '--port', '0', '--model', opts.model,
    '--warmup-runs', String(opts.warmupRuns), '--log-format', 'json', ...extraArgs],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = new Promise((resolvePort, reject) => {
    let pending = '';
    child.stdout.on('data', (data) => {
      pending += data.toString();
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        log.push(line);
        try {
          const event = JSON.parse(line);
          if (event.message === 'listening') resolvePort(event.port);
        } catch (_) { /* not JSON */ }
      }
    });
    child.stderr.on('data', (data) => log.push(data.toString()));
    child.on('exit', (code) => reject(new Error(`cutout-server exited with ${code} before listening`)));
  });
  return { child, port };
}

function stopServer(child) {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null) return resolveExit(child.exitCode);
    child.on('exit', (code) => resolveExit(code));
    child.kill('SIGTERM');
  });
}

// The options (issue 18): each control changes the request, and the page shows what came back.
// Values are set together, then one change event sends the image again.
async function runWith(page, settings, check) {
  const before = Number(await page.getAttribute('body', 'data-results'));
  await page.evaluate((values) => {
    for (const [id, value] of Object.entries(values)) {
      const el = document.querySelector(id);
      if (el.type === 'checkbox') el.checked = value;
      else el.value = value;
    }
    document.querySelector('#opt-output').dispatchEvent(new Event('change'));
  }, settings);
  await page.waitForFunction((n) => Number(document.body.dataset.results) > n ||
    document.body.dataset.upload === 'error', before);
  check(await page.getAttribute('body', 'data-upload') === 'done',
    `with ${JSON.stringify(settings)}: ${await page.textContent('#upload-status')}`);
  return page.evaluate(() => {
    const img = document.querySelector('#cutout');
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const r = document.querySelector('#result').dataset;
    return {
      type: r.type, width: Number(r.width), height: Number(r.height), foreground: r.foreground,
      natural: [img.naturalWidth, img.naturalHeight],
      corner: [...ctx.getImageData(1, 1, 1, 1).data],
      centre: [...ctx.getImageData(img.naturalWidth >> 1, img.naturalHeight >> 1, 1, 1).data],
      download: document.querySelector('#download').download,
      cropped: document.querySelector('#compare').classList.contains('cropped'),
      facts: document.querySelector('#result-facts').textContent,
    };
  });
}

async function checkOptions(page, object, step, check) {
  // Before/after: the slider moves the split, the zoom widens the view.
  await page.$eval('#compare-slider', (el) => { el.value = '20'; el.dispatchEvent(new Event('input')); });
  const split = await page.$eval('#compare', (el) => el.style.getPropertyValue('--split'));
  check(split === '20%', `slider: --split is "${split}", want 20%`);
  await page.selectOption('#compare-zoom', '4');
  const widths = await page.evaluate(() => [document.querySelector('#compare').offsetWidth,
    document.querySelector('#compare-frame').clientWidth]);
  check(Math.abs(widths[0] - 4 * widths[1]) <= 4, `zoom 4x: view ${widths[0]} px in a ${widths[1]} px frame`);
  await page.selectOption('#compare-zoom', '1');
  step(`before/after: split ${split}, zoom 4x ${widths[0]} px of ${widths[1]} px`);

  // Crop to the subject, at most 40 px, WebP: about the object's 80x48 box, halved.
  let r = await runWith(page, { '#opt-crop': true, '#opt-margin': '', '#opt-max-side': '40', '#opt-format': 'webp' }, check);
  check(r.type === 'image/webp' && r.download.endsWith('-cutout.webp'), `crop/webp: ${r.type}, ${r.download}`);
  check(r.natural.join() === `${r.width},${r.height}`, `X-Width/X-Height ${r.width}x${r.height}, image ${r.natural}`);
  const ratio = r.height / r.width;
  check(r.width === 40 && Math.abs(ratio - 48 / 80) < 0.15, `crop + max side 40: ${r.width}x${r.height}`);
  check(r.foreground !== 'none' && r.cropped, `crop: subject box ${r.foreground}, compare cropped ${r.cropped}`);
  step(`crop + max_side=40 + webp: ${r.width}x${r.height}, subject box ${r.foreground}; "${r.facts}"`);

  // Flattened onto green as JPEG, full size: the ground is green, the object stays red.
  r = await runWith(page, { '#opt-crop': false, '#opt-max-side': '', '#opt-bg-on': true, '#opt-bg': '#00ff00',
    '#opt-format': 'jpeg' }, check);
  check(r.type === 'image/jpeg' && r.natural.join() === `${object.width},${object.height}`, `bg/jpeg: ${r.type} ${r.natural}`);
  check(r.corner[1] > 200 && r.corner[0] < 70 && r.corner[2] < 70, `bg_color 00ff00: corner ${r.corner}`);
  check(r.centre[0] > 150 && r.centre[1] < 90, `bg_color: the object's centre ${r.centre}`);
  check(!r.cropped, 'uncropped result shown as cropped');
  step(`bg_color=00ff00 + jpeg: corner rgb ${r.corner.slice(0, 3)}, centre ${r.centre.slice(0, 3)}`);

  // The matte alone, format from Accept (png): gray, bright on the object.
  r = await runWith(page, { '#opt-output': 'mask', '#opt-bg-on': false, '#opt-format': '' }, check);
  check(r.type === 'image/png', `mask: ${r.type}`);
  check(r.centre[0] > 200 && r.centre[0] === r.centre[1] && r.centre[1] === r.centre[2] && r.corner[0] < 55,
    `mask: centre ${r.centre}, corner ${r.corner}`);
  step(`output=mask: centre ${r.centre[0]}, corner ${r.corner[0]}`);

  // Back to the defaults for the screenshot.
  r = await runWith(page, { '#opt-output': 'rgba' }, check);
  check(r.type === 'image/png' && r.natural.join() === `${object.width},${object.height}`, `defaults: ${r.type} ${r.natural}`);
  await page.$eval('#compare-slider', (el) => { el.value = '50'; el.dispatchEvent(new Event('input')); });
}

async function main() {
  const opts = parseArgs(process.argv);
  need(opts.server, 'cutout-server', 'build it (scripts/setup.sh)');
  need(opts.model, 'the model', 'build the test fixtures or make models/default.pt (scripts/setup.sh)');
  need(opts.chromium, 'chromium', 'install the Debian package chromium (scripts/setup.sh --for-tests)');
  need(resolve(opts.playwright, 'node_modules/playwright-core/package.json'), 'playwright-core',
    'run tests/browser/install.sh (scripts/setup.sh --for-tests does)');
  const { chromium } = createRequire(resolve(opts.playwright, 'package.json'))('playwright-core');

  let upload;
  let object = null;
  if (opts.image) {
    const type = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' };
    upload = { name: basename(opts.image), mimeType: type[extname(opts.image).toLowerCase()] || 'application/octet-stream',
      buffer: readFileSync(opts.image) };
  } else {
    // Not square, so a swapped width and height would show.
    object = { width: 160, height: 96, x0: 40, x1: 120, y0: 24, y1: 72 };
    upload = { name: 'red-on-blue.png', mimeType: 'image/png', buffer: redOnBluePng(object.width, object.height, object) };
  }

  const started = Date.now();
  const step = (what) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);
  // The browser first, so that the page opens while the server is still starting.
  const browser = await chromium.launch({ executablePath: opts.chromium, headless: true, args: CHROMIUM_ARGS });
  step(`chromium ${browser.version()} started`);
  const serverLog = [];
  const server = startServer(opts, serverLog);
  const problems = [];
  try {
    const port = await server.port;
    step(`cutout-server listening on 127.0.0.1:${port} with ${basename(opts.model)}`);
    const page = await browser.newPage({ viewport: { width: opts.width, height: 800 } });
    page.setDefaultTimeout(opts.timeoutS * 1000);
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      // Chromium logs every 503 as an error; /health answers 503 by design while starting.
      const expected = /status of 503/.test(msg.text()) && /\/health$/.test(msg.location().url || '');
      if (!expected) problems.push(`console error: ${msg.text()} (${msg.location().url})`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));

    const response = await page.goto(`http://127.0.0.1:${port}/`);
    check(response.status() === 200, `GET / answered ${response.status()}`);
    check(response.headers()['content-type'].startsWith('text/html'), 'GET / is not text/html');
    step('page loaded');

    await page.waitForSelector('body[data-state="ready"]');
    const seen = (await page.getAttribute('#service', 'data-seen-phases')) || '';
    const summary = await page.textContent('#service-summary');
    step(`page says ready: "${summary}"; phases it showed: ${seen}`);
    check(/starting|loading_model|warming_up/.test(seen),
      `the page never showed a start-up phase before ready (saw "${seen}")`);
    check((await page.$$('#phases li.done')).length === 4, 'not every phase is marked done');

    await page.setInputFiles('#file', upload);
    await page.waitForSelector('body[data-upload="done"], body[data-upload="error"]');
    const uploadStatus = await page.textContent('#upload-status');
    check(await page.getAttribute('body', 'data-upload') === 'done', `upload failed: ${uploadStatus}`);
    step(`upload: "${uploadStatus}"`);

    const sizes = await page.evaluate(() => {
      const o = document.querySelector('#original');
      const c = document.querySelector('#cutout');
      return { original: [o.naturalWidth, o.naturalHeight], cutout: [c.naturalWidth, c.naturalHeight] };
    });
    check(sizes.original[0] > 0 && sizes.cutout.join() === sizes.original.join(),
      `the cut-out is ${sizes.cutout.join('x')}, the image ${sizes.original.join('x')}`);
    if (object) {
      check(sizes.cutout.join() === `${object.width},${object.height}`, `cut-out size ${sizes.cutout}`);
      // Alpha at the object's centre and in a corner of the ground, read back from the shown image.
      const alpha = await page.evaluate(([ox, oy]) => {
        const img = document.querySelector('#cutout');
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0);
        return [ctx.getImageData(ox, oy, 1, 1).data[3], ctx.getImageData(2, 2, 1, 1).data[3]];
      }, [(object.x0 + object.x1) >> 1, (object.y0 + object.y1) >> 1]);
      check(alpha[0] > 200 && alpha[1] < 55, `alpha object/ground ${alpha[0]}/${alpha[1]}, want >200 / <55`);
      step(`alpha at the object ${alpha[0]}, on the ground ${alpha[1]}`);
    }
    const stages = await page.$$eval('#timing tr.stage td:first-child', (tds) => tds.map((td) => td.textContent));
    for (const name of ['decode', 'preprocess', 'inference', 'encode']) {
      check(stages.some((s) => s.startsWith(name)), `Server-Timing row "${name}" missing (have ${stages})`);
    }
    const download = await page.$eval('#download', (a) => [a.href, a.download]);
    check(download[0].startsWith('blob:') && download[1].endsWith('-cutout.png'), `download link ${download}`);
    step(`sizes ${sizes.cutout.join('x')}; Server-Timing rows: ${stages.join(', ')}`);

    await crossOriginWithAuthorization(port, upload);
    if (object) await checkOptions(page, object, step, check);

    if (opts.screenshot) {
      mkdirSync(dirname(resolve(opts.screenshot)), { recursive: true });
      await page.screenshot({ path: opts.screenshot, fullPage: true });
      step(`screenshot: ${opts.screenshot}`);
    }
    check(problems.length === 0, problems.join('\n'));
  } finally {
    await browser.close();
    const code = await stopServer(server.child);
    if (code !== 0) problems.push(`cutout-server exited with ${code}`);
  }
  if (problems.length) throw new Error(problems.join('\n'));

  if (opts.failedModel) {
    // A model that cannot load: the page must say so and stop, with the server's reason.
    const failedLog = [];
    const failed = startServer({ ...opts, model: opts.failedModel }, failedLog, ['--fail-exit-delay-ms', '60000']);
    const failedBrowser = await chromium.launch({ executablePath: opts.chromium, headless: true, args: CHROMIUM_ARGS });
    try {
      const port = await failed.port;
      const page = await failedBrowser.newPage();
      page.setDefaultTimeout(opts.timeoutS * 1000);
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForSelector('body[data-state="failed"]');
      const summary = await page.textContent('#service-summary');
      // The public answer names a short code; the model path and the library's text stay in the log.
      check(summary.includes('model_load_failed'), `failed state without the reason: "${summary}"`);
      check(!summary.includes(basename(opts.failedModel)), `failed state shows the model path: "${summary}"`);
      step(`with ${basename(opts.failedModel)} the page says: "${summary}"`);
    } finally {
      await failedBrowser.close();
      await stopServer(failed.child);
    }
  }
  step('passed');

  // A page on one origin (this server, 127.0.0.1) calls a second server on another origin
  // (localhost) that allows it by --cors-origin and asks for an API key: the browser's preflight
  // for Authorization, then the call, whose answer and exposed headers the page can read; without
  // the key a 401 the page can read too.
  async function crossOriginWithAuthorization(pagePort, picture) {
    const key = 'browser-test-key-42';
    const otherLog = [];
    const other = startServer(opts, otherLog, ['--cors-origin', `http://127.0.0.1:${pagePort}`, '--api-key', key]);
    try {
      const otherPort = await other.port;
      const base = `http://localhost:${otherPort}`;
      const warm = await fetch(`${base}/warmup?timeout_ms=60000`, { headers: { 'X-API-Key': key } });
      check(warm.status === 200, `second server's /warmup answered ${warm.status}`);
      // A document of the first origin without the demo page's Content-Security-Policy (which
      // allows connections to its own origin only): the frontend of another site, as it were.
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${pagePort}/health/live`);
      const result = await page.evaluate(async ([url, token, bytes, type]) => {
        const body = new Blob([new Uint8Array(bytes)], { type });
        const withKey = await fetch(url, { method: 'POST', body, headers: { Authorization: `Bearer ${token}`, 'Content-Type': type } });
        const blob = await withKey.blob();
        const withoutKey = await fetch(url, { method: 'POST', body, headers: { 'Content-Type': type } });
        return { status: withKey.status, type: blob.type, size: blob.size, timing: withKey.headers.get('Server-Timing'),
          requestId: withKey.headers.get('X-Request-Id'), refused: withoutKey.status, refusal: await withoutKey.json() };
      }, [`${base}/remove-background`, key, [...picture.buffer], picture.mimeType]);
      check(result.status === 200 && result.type === 'image/png' && result.size > 0,
        `cross-origin call with Authorization: ${JSON.stringify(result)}`);
      check(/inference;dur=/.test(result.timing || ''), `Server-Timing not readable cross-origin: ${result.timing}`);
      check(/^[A-Za-z0-9._-]{8,}$/.test(result.requestId || ''), `X-Request-Id not readable cross-origin: ${result.requestId}`);
      check(result.refused === 401 && result.refusal.error.type === 'unauthorized',
        `without the key: ${result.refused} ${JSON.stringify(result.refusal)}`);
      const preflights = otherLog.filter((l) => /"requestMethod":"OPTIONS"/.test(l)).length;
      check(preflights >= 1, 'the browser sent no preflight (the call was not cross-origin?)');
      step(`cross-origin ${base} with Authorization: ${result.status}, ${result.size} bytes, request ${result.requestId}; ` +
        `without the key ${result.refused}; ${preflights} preflight(s)`);
    } catch (err) {
      console.error('--- second server log (last 20 lines)\n' + otherLog.slice(-20).join('\n'));
      throw err;
    } finally {
      await stopServer(other.child);
    }
  }

  function check(ok, message) {
    if (!ok) {
      console.error('--- server log (last 20 lines)\n' + serverLog.slice(-20).join('\n'));
      throw new Error(message);
    }
  }
}

main().catch((err) => {
  console.error(`demo page test FAILED: ${err.message}`);
  process.exit(1);
});
