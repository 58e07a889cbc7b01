#!/usr/bin/env python3
"""Cold start, side by side: cutout-server against the Python peers (bench/baseline), alternated run
by run on the same machine, same model.

For each run, each contender in turn (the order rotates from run to run, so a burst of load from
elsewhere on the machine hits all of them alike):

1. exec the server (t0 = just before fork/exec);
2. poll connect() every 2 ms: **exec to port open**, measured from outside, the same for all;
3. the cold-start request, the figure a user meets: an upload sent at exec, retried on a refused
   connection (every 2 ms) and on 503 while loading (every 20 ms, not the server's Retry-After, so
   the figure measures the server, not the client's back-off): **exec to first answer** (200);
   ``--after-ready`` instead waits for ready first (GET /warmup), then sends it (the old protocol);
4. GET /warmup: the server's own timeline (ms since its process was created): **exec to model
   loaded** and **exec to ready** (inside), the same clock for cutout and the peers; with
   ``--after-ready`` exec to ready is measured outside;
5. ``--steady`` more uploads: **first request / median steady-state latency** (1.0 = the warm-up
   did its job; the first request is the one that got the first answer);
6. VmRSS at ready and **peak RSS** (VmHWM) before SIGTERM.

    /usr/bin/python3 bench/coldstart/run.py                 # InSPyReNet-SwinB 1024, 5 runs (long on CPU)
    /usr/bin/python3 bench/coldstart/run.py --quick         # tiny fixture model, cutout + jit peer: a test

Writes bench/results/coldstart-cpu.json (or --out) and prints a table.
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import benchutil as bu  # noqa: E402

ROOT = bu.ROOT
CONTENDERS = ["cutout", "peer-jit", "peer-eager"]


def upload_at_exec(port, proc, image, deadline_s=1800.0):
    """The cold-start request: POST the upload until it is answered 200. Returns (time.monotonic()
    of the answer, that request's seconds, its Server-Timing)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before answering the upload")
        try:
            secs, status, st, _ = bu.remove_background(port, image)
        except OSError:  # not listening yet (the peers open their port once loaded)
            time.sleep(0.002)
            continue
        if status == 200:
            return time.monotonic(), secs, st
        if status != 503:
            raise RuntimeError(f"upload at exec answered {status}")
        time.sleep(0.02)
    raise TimeoutError(f"no answer to the upload after {deadline_s} s")


def one_start(contender, args, image, log_dir, run_index):
    port = bu.free_port()
    load_avg = os.getloadavg()[0]  # the machine is shared: how busy it was when this start began
    cmd = bu.command(contender, port, args.server, args.pt, args.pth, args.size, args.warmup_runs)
    if contender == "cutout" and args.server_args:
        cmd += args.server_args.split()
    log_path = os.path.join(log_dir, f"{contender}-{run_index}.log")
    with open(log_path, "w") as log:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            import json
            at_exec = not (args.after_ready or args.no_requests)
            latencies, timings, t_answer = [], [], None
            if at_exec:
                t_answer, secs, st = upload_at_exec(port, proc, image)
                latencies.append(secs * 1000.0)
                timings.append(st)
            t_port = bu.wait_port(port, proc)
            while True:
                status, _, body = bu.request(port, "GET", "/warmup?timeout_ms=600000")
                if status != 503:
                    break
            t_ready = time.monotonic()
            if status != 200:
                raise RuntimeError(f"{contender}: /warmup answered {status}: {body[:300]!r}")
            timeline = json.loads(body)["since_process_start_ms"]
            rss_ready, _ = bu.memory_mib(proc.pid)
            for _ in range(0 if args.no_requests else (0 if at_exec else 1) + args.steady):
                secs, status, st, size = bu.remove_background(port, image)
                if status != 200:
                    raise RuntimeError(f"{contender}: /remove-background answered {status}")
                latencies.append(secs * 1000.0)
                timings.append(st)
            rss_now, peak = bu.memory_mib(proc.pid)
        finally:
            bu.stop(proc)
    first, steady = (latencies[0], latencies[1:]) if latencies else (None, [])
    steady_median = bu.summary(steady)["median"] if steady else None
    return {
        "contender": contender, "run": run_index, "command": [os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd],
        "exec_to_port_open_ms": round((t_port - t0) * 1000.0, 1) if not t_answer else None,
        "exec_to_first_answer_ms": round((t_answer - t0) * 1000.0, 1) if t_answer else None,
        "exec_to_ready_ms": (timeline.get("ready_ms") if t_answer else round((t_ready - t0) * 1000.0, 1)),
        "inside": timeline,
        "exec_to_model_loaded_ms": timeline.get("model_loaded_ms"),
        "first_request_ms": first and round(first, 1), "steady_ms": [round(v, 1) for v in steady],
        "first_over_steady": round(first / steady_median, 3) if steady_median else None,
        "server_timing": timings,
        "rss_at_ready_mib": round(rss_ready, 1), "peak_rss_mib": round(peak, 1),
        "exit_code": proc.returncode, "load_average_1min": load_avg,
    }


METRICS = ["exec_to_first_answer_ms", "exec_to_port_open_ms", "exec_to_model_loaded_ms", "exec_to_ready_ms",
           "first_request_ms",
           "first_over_steady", "peak_rss_mib"]


def summarise(runs, contenders):
    out = {}
    for c in contenders:
        rs = [r for r in runs if r["contender"] == c]
        out[c] = {m: bu.summary([r[m] for r in rs]) for m in METRICS}
        out[c]["steady_ms"] = bu.summary([v for r in rs for v in r["steady_ms"]])
    # cutout / peer per run (same run, adjacent in time), then the median of those ratios
    ratios = {}
    for peer in [c for c in contenders if c != "cutout"]:
        ratios[peer] = {}
        for m in METRICS + ["steady_ms"]:
            per_run = []
            for i in sorted({r["run"] for r in runs}):
                a = next((r for r in runs if r["run"] == i and r["contender"] == "cutout"), None)
                b = next((r for r in runs if r["run"] == i and r["contender"] == peer), None)
                if a and b:
                    va = a[m] if m != "steady_ms" else (bu.summary(a[m]) or {}).get("median")
                    vb = b[m] if m != "steady_ms" else (bu.summary(b[m]) or {}).get("median")
                    if va is not None and vb:
                        per_run.append(va / vb)
            ratios[peer][m] = bu.summary(per_run)
    return out, ratios


def print_table(summary, ratios):
    names = list(summary)
    print(f"{'median (min-max)':<26}" + "".join(f"{n:>26}" for n in names))
    for m in METRICS + ["steady_ms"]:
        row = f"{m:<26}"
        for n in names:
            s = summary[n][m]
            row += f"{'-' if not s else '%.4g (%.4g-%.4g)' % (s['median'], s['min'], s['max']):>26}"
        print(row)
    for peer, r in ratios.items():
        print(f"cutout/{peer}: " + ", ".join(f"{m}={r[m]['median']:.3f}" for m in METRICS + ["steady_ms"] if r[m]))


def main(argv=None):
    p = argparse.ArgumentParser(description="Cold start of cutout-server and the Python peers, side by side.")
    p.add_argument("--server", default=os.path.join(ROOT, "build", "cutout-server"))
    p.add_argument("--pt", help="TorchScript file (cutout, peer-jit); default: made by make_models.py")
    p.add_argument("--pth", help="state dict (peer-eager); default: made by make_models.py")
    p.add_argument("--size", type=int, default=None, help="input size (default: the model's)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--steady", type=int, default=2, help="requests after the first, per start (steady state)")
    p.add_argument("--warmup-runs", type=int, default=1, help="forward passes before ready (0: ready = loaded)")
    p.add_argument("--no-requests", action="store_true", help="stop each start at ready (start-up only)")
    p.add_argument("--after-ready", action="store_true",
                   help="send the first upload once ready (the old protocol) instead of at exec")
    p.add_argument("--server-args", default="",
                   help="extra cutout-server flags, e.g. '--warmup-runs 0' (cutout only)")
    p.add_argument("--contenders", default=",".join(CONTENDERS))
    p.add_argument("--image", help="JPEG sent by the requests (default: bench/latency's 0.5 MP image)")
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "coldstart-cpu.json"))
    p.add_argument("--quick", action="store_true",
                   help="the tiny fixture model (build/tests/fixtures/tiny.pt), cutout and the jit peer, 2 runs: checks the script")
    p.add_argument("--fixtures", default=os.path.join(ROOT, "build", "tests", "fixtures"))
    args = p.parse_args(argv)

    contenders = args.contenders.split(",")
    if args.quick:
        args.pt = args.pt or os.path.join(args.fixtures, "tiny.pt")
        contenders = [c for c in contenders if c != "peer-eager"]  # no tiny InSPyReNet checkpoint
        if args.runs == 5:
            args.runs = 2
        if args.steady == 2:
            args.steady = 1
    if not args.pt or ("peer-eager" in contenders and not args.pth):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import make_models
        pth, pt = make_models.make(os.path.join(ROOT, ".cache", "bench"), args.size or 1024)
        args.pt, args.pth = args.pt or pt, args.pth or pth
    if args.image is None:
        sys.path.insert(0, os.path.join(ROOT, "bench", "latency"))
        import make_images
        args.image = make_images.make(os.path.join(ROOT, ".cache", "bench", "images"), ["0.5mp"])["0.5mp"]
    with open(args.image, "rb") as f:
        image = f.read()
    for path in (args.pt, args.pth):  # the page cache holds the files for every contender alike
        if path and os.path.exists(path):
            with open(path, "rb") as f:
                while f.read(1 << 24):
                    pass

    log_dir = os.path.join(ROOT, ".cache", "bench", "logs", os.path.splitext(os.path.basename(args.out))[0])
    os.makedirs(log_dir, exist_ok=True)
    result = {"benchmark": "coldstart", "machine": bu.machine(args.server),
              "model": {"pt": os.path.relpath(args.pt, ROOT), "pt_bytes": os.path.getsize(args.pt),
                        "pth": args.pth and os.path.relpath(args.pth, ROOT),
                        "pth_bytes": args.pth and os.path.getsize(args.pth), "input_size": args.size},
              "image": {"path": os.path.relpath(args.image, ROOT), "bytes": len(image)},
              "protocol": {"runs": args.runs, "steady_requests": args.steady, "contenders": contenders,
                           "order": "rotated each run", "device": "cpu", "precision": "fp32", "warmup_runs": args.warmup_runs,
                           "requests": not args.no_requests,
                           "first_upload": "after ready" if args.after_ready else "at exec",
                           "server_args": args.server_args},
              "runs": []}
    t_start = time.monotonic()
    for i in range(args.runs):
        order = contenders[i % len(contenders):] + contenders[:i % len(contenders)]
        for c in order:
            r = one_start(c, args, image, log_dir, i)
            result["runs"].append(r)
            print(f"run {i} {c:<11} answer {r['exec_to_first_answer_ms']}  loaded {r['exec_to_model_loaded_ms']:9.1f}  "
                  f"ready {r['exec_to_ready_ms']}  first {r['first_request_ms']}  steady {r['steady_ms']}  "
                  f"peak {r['peak_rss_mib']:.0f} MiB", flush=True)
            result["summary"], result["ratios_cutout_over_peer"] = summarise(result["runs"], contenders)
            result["wall_s"] = round(time.monotonic() - t_start, 1)
            bu.write_json(args.out, result)  # after every start: a cut-short run keeps what it had
    print_table(result["summary"], result["ratios_cutout_over_peer"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
