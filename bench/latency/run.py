#!/usr/bin/env python3
"""Per-image latency, side by side: cutout-server against the Python peers on the same model.

All contenders run at once, started and warmed (an idle one is not measured and costs nothing).
For each picture (0.5, 3, 12 MP JPEG, bench/latency/make_images.py), each output (rgba: RGBA PNG;
mask: 8-bit PNG) and each concurrency (1, 4), each contender in turn (the order alternates cell by
cell): ``--requests`` requests from a closed-loop client of our own (Python threads, http.client,
one connection per request, the JPEG as multipart part ``image``), after one unrecorded request
per picture and output. Records end-to-end latency (p50, p95, nearest rank) and the Server-Timing
stages (decode, preprocess, inference incl. queue, queue, postprocess, encode),
which both cutout and the peers send.

    /usr/bin/python3 bench/latency/run.py                 # models/default.pt (IS-Net 1024), cutout + peer-jit
    /usr/bin/python3 bench/latency/run.py --quick         # tiny fixture model, 0.5 MP only: checks the script

Writes bench/results/latency-cpu.json (or --out) and prints a table.
"""
import argparse
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import benchutil as bu  # noqa: E402
import make_images  # noqa: E402

ROOT = bu.ROOT
STAGES = ["decode", "preprocess", "inference", "queue", "postprocess", "encode"]


def cell(port, image, output, concurrency, n):
    """n requests, `concurrency` at a time (closed loop). Returns (latencies ms, server timings, bytes)."""
    results, lock = [], threading.Lock()
    counter = iter(range(n))

    def worker():
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            secs, status, st, size = bu.remove_background(port, image, output)
            if status != 200:
                raise RuntimeError(f"/remove-background answered {status}")
            with lock:
                results.append((secs * 1000.0, st, size))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.monotonic() - t
    if len(results) != n:
        raise RuntimeError(f"{n - len(results)} requests failed")
    return [r[0] for r in results], [r[1] for r in results], [r[2] for r in results], wall


def start(contender, args, log_dir):
    port = bu.free_port()
    cmd = bu.command(contender, port, args.server, args.pt, args.pth, args.size)
    log = open(os.path.join(log_dir, f"{contender}.log"), "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    proc.log = log
    try:
        bu.wait_port(port, proc)
        while True:
            status, _, body = bu.request(port, "GET", "/warmup?timeout_ms=600000")
            if status != 503:
                break
        if status != 200:
            raise RuntimeError(f"{contender}: /warmup answered {status}: {body[:300]!r}")
    except BaseException:
        bu.stop(proc)
        raise
    return proc, port


def run_cells(servers, args, images):
    """All servers are up (an idle one costs nothing); each cell runs on every contender in turn, the
    order alternating from cell to cell, so load from elsewhere on the machine hits all alike."""
    rows, k = [], 0
    for name, data in images.items():
        for output in args.outputs:
            for c, (proc, port) in servers.items():
                bu.remove_background(port, data, output)  # unrecorded: caches, allocator
            for conc in args.concurrency:
                order = list(servers) if k % 2 == 0 else list(reversed(servers))
                k += 1
                for contender in order:
                    proc, port = servers[contender]
                    n = max(args.requests, conc)
                    load_avg = os.getloadavg()[0]
                    lat, st, sizes, wall = cell(port, data, output, conc, n)
                    row = {"contender": contender, "image": name, "image_bytes": len(data), "output": output,
                           "concurrency": conc, "requests": n, "latency_ms": [round(v, 1) for v in lat],
                           "p50_ms": round(bu.percentile(lat, 50), 1), "p95_ms": round(bu.percentile(lat, 95), 1),
                           "throughput_rps": round(n / wall, 3), "load_average_1min": load_avg,
                           "response_bytes": sizes[0],
                           "stages_median_ms": {s: bu.summary([t[s] for t in st if s in t])["median"]
                                                for s in STAGES if any(s in t for t in st)}}
                    rows.append(row)
                    print(f"{contender:<11} {name:>6} {output:<5} c={conc}  p50 {row['p50_ms']:9.1f}  "
                          f"p95 {row['p95_ms']:9.1f}  stages {row['stages_median_ms']}", flush=True)
                    yield row


def main(argv=None):
    p = argparse.ArgumentParser(description="Per-image latency of cutout-server and the Python peers.")
    p.add_argument("--server", default=os.path.join(ROOT, "build", "cutout-server"))
    p.add_argument("--pt", default=os.path.join(ROOT, "models", "default.pt"))
    p.add_argument("--pth", help="state dict for peer-eager (InSPyReNet only)")
    p.add_argument("--size", type=int, default=None, help="input size (default: the model's cutout.json)")
    p.add_argument("--contenders", default="cutout,peer-jit")
    p.add_argument("--images", default="0.5mp,3mp,12mp")
    p.add_argument("--outputs", default="rgba,mask")
    p.add_argument("--concurrency", default="1,4")
    p.add_argument("--requests", type=int, default=4, help="recorded requests per cell (at least the concurrency)")
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "latency-cpu.json"))
    p.add_argument("--quick", action="store_true", help="tiny fixture model, 0.5 MP, 2 requests: checks the script")
    p.add_argument("--fixtures", default=os.path.join(ROOT, "build", "tests", "fixtures"))
    args = p.parse_args(argv)
    if args.quick:
        args.pt = os.path.join(args.fixtures, "tiny.pt")
        args.images, args.requests = "0.5mp", 2
    args.outputs = args.outputs.split(",")
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    names = args.images.split(",")
    paths = make_images.make(os.path.join(ROOT, ".cache", "bench", "images"), names)
    images = {}
    for n in names:
        with open(paths[n], "rb") as f:
            images[n] = f.read()
    log_dir = os.path.join(ROOT, ".cache", "bench", "logs", os.path.splitext(os.path.basename(args.out))[0])
    os.makedirs(log_dir, exist_ok=True)
    result = {"benchmark": "latency", "machine": bu.machine(args.server),
              "model": {"pt": os.path.relpath(args.pt, ROOT), "pt_bytes": os.path.getsize(args.pt),
                        "pth": args.pth and os.path.relpath(args.pth, ROOT), "input_size": args.size},
              "images": {n: {"path": os.path.relpath(paths[n], ROOT), "bytes": len(images[n]),
                             "size": make_images.SIZES[n]} for n in names},
              "client": "bench/latency/run.py: Python threads, http.client, one connection per request, multipart upload",
              "protocol": {"requests_per_cell": args.requests, "concurrency": args.concurrency, "outputs": args.outputs,
                           "format": "png", "device": "cpu", "precision": "fp32", "percentiles": "nearest rank"},
              "rows": [], "peak_rss_mib": {}}
    t0 = time.monotonic()
    servers = {}
    try:
        for c in args.contenders.split(","):
            servers[c] = start(c, args, log_dir)
        for row in run_cells(servers, args, images):
            result["rows"].append(row)
            result["wall_s"] = round(time.monotonic() - t0, 1)
            bu.write_json(args.out, result)  # after every cell: a cut-short run keeps what it had
        for c, (proc, _) in servers.items():
            result["peak_rss_mib"][c] = round(bu.memory_mib(proc.pid)[1], 1)
    finally:
        for proc, _ in servers.values():
            bu.stop(proc)
            proc.log.close()
    bu.write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
