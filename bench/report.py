#!/usr/bin/env python3
"""Markdown tables from bench/results/*.json, for docs/benchmarks.md (so no figure is copied by hand).

    /usr/bin/python3 bench/report.py bench/results/coldstart-cpu-384.json bench/results/latency-cpu.json
"""
import json
import sys

COLD = [("exec_to_port_open_ms", "exec → port open (s)", 1000), ("exec_to_model_loaded_ms", "exec → model loaded (s)", 1000),
        ("exec_to_ready_ms", "exec → ready (s)", 1000), ("first_request_ms", "first request (s)", 1000),
        ("steady_ms", "steady-state request (s)", 1000), ("first_over_steady", "first / steady", 1),
        ("peak_rss_mib", "peak RSS (MiB)", 1)]


def fmt(s, scale):
    if not s:
        return "–"
    v = [s["median"] / scale, s["min"] / scale, s["max"] / scale]
    d = 2 if scale == 1 and s["median"] < 10 else (0 if scale == 1 else 2)
    return f"{v[0]:.{d}f} ({v[1]:.{d}f}–{v[2]:.{d}f})"


def coldstart(d):
    names = list(d["summary"])
    rows = [c for c in COLD if any(d["summary"][n][c[0]] for n in names)]
    out = ["| median (min–max) | " + " | ".join(names) + " | " + " | ".join(f"cutout / {p}" for p in names[1:]) + " |",
           "| --- " * (1 + 2 * len(names) - 1) + "|"]
    for key, label, scale in rows:
        cells = [fmt(d["summary"][n][key], scale) for n in names]
        ratios = []
        for p in names[1:]:
            r = d["ratios_cutout_over_peer"][p][key]
            ratios.append("–" if not r else f"{r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f})")
        out.append(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    phases, warm = {}, {}
    for r in d["runs"]:
        t = r["inside"]
        phases.setdefault(r["contender"], []).append(t["model_loaded_ms"] - t["load_started_ms"])
        if r["steady_ms"] and t.get("ready_ms") and t["ready_ms"] - t["model_loaded_ms"] > 100:
            warm.setdefault(r["contender"], []).append((t["ready_ms"] - t["model_loaded_ms"]) / r["steady_ms"][0])
    med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731 (odd counts here)
    out.append("")
    out.append("Loading phase alone (load started → model loaded, each server's own timeline), median s: " + ", ".join(
        f"{n} {med(v) / 1000:.2f}" for n, v in phases.items()) + ".")
    if warm:
        out.append("Warm-up pass (model loaded → ready) / the same start's steady-state request, median (min–max): " + ", ".join(
            f"{n} {med(v):.2f} ({min(v):.2f}–{max(v):.2f})" for n, v in warm.items()) + ".")
    return "\n".join(out)


def latency(d):
    out = ["| image | output | conc. | contender | p50 (s) | p95 (s) | decode | preprocess | inference | postprocess | encode | response |",
           "| --- " * 12 + "|"]
    for r in sorted(d["rows"], key=lambda r: (["0.5mp", "3mp", "12mp"].index(r["image"]) if r["image"] in ("0.5mp", "3mp", "12mp") else 9,
                                              r["output"] != "rgba", r["concurrency"], r["contender"])):
        st = r["stages_median_ms"]
        out.append(f"| {r['image']} | {r['output']} | {r['concurrency']} | {r['contender']} | {r['p50_ms'] / 1000:.2f} | "
                   f"{r['p95_ms'] / 1000:.2f} | " + " | ".join(f"{st.get(s, 0):.0f}" for s in
                                                               ["decode", "preprocess", "inference", "postprocess", "encode"])
                   + f" | {r['response_bytes'] / 1e6:.2f} MB |")
    return "\n".join(out)


def main(argv):
    for path in argv[1:]:
        with open(path) as f:
            d = json.load(f)
        print(f"\n<!-- {path} -->\n")
        print(coldstart(d) if d["benchmark"] == "coldstart" else latency(d))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
