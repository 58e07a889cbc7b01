#!/usr/bin/env python3
"""What max_side costs: a 12 MP JPEG through cutout-server with the full-size output and with
max_side=1024, in PNG and WebP, read from the Server-Timing stages (median of --runs each).

The model is the tiny fixture (tests/fixtures: a 1x1 convolution at 32x32), so inference is nearly
free and the figures are the image work around it: decode, preprocess, postprocess (matte to image
size, crop, downscale, compose) and encode. Cases run interleaved, so load on a shared machine
hits them alike.

    /usr/bin/python3 bench/output_size/run.py --server build/cutout-server \
        --model build/tests/fixtures/tiny.pt [--runs 5] [--out bench/results/output-size-cpu.json]
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "latency"))
import benchutil  # noqa: E402
import make_images  # noqa: E402

CASES = [
    ("png full", "format=png"),
    ("png max_side=1024", "format=png&max_side=1024"),
    ("webp full", "format=webp"),
    ("webp max_side=1024", "format=webp&max_side=1024"),
]
STAGES = ["decode", "preprocess", "inference", "postprocess", "encode"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", required=True)
    p.add_argument("--model", required=True, help="a near-free model, e.g. build/tests/fixtures/tiny.pt")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--image", default="12mp", choices=list(make_images.SIZES))
    p.add_argument("--out", default=os.path.join(benchutil.ROOT, "bench", "results", "output-size-cpu.json"))
    args = p.parse_args()

    image_path = make_images.make(os.path.join(benchutil.ROOT, ".cache", "bench", "images"), [args.image])[args.image]
    with open(image_path, "rb") as f:
        image = f.read()
    port = benchutil.free_port()
    proc = subprocess.Popen(benchutil.command("cutout", port, args.server, args.model),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = {name: [] for name, _ in CASES}
    try:
        benchutil.wait_port(port, proc)
        status, _, _ = benchutil.request(port, "POST", "/warmup?timeout_ms=600000")
        assert status == 200, status
        body, headers = benchutil.multipart(image)
        for run in range(args.runs + 1):  # the first round warms caches and is dropped
            for name, query in CASES:
                t = benchutil.time.monotonic()
                status, h, data = benchutil.request(port, "POST", "/remove-background?" + query, body, headers)
                wall_ms = 1000 * (benchutil.time.monotonic() - t)
                assert status == 200, (status, data[:200])
                if run == 0:
                    continue
                timing = benchutil.parse_server_timing(h.get("server-timing", ""))
                timing["server_total"] = sum(timing.get(s, 0.0) for s in STAGES)
                timing["round_trip"] = wall_ms
                timing["bytes"] = len(data)
                timing["size"] = f"{h.get('x-width')}x{h.get('x-height')}"
                samples[name].append(timing)
                print(f"run {run} {name}: {timing['server_total']:.0f} ms server, {len(data)} bytes", file=sys.stderr)
    finally:
        benchutil.stop(proc)

    results = {}
    for name, runs in samples.items():
        results[name] = {key: benchutil.summary([r[key] for r in runs])
                         for key in STAGES + ["server_total", "round_trip", "bytes"]}
        results[name]["output_size"] = runs[0]["size"]
    benchutil.write_json(args.out, {
        "what": "12 MP JPEG through cutout-server (tiny fixture model: inference nearly free), full-size "
                "output vs max_side=1024; Server-Timing stages in ms, medians of the runs",
        "image": {"path": os.path.relpath(image_path, benchutil.ROOT), "bytes": len(image),
                  "size": "x".join(map(str, make_images.SIZES[args.image]))},
        "runs": args.runs, "machine": benchutil.machine(args.server), "cases": results})
    print(f"{'case':<22}{'size':>11}" + "".join(f"{s:>12}" for s in STAGES + ["server_total", "bytes"]))
    for name, r in results.items():
        print(f"{name:<22}{r['output_size']:>11}" +
              "".join(f"{r[s]['median']:>12.0f}" for s in STAGES + ["server_total", "bytes"]))


if __name__ == "__main__":
    main()
