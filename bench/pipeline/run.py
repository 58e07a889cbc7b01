#!/usr/bin/python3
"""The request pipeline benchmark (issue 15): every stage but the forward pass, against its floor.

One command:

    /usr/bin/python3 bench/pipeline/run.py                       # full run, ~10 min on 2 cores
    /usr/bin/python3 bench/pipeline/run.py --sizes 3,12 --outputs rgba-png   # a subset
    /usr/bin/python3 bench/pipeline/run.py --quick               # 0.5 MP, one of each: checks the code

What it does, in one run (so every figure shares the machine's load):
  1. builds cutout-server and cutout-decode-floor in --build (a no-op when up to date; --no-build
     with --server and --floor to use given binaries);
  2. makes the stand-in model (make_model.py: forward pass ~free, soft-edged mask, 1024 input with
     cutout.json and golden) and the inputs (make_images.py: photo-like with camera grain at 0.5, 3,
     12, 24 MP, JPEG and PNG), cached in --work;
  3. starts the real server with its usual settings (only --max-body-bytes raised so that the 24 MP
     PNG, ~45 MB, fits; the body limit costs nothing) and waits for /warmup;
  4. per size: each input (JPEG, PNG) for each output (OUTPUTS: RGBA PNG, RGBA WebP, mask PNG,
     bg_color JPEG, and RGBA PNG with foreground=raw, which skips the default foreground
     estimation) at concurrency 1, REPS requests each (multipart upload, one connection each);
     then the decode floor (cutout-decode-floor: one libjpeg-turbo decode of the same JPEG bytes on
     one thread); then the Python pipeline (python_pipeline.py) on the same JPEG; then the JPEG
     input for each output at one request per core (closed loop, 2 x REPS requests, images/s from
     the wall time);
  5. prints per-stage medians (Server-Timing), round trip and images/s per cell, and the issue's
     targets as ratios; writes JSON (--out) and the plot (--plot, plot.py).

"other" below is every stage but the forward pass: decode + preprocess + postprocess + encode from
Server-Timing (the queue wait and the forward pass are left out; the request's upload and the
response's transfer are in the round trip only).

Against a baseline: with --reference-server (e.g. a build of main), that second server runs every
cell in the same run, the two taking turns round by round (one request, or one per core at once)
and alternating which goes first, and each cell's images/s and "other" are printed against it (ratios > 1: the measured server is better). Use it to measure a change: on
the shared 2-core VM two runs of the same code differ by up to ~30%. Without it, the stored run
--baseline (default bench/results/pipeline-cpu-today.json, main before issue 15's changes) is the
reference, which is only good for large effects.

    /usr/bin/python3 bench/pipeline/run.py --sizes 3,12 --outputs rgba-png,rgba-png-raw \\
        --reference-server /work/main/build/cutout-server --plot '' --out /tmp/pipeline.json
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, HERE)
import benchutil as bu  # noqa: E402
import make_images  # noqa: E402
import make_model  # noqa: E402

ROOT = bu.ROOT
STAGES = ["decode", "preprocess", "inference", "queue", "postprocess", "encode"]
OTHER = ["decode", "preprocess", "postprocess", "encode"]  # all but the forward pass and its queue
OUTPUTS = {  # name: query string of /remove-background
    "rgba-png": "output=rgba&format=png",
    "rgba-webp": "output=rgba&format=webp",
    "mask-png": "output=mask&format=png",
    "bg-jpeg": "output=rgba&bg_color=ffffff&format=jpeg",
    "rgba-png-raw": "output=rgba&format=png&foreground=raw",
}
ALIASES = {"png": "rgba-png", "webp": "rgba-webp", "mask": "mask-png", "jpeg": "bg-jpeg", "raw": "rgba-png-raw"}
CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}
DEFAULT_REPS = {"0.5": 5, "3": 3, "12": 3, "24": 1}
MAX_BODY = 128 * 1024 * 1024
TARGETS = {"other_over_floor_12": 2.5, "other_over_floor_3": 3.0, "ours_over_python_12": 0.3,
           "images_per_s_vs_today": 3.0}


def cores():
    """CPUs this process may use: the affinity mask, capped by a cgroup v2 CPU quota if any."""
    n = len(os.sched_getaffinity(0))
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()
        if quota != "max":
            n = max(1, min(n, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return n


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def post(port, body, headers, query):
    """One request; returns (round trip ms, Server-Timing dict, response bytes)."""
    t = time.perf_counter()
    status, h, data = bu.request(port, "POST", "/remove-background?" + query, body, headers)
    ms = (time.perf_counter() - t) * 1000.0
    if status != 200:
        raise RuntimeError(f"/remove-background?{query} answered {status}: {data[:300]!r}")
    return ms, bu.parse_server_timing(h.get("server-timing", "")), len(data)


def batch(port, body, headers, query, n, concurrency):
    """n requests, `concurrency` at a time (closed loop). Returns ([(ms, timing, bytes)], wall s)."""
    results, errors, lock = [], [], threading.Lock()
    todo = iter(range(n))

    def worker():
        while True:
            with lock:
                if next(todo, None) is None or errors:
                    return
            try:
                r = post(port, body, headers, query)
            except Exception as e:  # noqa: BLE001 (reported after the join)
                with lock:
                    errors.append(e)
                return
            with lock:
                results.append(r)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    if errors:
        raise errors[0]
    return results, wall


def record(results, wall, concurrency):
    """A cell's record from its requests and the wall time they took together."""
    n = len(results)
    stages = {s: median([r[1].get(s) for r in results]) for s in STAGES}
    others = [sum(r[1].get(s, 0.0) for s in OTHER) for r in results]
    return {"n": n, "concurrency": concurrency, "wall_s": round(wall, 3),
            "images_per_s": round(n / wall, 4),
            "round_trip_ms": {"median": median([r[0] for r in results]),
                              "all": [round(r[0], 1) for r in results]},
            "stages_ms": stages, "other_ms": {"median": median(others), "all": [round(v, 1) for v in others]},
            "response_bytes": median([r[2] for r in results])}


def decode_floor(floor, path, runs):
    out = subprocess.run([floor, str(runs), path], capture_output=True, text=True, check=True).stdout
    rec = json.loads(out.splitlines()[0])
    return {"median_ms": rec["median_ms"], "ms": rec["ms"], "bytes": rec["bytes"],
            "width": rec["width"], "height": rec["height"]}


def python_pipeline(model_path, path, runs):
    """The Python team's pipeline, in a child process (its own torch threads, as a service would)."""
    code = ("import json,sys; sys.path.insert(0, sys.argv[1]); import python_pipeline as pp\n"
            "m = pp.load(sys.argv[2]); data = open(sys.argv[3], 'rb').read()\n"
            "pp.run_once(m, data)  # unrecorded: first call of the model and the encoders\n"
            "for _ in range(int(sys.argv[4])):\n"
            "    st, pngs = pp.run_once(m, data)\n"
            "    print(json.dumps({'stages_ms': st, 'bytes': {k: len(v) for k, v in pngs.items()}}))\n")
    out = subprocess.run([bu.PYTHON, "-c", code, HERE, model_path, path, str(runs)],
                         capture_output=True, text=True, check=True).stdout
    runs_ = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    stages = {k: median([r["stages_ms"][k] for r in runs_]) for k in runs_[0]["stages_ms"]}
    encoder = min(("encode_cv2", "encode_pillow"), key=lambda k: stages[k])
    stages["encode"] = stages[encoder]
    others = [sum(r["stages_ms"][s] for s in ("decode", "preprocess", "postprocess")) + r["stages_ms"][encoder]
              for r in runs_]
    return {"n": len(runs_), "stages_ms": stages, "encoder": encoder[len("encode_"):],
            "other_ms": {"median": median(others), "all": [round(v, 1) for v in others]},
            "png_bytes": runs_[0]["bytes"]}


def start_server(server, model_path, log_path):
    port = bu.free_port()
    cmd = [server, "--model", model_path, "--host", "127.0.0.1", "--port", str(port),
           "--max-body-bytes", str(MAX_BODY)]
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        bu.wait_port(port, proc)
        status, _, body = bu.request(port, "GET", "/warmup?timeout_ms=600000")
        if status != 200:
            raise RuntimeError(f"/warmup answered {status}: {body[:300]!r}")
    except BaseException:
        bu.stop(proc)
        log.close()
        raise
    return proc, port, cmd, log


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def targets(result, baseline):
    """The issue's targets from the run (and the baseline run for images/s)."""
    t, c = {}, result["cells"]
    per_core = result["per_core"]

    def get(size, output, conc, inp="jpeg"):
        return c.get(f"{size}/{inp}/{output}/c{conc}")

    for size in ("12", "3"):
        floor = result["floor"].get(size, {}).get("median_ms")
        for output in ("rgba-png", "rgba-png-raw"):
            cl = get(size, output, 1)
            if cl and floor:
                t[f"other_over_floor_{size}_{output}"] = ratio(cl["other_ms"]["median"], floor)
    py = result["python"].get("12")
    for output in ("rgba-png", "rgba-png-raw"):
        cl = get("12", output, 1)
        if cl and py:
            t[f"ours_over_python_12_{output}"] = ratio(cl["other_ms"]["median"], py["other_ms"]["median"])
            t[f"ours_over_python_12_{output}_round_trip"] = ratio(
                cl["round_trip_ms"]["median"],
                sum(py["stages_ms"][s] for s in ("decode", "preprocess", "inference", "postprocess", "encode")))
    for size in ("12", "3"):
        cl = get(size, "rgba-png", per_core)
        if cl:
            t[f"images_per_s_{size}_rgba-png_c{per_core}"] = cl["images_per_s"]
            base = (baseline or {}).get("cells", {}).get(f"{size}/jpeg/rgba-png/c{per_core}")
            if base:
                t[f"images_per_s_{size}_rgba-png_vs_baseline"] = ratio(cl["images_per_s"], base["images_per_s"])
    return t


def fmt(v, width=7, digits=0):
    return f"{v:{width}.{digits}f}" if v is not None else " " * (width - 3) + "n/a"


def print_report(result, baseline):
    print(f"\nmedians in ms; other = decode+preprocess+postprocess+encode (Server-Timing); "
          f"{result['machine']['cpus']} CPUs, {result['per_core']} per core")
    head = (f"{'cell':30} {'n':>3} {'round':>7} {'other':>7} {'decode':>7} {'prep':>7} {'infer':>7} "
            f"{'post':>7} {'encode':>7} {'img/s':>7} {'MB out':>7}")
    if baseline:
        head += f" {'img/s x':>7} {'other x':>7}"
        print(f"x: against {result['baseline']} (images/s ours/theirs, other theirs/ours; > 1 is better)")
    print(head)
    for key, cl in result["cells"].items():
        s = cl["stages_ms"]
        line = (f"{key:30} {cl['n']:3d} {fmt(cl['round_trip_ms']['median'])} {fmt(cl['other_ms']['median'])} "
                f"{fmt(s['decode'])} {fmt(s['preprocess'])} {fmt(s['inference'])} {fmt(s['postprocess'])} "
                f"{fmt(s['encode'])} {fmt(cl['images_per_s'], 7, 2)} {fmt(cl['response_bytes'] / 1e6, 7, 2)}")
        base = (baseline or {}).get("cells", {}).get(key)
        if base:
            line += (f" {fmt(ratio(cl['images_per_s'], base['images_per_s']), 7, 2)}"
                     f" {fmt(ratio(base['other_ms']['median'], cl['other_ms']['median']), 7, 2)}")
        print(line)
    for size, fl in result["floor"].items():
        print(f"decode floor {size:>4} MP JPEG ({fl['bytes'] / 1e6:.1f} MB): {fl['median_ms']:.1f} ms "
              f"(median of {len(fl['ms'])}, one thread)")
    for size, py in result["python"].items():
        s = py["stages_ms"]
        print(f"python {size:>4} MP JPEG -> RGBA PNG: other {py['other_ms']['median']:.0f} ms (decode {s['decode']:.0f}, "
              f"preprocess {s['preprocess']:.0f}, inference {s['inference']:.0f}, postprocess {s['postprocess']:.0f}, "
              f"encode {s['encode']:.0f} with {py['encoder']}), n={py['n']}")
    print("\ntargets (issue 15):")
    t = result["targets"]
    lines = [
        ("other_over_floor_12_rgba-png", "12 MP JPEG -> RGBA PNG, other / decode floor", "<= 2.5"),
        ("other_over_floor_12_rgba-png-raw", "  same with foreground=raw", "<= 2.5"),
        ("other_over_floor_3_rgba-png", "3 MP JPEG -> RGBA PNG, other / decode floor", "<= 3"),
        ("other_over_floor_3_rgba-png-raw", "  same with foreground=raw", "<= 3"),
        ("ours_over_python_12_rgba-png", "12 MP ours / Python, other", "<= 0.3"),
        ("ours_over_python_12_rgba-png-raw", "  same with foreground=raw", "<= 0.3"),
        ("ours_over_python_12_rgba-png_round_trip", "  round trip / Python total", ""),
        (f"images_per_s_12_rgba-png_c{result['per_core']}", "12 MP images/s, one request per core", ""),
        ("images_per_s_12_rgba-png_vs_baseline", "  against the baseline run", ">= 3"),
        (f"images_per_s_3_rgba-png_c{result['per_core']}", "3 MP images/s, one request per core", ""),
        ("images_per_s_3_rgba-png_vs_baseline", "  against the baseline run", ">= 3"),
    ]
    for key, label, goal in lines:
        if key in t:
            print(f"  {label:48} {t[key]:8.3f}   {('target ' + goal) if goal else ''}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--build", default=os.path.join(ROOT, "build"), help="build directory (default build/)")
    p.add_argument("--no-build", action="store_true", help="do not run cmake --build first")
    p.add_argument("--server", help="cutout-server (default BUILD/cutout-server)")
    p.add_argument("--floor", help="cutout-decode-floor (default BUILD/cutout-decode-floor)")
    p.add_argument("--work", default=os.path.join(ROOT, ".cache", "bench", "pipeline"),
                   help="model and inputs (cached)")
    p.add_argument("--sizes", default=",".join(make_images.SIZES), help="megapixels, e.g. 3,12")
    p.add_argument("--inputs", default="jpeg,png")
    p.add_argument("--outputs", default=",".join(OUTPUTS), help="of " + ",".join(OUTPUTS) + " (or "
                   + ", ".join(f"{k} for {v}" for k, v in ALIASES.items()) + ")")
    p.add_argument("--reps", type=int, help="requests per cell at concurrency 1 (default by size: "
                   + ", ".join(f"{k} MP {v}" for k, v in DEFAULT_REPS.items()) + ")")
    p.add_argument("--per-core", type=int, default=cores(), help="concurrency of the loaded cells "
                   "(default: the CPUs this process may use); 1 or 0 skips them")
    p.add_argument("--floor-runs", type=int, default=7)
    p.add_argument("--no-python", action="store_true", help="skip the Python pipeline")
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "pipeline-cpu.json"))
    p.add_argument("--plot", default=os.path.join(ROOT, "docs", "bench-pipeline.png"), help="'' for none")
    p.add_argument("--baseline", default=os.path.join(ROOT, "bench", "results", "pipeline-cpu-today.json"))
    p.add_argument("--reference-server", help="a second cutout-server (e.g. main's build) measured in the "
                   "same run, round by round, as the baseline: on a noisy machine the fair comparison")
    p.add_argument("--label", default="", help="free text stored in the JSON (e.g. 'today', a branch)")
    p.add_argument("--quick", action="store_true",
                   help="0.5 MP, one request per cell, 2 floor runs, JSON and plot into WORK/quick/; "
                   "fails unless every cell, floor, Python run and the plot are there")
    a = p.parse_args()
    if a.quick:
        a.sizes, a.reps, a.floor_runs = "0.5", 1, 2
        a.baseline = None
        a.out = os.path.join(a.work, "quick", "pipeline.json")
        a.plot = os.path.join(a.work, "quick", "pipeline.png")
    sizes, inputs = a.sizes.split(","), a.inputs.split(",")
    outputs = [ALIASES.get(o, o) for o in a.outputs.split(",")]
    for name, vals, known in (("sizes", sizes, make_images.SIZES), ("inputs", inputs, CONTENT_TYPES),
                              ("outputs", outputs, OUTPUTS)):
        bad = [v for v in vals if v not in known]
        if bad:
            p.error(f"unknown {name} {bad}; known: {list(known)}")
    server = a.server or os.path.join(a.build, "cutout-server")
    floor = a.floor or os.path.join(a.build, "cutout-decode-floor")
    if not a.no_build:
        subprocess.run(["cmake", "--build", a.build, "--target", "cutout-server", "cutout-decode-floor"], check=True)
    baseline = None
    if a.baseline and os.path.isfile(a.baseline) and os.path.abspath(a.baseline) != os.path.abspath(a.out):
        with open(a.baseline) as f:
            baseline = json.load(f)

    started = time.perf_counter()
    model_path = os.path.join(a.work, "stand-in-1024.pt")
    if not os.path.isfile(model_path):
        make_model.make(model_path)
    images = make_images.make(os.path.join(a.work, "images"), sizes)
    prepared = time.perf_counter()
    result = {"label": a.label, "machine": bu.machine(server), "per_core": a.per_core,
              "settings": {"sizes": sizes, "inputs": inputs, "outputs": {o: OUTPUTS[o] for o in outputs},
                           "reps": a.reps or DEFAULT_REPS, "floor_runs": a.floor_runs},
              "images": {s: {k: (os.path.getsize(v) if k in CONTENT_TYPES else v) for k, v in images[s].items()}
                         for s in sizes},
              "cells": {}, "floor": {}, "python": {}}
    servers = []  # [(name, process, port, log)]: "cutout", then "reference" with --reference-server
    try:
        for name, binary in (("cutout", server), ("reference", a.reference_server)):
            if binary:
                proc, port, cmd, log = start_server(binary, model_path, os.path.join(a.work, f"{name}.log"))
                servers.append((name, proc, port, log))
                result[f"{name}_command"] = [os.path.abspath(cmd[0]), cmd[1], os.path.relpath(model_path, ROOT)] + cmd[3:]
        turn = [0]

        def measure(key, body, headers, query, rounds, concurrency):
            """The cell: rounds x concurrency requests. One server: one closed loop over all of
            them. Two: round by round (one request, or `concurrency` at once), the servers taking
            turns and alternating which goes first, so both see the same moments of the machine's
            load; images/s is then requests over the summed wall time of the rounds."""
            if len(servers) == 1:
                results, wall = batch(servers[0][2], body, headers, query, rounds * concurrency, concurrency)
                result["cells"][key] = record(results, wall, concurrency)
                return
            got = {name: ([], [0.0]) for name, _, _, _ in servers}
            for r in range(rounds):
                for name, _, port_, _ in (servers if (turn[0] + r) % 2 == 0 else servers[::-1]):
                    results, wall = batch(port_, body, headers, query, concurrency, concurrency)
                    got[name][0].extend(results)
                    got[name][1][0] += wall
            turn[0] += 1
            result["cells"][key] = record(got["cutout"][0], got["cutout"][1][0], concurrency)
            result.setdefault("reference_cells", {})[key] = record(got["reference"][0], got["reference"][1][0],
                                                                   concurrency)

        bodies = {}
        for size in sizes:
            for inp in inputs:
                with open(images[size][inp], "rb") as f:
                    bodies[(size, inp)] = bu.multipart(f.read(), f"image.{inp}", CONTENT_TYPES[inp])
        # One unrecorded request per output on the smallest picture: first-use costs stay out.
        for out in outputs:
            for _, _, port_, _ in servers:
                post(port_, *bodies[(sizes[0], inputs[0])], OUTPUTS[out])
        for size in sizes:
            reps = a.reps or DEFAULT_REPS[size]
            for inp in inputs:
                for out in outputs:
                    key = f"{size}/{inp}/{out}/c1"
                    measure(key, *bodies[(size, inp)], OUTPUTS[out], reps, 1)
                    print(f"{key}: other {result['cells'][key]['other_ms']['median']:.0f} ms", file=sys.stderr)
            result["floor"][size] = decode_floor(floor, images[size]["jpeg"], a.floor_runs)
            if not a.no_python:
                result["python"][size] = python_pipeline(model_path, images[size]["jpeg"], reps)
            if a.per_core > 1 and "jpeg" in inputs:
                for out in outputs:
                    key = f"{size}/jpeg/{out}/c{a.per_core}"
                    measure(key, *bodies[(size, "jpeg")], OUTPUTS[out], reps, a.per_core)
                    print(f"{key}: {result['cells'][key]['images_per_s']:.2f} images/s", file=sys.stderr)
    finally:
        for _, proc, _, log in servers:
            bu.stop(proc)
            log.close()
    result["load_average_at_end"] = os.getloadavg()
    result["run_s"] = {"prepare": round(prepared - started, 1), "measure": round(time.perf_counter() - prepared, 1)}
    if "reference_cells" in result:  # the same run's reference server beats a stored run
        baseline = {"cells": result["reference_cells"]}
    result["baseline"] = ("reference_cells" if "reference_cells" in result
                          else os.path.relpath(a.baseline, ROOT) if baseline else None)
    result["targets"] = targets(result, baseline)
    bu.write_json(a.out, result)
    print_report(result, baseline)
    print(f"\nrun time: {result['run_s']['prepare']:.0f} s preparing, {result['run_s']['measure']:.0f} s measuring; "
          f"load average {result['machine']['load_average_at_start']} at start, {result['load_average_at_end']} at end")
    if a.plot:
        import plot
        plot.plot(result, a.plot)
        print(f"wrote {a.plot}", file=sys.stderr)
    if a.quick:
        return check_complete(result, sizes, inputs, outputs, a)
    return 0


def check_complete(result, sizes, inputs, outputs, a):
    """--quick's self-check (the ctest smoke test): every cell, floor and Python run is there."""
    want = [f"{s}/{i}/{o}/c1" for s in sizes for i in inputs for o in outputs]
    if a.per_core > 1 and "jpeg" in inputs:
        want += [f"{s}/jpeg/{o}/c{a.per_core}" for s in sizes for o in outputs]
    problems = [k for k in want if k not in result["cells"] or not result["cells"][k]["response_bytes"]]
    if a.reference_server:
        problems += [f"reference {k}" for k in want if k not in result.get("reference_cells", {})]
    problems += [f"floor {s}" for s in sizes if not result["floor"].get(s, {}).get("median_ms")]
    problems += [f"python {s}" for s in sizes if not a.no_python and s not in result["python"]]
    problems += [f"stage {k}" for k in want if k in result["cells"]
                 for st in OTHER if result["cells"][k]["stages_ms"][st] is None]
    if a.plot and not (os.path.isfile(a.plot) and os.path.getsize(a.plot) > 0):
        problems.append("plot")
    if problems:
        print("incomplete: " + ", ".join(problems), file=sys.stderr)
        return 1
    print("quick run complete", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
