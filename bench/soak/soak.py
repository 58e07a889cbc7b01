#!/usr/bin/python3
"""Load and soak run against the real cutout-server binary with a tiny model.

Phase 1 (soak): N requests at concurrency C over keep-alive connections, mixed sizes and formats
and a share of bad inputs, each with the exact status it must get. Samples the server's RSS,
threads and open file descriptors (/proc/PID/status, /proc/PID/fd) all along.
Phase 2 (overload): a model that is slow on purpose, a small --queue-depth and more clients than
the queue holds: the excess must get 503 queue_full with Retry-After, never a hang or a 5xx of
another kind, and memory must stay bounded.

Prints figures and writes them as JSON. Exits 1 if a request was lost or answered with a status
other than its expected one (503 queue_full is the only 5xx allowed), or if file descriptors grew.
Latency and RSS are reported, never asserted: they are figures, not pass/fail (the project's rule).

  bench/soak/soak.py --server build/cutout-server --fixtures build/tests/fixtures \\
      --requests 10000 --concurrency 16 --out bench/results/soak.json
  bench/soak/soak.py --quick ...   # the ctest: 300 + 100 requests, well under a minute
"""
import argparse
import http.client
import io
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time

import numpy as np
from PIL import Image

MAX_BODY = 4 * 1024 * 1024


def picture(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), np.full_like(x, 90)], -1).astype(np.uint8)
    img[h // 4: 3 * h // 4, w // 3: 2 * w // 3] = (230, 20, 20)
    img = (img.astype(np.int16) + rng.integers(-12, 12, img.shape)).clip(0, 255).astype(np.uint8)
    return Image.fromarray(img, "RGB")


def encoded(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def workload():
    """(name, weight, method body builder) -> list of request kinds with expected status."""
    kinds = []

    def add(name, weight, body, ctype, query="", status=200):
        kinds.append(dict(name=name, weight=weight, body=body, ctype=ctype, query=query, status=status))

    add("png_64x48", 15, encoded(picture(64, 48, 1), "PNG"), "image/png")
    add("jpeg_160x120", 15, encoded(picture(160, 120, 2), "JPEG", quality=85), "image/jpeg")
    add("jpeg_320x240", 20, encoded(picture(320, 240, 3), "JPEG", quality=85), "image/jpeg")
    add("jpeg_640x480_mask", 10, encoded(picture(640, 480, 4), "JPEG", quality=85), "image/jpeg", "?output=mask")
    add("webp_400x300_on_white", 8, encoded(picture(400, 300, 5), "WEBP", quality=80), "image/webp",
        "?bg_color=ffffff&format=jpeg")
    add("png_rgba_256x256_webp", 7, encoded(picture(256, 256, 6).convert("RGBA"), "PNG"), "image/png", "?format=webp")
    add("jpeg_1024x768", 5, encoded(picture(1024, 768, 7), "JPEG", quality=85), "image/jpeg")
    # Bad inputs (about 20% of requests).
    jpeg = encoded(picture(320, 240, 8), "JPEG")
    add("bad_truncated_jpeg", 4, jpeg[:200], "image/jpeg", status=400)
    add("bad_text", 4, b"not an image at all\n" * 20, "image/png", status=415)
    add("bad_unknown_parameter", 3, jpeg, "image/jpeg", "?size=full", status=400)
    add("bad_pixel_bomb_header", 3, bomb_png(), "image/png", status=413)
    add("bad_json_content_type", 3, jpeg, "application/json", status=415)  # explicit non-image type
    add("jpeg_no_content_type", 2, jpeg, None)  # none declared: judged by the bytes
    add("bad_over_body_limit", 3, None, "image/png", status=413)  # announced, never sent
    return kinds


def bomb_png():
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def schedule(kinds, n, seed):
    rng = np.random.default_rng(seed)
    weights = np.array([k["weight"] for k in kinds], float)
    return rng.choice(len(kinds), size=n, p=weights / weights.sum())


class Server:
    def __init__(self, binary, model, log_path, extra):
        self.log = open(log_path, "w")
        args = [binary, "--model", model, "--port", "0", "--host", "127.0.0.1", "--device", "cpu",
                "--log-format", "json", "--max-body-bytes", str(MAX_BODY)] + extra
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.log_path = log_path
        self.port = self._wait_port()
        self._wait_ready()

    def _wait_port(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            with open(self.log_path) as f:
                for line in f:
                    try:
                        j = json.loads(line)
                    except ValueError:
                        continue
                    if j.get("message") == "listening":
                        return j["port"]
            time.sleep(0.05)
        raise RuntimeError("server did not open its port")

    def _wait_ready(self):
        deadline = time.time() + 120
        while time.time() < deadline:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            c.request("GET", "/warmup?timeout_ms=5000")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return
        raise RuntimeError("server not ready")

    def sample(self):
        pid = self.proc.pid
        out = {}
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "Threads"):
                    out[key] = int(value.split()[0])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
        return out

    def stop(self):
        t = time.time()
        self.proc.send_signal(15)
        code = self.proc.wait(timeout=30)
        self.log.close()
        return code, time.time() - t


def over_limit_request(port, timeout):
    """Announces a body over the limit and sends none of it: the answer must come anyway."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(("POST /remove-background HTTP/1.1\r\nHost: soak\r\nContent-Type: image/png\r\n"
               f"Content-Length: {MAX_BODY * 3}\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return int(data.split(b" ", 2)[1]), {}


def run_load(port, kinds, order, concurrency, timeout, results, sampler_tick=None):
    """Each worker keeps one keep-alive connection and reconnects when the server closes it."""
    lock = threading.Lock()
    next_index = [0]

    def worker():
        conn = None
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(order):
                break
            k = kinds[order[i]]
            t0 = time.perf_counter()
            status, headers, error = None, {}, None
            try:
                if k["body"] is None:
                    status, headers = over_limit_request(port, timeout)
                else:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                    h = {"Content-Type": k["ctype"]} if k["ctype"] else {}
                    conn.request("POST", "/remove-background" + k["query"], body=k["body"], headers=h)
                    r = conn.getresponse()
                    r.read()
                    status, headers = r.status, {key.lower(): v for key, v in r.getheaders()}
                    if r.will_close:
                        conn.close()
                        conn = None
            except Exception as e:  # a lost request: counted, never hidden
                error = repr(e)
                if conn is not None:
                    conn.close()
                conn = None
            results[i] = dict(kind=k["name"], status=status, expected=k["status"],
                              ms=(time.perf_counter() - t0) * 1000, error=error,
                              retry_after=headers.get("retry-after"))
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def sampler(server, samples, stop, done_counter):
    t0 = time.time()
    while not stop.is_set():
        try:
            s = server.sample()
        except OSError:
            break
        s["t"] = round(time.time() - t0, 2)
        s["done"] = done_counter()
        samples.append(s)
        stop.wait(0.25)


def percentile(values, q):
    return float(np.percentile(np.array(values), q)) if values else None


def summarize(results, kinds_seen):
    by_status = {}
    for r in results:
        by_status[str(r["status"])] = by_status.get(str(r["status"]), 0) + 1
    lost = [r for r in results if r["status"] is None]
    designed_503 = [r for r in results if r["status"] == 503]
    wrong = [r for r in results if r["status"] is not None and r["status"] != r["expected"]
             and r["status"] != 503]
    bad_503 = [r for r in designed_503 if r["retry_after"] is None]
    other_5xx = [r for r in results if r["status"] and r["status"] >= 500 and r["status"] != 503]
    ok_ms = [r["ms"] for r in results if r["status"] == 200]
    return dict(
        requests=len(results), by_status=by_status, lost=len(lost), wrong_status=len(wrong),
        other_5xx=len(other_5xx), queue_full_503=len(designed_503), queue_full_without_retry_after=len(bad_503),
        latency_ms_200=dict(p50=percentile(ok_ms, 50), p90=percentile(ok_ms, 90), p99=percentile(ok_ms, 99),
                            max=max(ok_ms) if ok_ms else None),
        latency_ms_all=dict(p50=percentile([r["ms"] for r in results if r["status"]], 50),
                            p99=percentile([r["ms"] for r in results if r["status"]], 99)),
        examples_of_problems=[r for r in lost + wrong + other_5xx + bad_503][:10],
        per_kind={k: sum(1 for r in results if r["kind"] == k) for k in kinds_seen})


def rss_trend(samples, warm_done):
    """RSS after warm-up: first, last, max, and the least-squares slope per 1000 requests."""
    after = [s for s in samples if s["done"] >= warm_done]
    if len(after) < 3:
        return {}
    done = np.array([s["done"] for s in after], float)
    rss = np.array([s["VmRSS"] for s in after], float)
    slope = float(np.polyfit(done, rss, 1)[0] * 1000) if done.ptp() > 0 else 0.0
    return dict(rss_kib_after_warmup=int(rss[0]), rss_kib_end=int(rss[-1]), rss_kib_max=int(rss.max()),
                rss_slope_kib_per_1000_requests=round(slope, 1),
                fds_after_warmup=after[0]["fds"], fds_max=max(s["fds"] for s in after),
                threads_max=max(s["Threads"] for s in after))


def phase(server, kinds, n, concurrency, timeout, warm_fraction, seed):
    order = schedule(kinds, n, seed)
    results = [None] * n
    samples, stop = [], threading.Event()
    idle = server.sample()
    sam = threading.Thread(target=sampler, args=(server, samples, stop,
                                                 lambda: sum(1 for r in results if r is not None)))
    sam.start()
    t0 = time.time()
    run_load(server.port, kinds, order, concurrency, timeout, results)
    wall = time.time() - t0
    time.sleep(1.0)  # clients have closed; let the server close its side
    stop.set()
    sam.join()
    end_idle = server.sample()
    out = summarize(results, [k["name"] for k in kinds])
    out.update(wall_s=round(wall, 2), requests_per_s=round(n / wall, 1), concurrency=concurrency,
               idle_before=idle, idle_after=end_idle, **rss_trend(samples, int(n * warm_fraction)))
    out["samples"] = samples[:: max(1, len(samples) // 200)]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True)
    ap.add_argument("--fixtures", required=True, help="directory with tiny.pt and slow.pt")
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--overload-requests", type=int, default=600)
    ap.add_argument("--quick", action="store_true", help="300 soak + 100 overload requests (the ctest)")
    ap.add_argument("--out", help="write the JSON result here")
    ap.add_argument("--work", default="/tmp", help="where server logs go")
    a = ap.parse_args()
    if a.quick:
        a.requests, a.overload_requests = 300, 100

    kinds = workload()
    report = dict(date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), host=platform.node(),
                  cpus=os.cpu_count(), quick=a.quick,
                  note="2 shared cores; other engineers' builds ran at the same time, so latency is noisy")

    # Phase 1: soak with the tiny model (decode/encode and I/O bound, not model bound).
    srv = Server(a.server, os.path.join(a.fixtures, "tiny.pt"), os.path.join(a.work, "soak-server.log"),
                 ["--http-threads", "16", "--queue-depth", "16"])
    report["soak"] = phase(srv, kinds, a.requests, a.concurrency, 60, 0.1, 1)
    code, secs = srv.stop()
    report["soak"].update(exit_code=code, stop_s=round(secs, 2))

    # Phase 2: overload: a slow model, queue depth 2, 24 clients; only 200s and 503 queue_full.
    good = [dict(k, weight=1) for k in kinds if k["name"] in ("jpeg_320x240", "png_64x48")]
    srv = Server(a.server, os.path.join(a.fixtures, "slow.pt"), os.path.join(a.work, "soak-overload.log"),
                 ["--http-threads", "32", "--queue-depth", "2"])
    report["overload"] = phase(srv, good, a.overload_requests, 24, 60, 0.1, 2)
    code, secs = srv.stop()
    report["overload"].update(exit_code=code, stop_s=round(secs, 2), queue_depth=2)

    problems = []
    for name in ("soak", "overload"):
        p = report[name]
        if p["lost"] or p["wrong_status"] or p["other_5xx"] or p["queue_full_without_retry_after"]:
            problems.append(f"{name}: lost {p['lost']}, wrong status {p['wrong_status']}, other 5xx "
                            f"{p['other_5xx']}, 503 without Retry-After {p['queue_full_without_retry_after']}")
        if p["idle_after"]["fds"] > p["idle_before"]["fds"] + 2:
            problems.append(f"{name}: fds grew from {p['idle_before']['fds']} to {p['idle_after']['fds']}")
        if p["exit_code"] != 0:
            problems.append(f"{name}: exit code {p['exit_code']} after SIGTERM")
    if report["soak"]["queue_full_503"]:
        problems.append("soak: 503s although the queue (16) holds every client (16)")
    if report["overload"]["queue_full_503"] == 0:
        problems.append("overload: no 503 queue_full at all: the queue bound was not reached")
    report["problems"] = problems

    s, o = report["soak"], report["overload"]
    print(f"soak: {s['requests']} requests at concurrency {s['concurrency']} in {s['wall_s']} s "
          f"({s['requests_per_s']}/s); statuses {s['by_status']}; lost {s['lost']}")
    print(f"  p50/p99 latency of 200s: {s['latency_ms_200']['p50']:.1f} / {s['latency_ms_200']['p99']:.1f} ms")
    print(f"  RSS after warm-up {s.get('rss_kib_after_warmup')} KiB, end {s.get('rss_kib_end')} KiB, "
          f"max {s.get('rss_kib_max')} KiB, slope {s.get('rss_slope_kib_per_1000_requests')} KiB/1000 req")
    print(f"  fds idle before {s['idle_before']['fds']}, max {s.get('fds_max')}, idle after {s['idle_after']['fds']}; "
          f"exit {s['exit_code']} in {s['stop_s']} s")
    print(f"overload: {o['requests']} requests, 24 clients, queue depth 2: statuses {o['by_status']}; "
          f"503 without Retry-After {o['queue_full_without_retry_after']}; RSS max {o.get('rss_kib_max')} KiB; "
          f"lost {o['lost']}")
    print("problems:", problems or "none")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(report, f, indent=1)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
