#!/usr/bin/env python3
"""The GPU probe's plan: batch sweep, cold-start steps, CUDA graphs, each a fresh process of
cutout-gpu-probe, most decisive first, within a deadline (fewer repeats, never a killed run).

Order (docs/performance.md, "GPU benchmark", says what each figure decides):
  0. the self-test (is the answer right at this precision on this device?): each model at each
     precision, the golden probe as the first pass (--check 1), then the same start with a zeros
     warm-up (--check 0): the difference of their exec-to-ready is what the self-test adds;
  1. the first precision (fp16 on CUDA, the product's): batch sweep of each model; cold start of
     each model with CUDA_MODULE_LOADING lazy/eager x cuDNN benchmark on/off; CUDA graph vs plain
     forward of each model;
  2. the other precisions: sweep, graph, and the cold start as the server runs it (lazy, benchmark
     on);
  3. more rounds of the first precision's cold starts (rotated order), up to --cold-rounds.
A step starts only if the longest run of its kind so far fits before --deadline-s. Writes
OUT/probe.json after every run (a cut-short run keeps what it measured).

    python3 bench/gpu/probe.py --probe build-gpu/cutout-gpu-probe --models models.json \\
        --device cuda --precisions fp16,fp32 --deadline-s 200 --out OUT
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

MODELS = ("isnet", "inspyrenet")
COLD_CONFIGS = [("lazy", 1), ("eager", 1), ("lazy", 0), ("eager", 0)]  # (module loading, cuDNN benchmark)


def model_file(models, name):
    """models.json (make_models.py): InSPyReNet's shipped form is the fp16-stored file, converted at
    load like the server does; IS-Net is one fp16 file."""
    return models["isnet" if name == "isnet" else "fp16"]["path"]


def run_one(argv, env_extra, timeout_s):  # also compare.py's
    """Runs one probe process. Returns its JSON report plus exec_to_ready_ms (coldstart's READY
    line, timed here from just before the exec) and exec_to_exit_ms, or an error record."""
    env = dict(os.environ, **env_extra)
    t_exec = time.perf_counter()
    errfile = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a chatty child cannot block
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errfile, text=True, env=env)
    watchdog = threading.Timer(timeout_s, proc.kill)  # a hung child must not hang the plan
    watchdog.start()
    ready_ms, lines = None, []
    try:
        for line in proc.stdout:
            if line.strip() == "READY" and ready_ms is None:
                ready_ms = (time.perf_counter() - t_exec) * 1000.0
            else:
                lines.append(line)
        proc.wait()
    finally:
        watchdog.cancel()
    exit_ms = (time.perf_counter() - t_exec) * 1000.0
    errfile.seek(0)
    err = errfile.read()
    errfile.close()
    report = next((json.loads(l) for l in reversed(lines) if l.startswith("{")), None)
    if report is None or proc.returncode != 0:
        return {"error": (report or {}).get("error") or f"exit {proc.returncode}",
                "stderr_tail": err[-2000:], "exec_to_exit_ms": exit_ms, "report": report}
    report["exec_to_ready_ms"] = ready_ms
    report["exec_to_exit_ms"] = exit_ms
    return report


def plan(precisions, cold_rounds):
    """The ordered list of steps: (kind, model, precision, module_loading, cudnn_benchmark, round);
    for the self-test, round is --check (1: the probe's self-test first, 0: zeros)."""
    first, rest = precisions[0], precisions[1:]
    steps = [("selftest", m, p, "lazy", 1, check) for check in (1, 0) for p in precisions for m in MODELS]
    steps += [("sweep", m, first, "lazy", 1, 0) for m in MODELS]
    steps += [("coldstart", m, first, ml, cb, 0) for m in MODELS for ml, cb in COLD_CONFIGS]
    steps += [("graph", m, first, "lazy", 1, 0) for m in MODELS]
    for p in rest:
        steps += [("sweep", m, p, "lazy", 1, 0) for m in MODELS]
        steps += [("graph", m, p, "lazy", 1, 0) for m in MODELS]
        steps += [("coldstart", m, p, "lazy", 1, 0) for m in MODELS]
    cold = [(m, ml, cb) for m in MODELS for ml, cb in COLD_CONFIGS]
    for r in range(1, cold_rounds):
        k = r % len(cold)
        steps += [("coldstart", m, first, ml, cb, r) for m, ml, cb in cold[k:] + cold[:k]]
    return steps


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--probe", required=True, help="cutout-gpu-probe executable")
    p.add_argument("--models", required=True, help="models.json from make_models.py (fp16, isnet)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--precisions", default="fp16,fp32", help="the first is the product's: measured first and most")
    p.add_argument("--batches", default="1,2,4,8")
    p.add_argument("--iters", type=int, default=10, help="timed forwards per configuration")
    p.add_argument("--loop-seconds", type=float, default=8, help="cap of one timed loop (at least 3 forwards)")
    p.add_argument("--cold-rounds", type=int, default=3)
    p.add_argument("--deadline-s", type=float, default=240, help="start no step after this many seconds")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    with open(a.models) as f:
        models = json.load(f)
    os.makedirs(a.out, exist_ok=True)
    runs, longest = [], {}
    t_start = time.perf_counter()

    def write():
        path = os.path.join(a.out, "probe.json")
        with open(path + ".partial", "w") as f:
            json.dump({"settings": vars(a), "models": models, "runs": runs}, f, indent=1)
        os.replace(path + ".partial", path)

    skipped = 0
    for kind, model, precision, loading, bench, rnd in plan(a.precisions.split(","), a.cold_rounds):
        elapsed = time.perf_counter() - t_start
        if elapsed + longest.get((kind, model), 0.0) > a.deadline_s:
            skipped += 1
            continue
        argv = [a.probe, "--mode", kind, "--model", model_file(models, model), "--device", a.device,
                "--precision", precision, "--cudnn-benchmark", str(bench), "--iters", str(a.iters),
                "--loop-seconds", str(a.loop_seconds), "--batches", a.batches]
        if kind == "selftest":
            argv += ["--check", str(rnd)]
        # Set both ways explicitly: LibTorch 2.x sets LAZY itself when the variable is unset.
        env = {"CUDA_MODULE_LOADING": loading.upper()}
        t = time.perf_counter()
        rep = run_one(argv, env, timeout_s=max(a.deadline_s + 30 - elapsed, 10))
        longest[(kind, model)] = max(longest.get((kind, model), 0.0), time.perf_counter() - t)
        rep.update({"kind": kind, "model_name": model, "precision": precision,
                    "module_loading": loading, "cudnn_benchmark_asked": bench, "round": rnd})
        runs.append(rep)
        write()
        label = f"{kind} {model}/{precision} loading={loading} cudnn_benchmark={bench} round {rnd}"
        if kind == "selftest":
            label = f"selftest {model}/{precision} check={rnd}"
            if rnd and "self_test" in rep:
                t = rep["self_test"]
                label += f" {'passed' if t['passed'] else 'FAILED'} max_difference={t['max_difference']}"
        if "error" in rep:
            print(f"probe: {label}: ERROR {rep['error']}\n{rep.get('stderr_tail', '')}", file=sys.stderr, flush=True)
        else:
            print(f"probe: {label}: {rep['exec_to_exit_ms']:.0f} ms", file=sys.stderr, flush=True)
    write()
    if skipped:
        print(f"probe: deadline: {skipped} steps not started", file=sys.stderr, flush=True)
    errors = sum("error" in r for r in runs)
    return 1 if errors or not runs else 0


if __name__ == "__main__":
    sys.exit(main())
