#!/usr/bin/python3
"""The attack suite of issue 14: starts the real cutout-server with the tiny fixture models,
runs one case per fault of the issue (items 1-7), measures what each cost (the server's RSS
growth, seconds, statuses, probe latency, exit code) and judges it against the outcome the issue's
"What to build" expects. Prints a table; without --quick also writes JSON to bench/results/.
Exits 1 when a case fails.

    /usr/bin/python3 bench/attack/run.py --server build/cutout-server [--quick] [--only NAME,...]

--quick uses small sizes (the ctest `attack_quick`); the full run uses the issue's sizes (GBs of
memory before the fixes: not for a shared machine)."""
import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import registry  # noqa: E402
# One module per issue item; importing registers its cases in order.
import amplification  # noqa: E402,F401
import decoders  # noqa: E402,F401
import budget  # noqa: E402,F401
import probes  # noqa: E402,F401
import backpressure  # noqa: E402,F401
import shutdown  # noqa: E402,F401
import small_faults  # noqa: E402,F401


class Context(registry.Context):
    def nan_model(self):
        path = os.path.join(self.work, "nan_output.pt")
        if not os.path.exists(path):
            subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_models.py"), "--out", path], check=True)
        return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.path.join(ROOT, "build", "cutout-server"))
    parser.add_argument("--fixtures", default=os.path.join(ROOT, "build", "tests", "fixtures"),
                        help="the test fixture models (made by tests/fixtures/make_models.py)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    parser.add_argument("--only", default="", help="comma-separated case names")
    parser.add_argument("--list", action="store_true", help="list the cases and their expectations")
    parser.add_argument("--out", help="JSON file (default bench/results/attack-<date>.json; none in --quick)")
    args = parser.parse_args()

    cases = registry.CASES
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {c["name"] for c in cases}
        if unknown:
            parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
        cases = [c for c in cases if c["name"] in wanted]
    if args.list:
        for c in cases:
            print(f"{c['item']}  {c['name']:36} {c['expect']}")
        return 0

    # A SIGTERM (ctest's timeout, a person) unwinds like ^C, so every server started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = tempfile.mkdtemp(prefix="cutout-attack-")
    ctx = Context(os.path.abspath(args.server), os.path.abspath(args.fixtures), work, args.quick)
    results = []
    t0 = time.monotonic()
    try:
        for c in cases:
            t = time.monotonic()
            try:
                verdict = c["run"](ctx)
                row = {"passed": verdict.passed, "checks": verdict.checks, "figures": verdict.figures}
            except Exception as e:  # a case that cannot run fails; the others still run
                row = {"passed": False, "checks": [], "figures": {},
                       "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
            row.update(name=c["name"], item=c["item"], expect=c["expect"], seconds=round(time.monotonic() - t, 1))
            results.append(row)
            print_row(row)
            sys.stdout.flush()
    finally:
        ctx.close()
    total = round(time.monotonic() - t0, 1)
    failed = [r["name"] for r in results if not r["passed"]]
    print_table(results)
    print(f"\n{len(results) - len(failed)} of {len(results)} cases passed in {total} s"
          f"{' (quick)' if args.quick else ''}; server logs in {work}")
    if failed:
        print("failed: " + ", ".join(failed))
    out = args.out or (None if args.quick else os.path.join(
        ROOT, "bench", "results", f"attack-{datetime.date.today().isoformat()}.json"))
    if out:
        doc = {"server": args.server, "quick": args.quick, "seconds": total,
               "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": {"cpus": os.cpu_count(), "kernel": platform.release()}, "cases": results}
        with open(out, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"wrote {out}")
    return 1 if failed else 0


def print_row(row):
    mark = "PASS" if row["passed"] else "FAIL"
    print(f"\n[{mark}] item {row['item']}  {row['name']}  ({row['seconds']} s)\n       expect: {row['expect']}")
    if "error" in row:
        print(f"       could not run: {row['error']}")
    for c in row["checks"]:
        print(f"       {'ok  ' if c['held'] else 'FAIL'} {c['expect']}: {c['observed'][:160]}")
    figures = ", ".join(f"{k}={v}" for k, v in row["figures"].items() if k not in ("answers", "statuses"))
    if figures:
        print(f"       measured: {figures[:400]}")


def print_table(results):
    """One line per case: the verdict and what the first failed check (or the last check) saw."""
    print(f"\n{'item':4} {'case':36} {'result':6} {'s':>5}  observed")
    for r in results:
        failed = [c for c in r["checks"] if not c["held"]]
        shown = failed[0] if failed else (r["checks"][-1] if r["checks"] else None)
        seen = f"{shown['expect']}: {shown['observed']}" if shown else r.get("error", "")
        print(f"{r['item']:<4} {r['name']:36} {'PASS' if r['passed'] else 'FAIL':6} {r['seconds']:5.1f}  {seen[:90]}")


if __name__ == "__main__":
    sys.exit(main())
