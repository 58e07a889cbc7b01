#!/usr/bin/env python3
"""Start-up and forward latency, cutout's engine against the Python peers, side by side.

Each configuration (implementation x precision) runs as a fresh process; one round runs every
configuration once, and rounds rotate the order so that no configuration always goes first (page
cache, GPU clocks). Exec-to-ready is measured here, from just before the exec to the child's
READY line; the child reports its own phases and forward times as JSON. Stops starting rounds when
the next one would pass --deadline-s. Writes OUT/compare.json and prints a table.

    python3 bench/gpu/compare.py --bench build-gpu/cutout-engine-bench --models models.json \
        --device cuda --precisions fp32,fp16 --impls cutout,jit,eager --rounds 5 --out OUT
"""
import argparse
import json
import os
import statistics
import sys
import time

from probe import run_one  # one child runner: READY timing, watchdog, JSON report

HERE = os.path.dirname(os.path.abspath(__file__))


def command(impl, precision, a, models):
    """The child's argv for one configuration, or None when its model file is missing."""
    # Each precision loads the file stored in it: the fp16 file is the shipped default; the fp32
    # file is what a team without the export's fp16 step would have. 'cutout-fp16file' runs fp32
    # from the fp16 file (what the server does on CPU): the load-time effect of the stored dtype.
    # 'cutout-optimized' measures the TorchScript optimiser that Model::load turns off.
    pt = models.get(precision)
    if impl == "cutout":
        return [a.bench, "--model", pt["path"], "--device", a.device, "--precision", precision,
                "--warmup", str(a.warmup), "--runs", str(a.forwards)] + a.bench_arg
    if impl == "cutout-optimized":  # TorchScript's optimiser on, as before, with the 2 warm-ups it needs
        return [a.bench, "--model", pt["path"], "--device", a.device, "--precision", precision,
                "--warmup", "2", "--runs", str(a.forwards), "--jit-executor", "profiling"] + a.bench_arg
    if impl == "cutout-fp16file":
        if precision == "fp16":
            return None  # that is plain 'cutout'
        return [a.bench, "--model", models["fp16"]["path"], "--device", a.device, "--precision",
                precision, "--warmup", str(a.warmup), "--runs", str(a.forwards)] + a.bench_arg
    peer = [a.python, os.path.join(HERE, "peer_start.py"), "--device", a.device,
            "--precision", precision, "--runs", str(a.forwards)]
    if impl == "jit":
        return peer + ["--kind", "jit", "--model", pt["path"]]
    if impl == "eager":
        if "pth" not in models:
            return None
        return peer + ["--kind", "eager", "--model", models["pth"]["path"], "--size", str(a.size)]
    raise ValueError(impl)


def summarise(results):
    def spread(values):
        return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}

    out = {}
    for key, runs in results.items():
        ok = [r for r in runs if "error" not in r]
        if not ok:
            out[key] = {"n": 0, "errors": len(runs)}
            continue
        steady = [r["steady_median_ms"] for r in ok]
        out[key] = {
            "exec_to_ready_ms": spread([r["exec_to_ready_ms"] for r in ok]),
            "model_loaded_ms": spread([r["in_process_ms"]["model_loaded"] for r in ok]),
            "steady_forward_ms": spread(steady),
            "first_after_ready_over_steady": spread([r["first_over_steady"] for r in ok]),
            "errors": len(runs) - len(ok),
        }
    # cutout / peer ratios of the medians, per precision (same run, same machine).
    for key, s in list(out.items()):
        impl, precision = key.split("/")
        if impl != "cutout" or not s.get("n", 1):
            continue
        for peer in ("jit", "eager"):
            p = out.get(f"{peer}/{precision}")
            if p and p.get("n", 1) and "exec_to_ready_ms" in p and "exec_to_ready_ms" in s:
                s[f"ready_ratio_vs_{peer}"] = s["exec_to_ready_ms"]["median"] / p["exec_to_ready_ms"]["median"]
                s[f"forward_ratio_vs_{peer}"] = s["steady_forward_ms"]["median"] / p["steady_forward_ms"]["median"]
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bench", required=True, help="cutout-engine-bench executable")
    p.add_argument("--models", required=True, help="JSON from make_models.py: {pth, fp32, fp16: {path, bytes}}")
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--device", default="cuda")
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--precisions", default="fp32,fp16")
    p.add_argument("--impls", default="cutout,jit,eager")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--forwards", type=int, default=20)
    p.add_argument("--warmup", type=int, default=1, help="cutout's warm-up runs (the server's default is 1)")
    p.add_argument("--bench-arg", action="append", default=[], help="extra argument for cutout-engine-bench")
    p.add_argument("--deadline-s", type=float, default=300, help="start no round after this many seconds")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    with open(a.models) as f:
        models = json.load(f)
    configs = [(i, q) for q in a.precisions.split(",") for i in a.impls.split(",")]
    configs = [(i, q) for i, q in configs if command(i, q, a, models) is not None]
    results = {f"{i}/{q}": [] for i, q in configs}
    t_start = time.perf_counter()
    round_s = []
    os.makedirs(a.out, exist_ok=True)

    def write():  # after every run, so a killed script still leaves what it measured
        with open(os.path.join(a.out, "compare.json.partial"), "w") as f:
            json.dump({"settings": vars(a), "models": models, "summary": summarise(results), "runs": results}, f, indent=1)
        os.replace(os.path.join(a.out, "compare.json.partial"), os.path.join(a.out, "compare.json"))

    for r in range(a.rounds):
        elapsed = time.perf_counter() - t_start
        # A round's time is known after the first: do not start one that would overrun.
        if r and elapsed + max(round_s) > a.deadline_s:
            print(f"compare: deadline: stopping after {r} rounds ({elapsed:.0f} s)", file=sys.stderr, flush=True)
            break
        t_round = time.perf_counter()
        k = r % len(configs)
        for impl, precision in configs[k:] + configs[:k]:
            remaining = a.deadline_s + 60 - (time.perf_counter() - t_start)
            rep = run_one(command(impl, precision, a, models), {}, timeout_s=max(remaining, 10))
            rep["round"] = r
            results[f"{impl}/{precision}"].append(rep)
            write()
            if "error" in rep:
                print(f"compare: round {r} {impl}/{precision}: {rep['error']}\n{rep['stderr_tail']}", file=sys.stderr, flush=True)
            else:
                print(f"compare: round {r} {impl}/{precision}: ready {rep['exec_to_ready_ms']:.0f} ms, "
                      f"loaded {rep['in_process_ms']['model_loaded']:.0f} ms, forward {rep['steady_median_ms']:.1f} ms, "
                      f"first/steady {rep['first_over_steady']:.2f}", file=sys.stderr, flush=True)
        round_s.append(time.perf_counter() - t_round)
    write()
    summary = summarise(results)
    print(f"{'configuration':24} {'ready ms':>10} {'loaded ms':>10} {'forward ms':>11} {'1st/steady':>10}")
    for key, s in summary.items():
        if not s.get("n", 1) or "exec_to_ready_ms" not in s:
            print(f"{key:24} failed ({s.get('errors')} errors)")
            continue
        print(f"{key:24} {s['exec_to_ready_ms']['median']:10.0f} {s['model_loaded_ms']['median']:10.0f} "
              f"{s['steady_forward_ms']['median']:11.1f} {s['first_after_ready_over_steady']['median']:10.2f}")
    failed = sum(s.get("errors", 0) for s in summary.values())
    return 1 if failed or not any(s.get("n", 1) and "exec_to_ready_ms" in s for s in summary.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
