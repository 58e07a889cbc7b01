#!/usr/bin/env python3
"""Draw the benchmark plots (PNG) from bench/results/*.json.

    /usr/bin/python3 bench/plot.py --coldstart bench/results/coldstart-cpu-384.json \
        --coldstart-load bench/results/coldstart-cpu-1024-load.json \
        --latency bench/results/latency-cpu.json --outdir docs
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"cutout": "#1f77b4", "peer-jit": "#ff7f0e", "peer-eager": "#2ca02c"}
STAGES = ["decode", "preprocess", "inference", "postprocess", "encode"]


def load(path):
    with open(path) as f:
        return json.load(f)


def coldstart_axes(ax, data, title, milestones):
    names = list(data["summary"])
    width = 0.8 / len(names)
    for i, n in enumerate(names):
        meds, lo, hi = [], [], []
        for m in milestones:
            s = data["summary"][n][m]
            meds.append(s["median"] / 1000 if s else 0)
            lo.append((s["median"] - s["min"]) / 1000 if s else 0)
            hi.append((s["max"] - s["median"]) / 1000 if s else 0)
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(milestones))]
        ax.bar(xs, meds, width, yerr=[lo, hi], capsize=3, label=n, color=COLOURS.get(n))
        for x, v in zip(xs, meds):
            ax.text(x, v, f"{v:.1f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(milestones)))
    ax.set_xticklabels([m.replace("exec_to_", "exec to ").replace("_ms", "").replace("_", " ") for m in milestones])
    ax.set_ylabel("seconds (median, bars: min-max)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)


def plot_coldstart(full, load_only, out):
    panels = [(d, t, m) for d, t, m in [
        (load_only, "InSPyReNet-SwinB 1024, start-up without warm-up pass", ["exec_to_port_open_ms", "exec_to_model_loaded_ms"]),
        (full, "whole cold start incl. one warm-up pass", ["exec_to_port_open_ms", "exec_to_model_loaded_ms", "exec_to_ready_ms"]),
    ] if d is not None]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.2), squeeze=False)
    for ax, (d, t, m) in zip(axes[0], panels):
        size = d["model"].get("input_size")
        coldstart_axes(ax, d, t if size is None else t.replace("incl.", f"at {size}, incl."), m)
    fig.suptitle(f"Cold start on {full['machine'].get('cpus') if full else load_only['machine'].get('cpus')} CPU cores "
                 f"(runs alternated, {(full or load_only)['protocol']['runs']} each)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"wrote {out}", file=sys.stderr)


def plot_latency(data, out):
    rows = [r for r in data["rows"] if r["concurrency"] == 1]
    outputs = sorted({r["output"] for r in rows}, key=lambda o: o != "rgba")
    fig, axes = plt.subplots(1, len(outputs), figsize=(6 * len(outputs), 4.2), squeeze=False)
    for ax, output in zip(axes[0], outputs):
        sel = [r for r in rows if r["output"] == output]
        labels = [f"{r['image']}\n{r['contender']}" for r in sel]
        bottoms = [0.0] * len(sel)
        for s, colour in zip(STAGES, plt.cm.tab10.colors):
            vals = [r["stages_median_ms"].get(s, 0) / 1000 for r in sel]
            ax.bar(range(len(sel)), vals, 0.7, bottom=bottoms, label=s, color=colour)
            bottoms = [b + v for b, v in zip(bottoms, vals)]
        ax.plot(range(len(sel)), [r["p50_ms"] / 1000 for r in sel], "k_", markersize=20, label="end-to-end p50")
        ax.set_xticks(range(len(sel)))
        ax.set_xticklabels(labels, fontsize=7)
        ax.set_ylabel("seconds")
        ax.set_title(f"output={output}, concurrency 1: Server-Timing stages (medians)", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(f"Per-image latency, {data['model']['pt']} on CPU", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"wrote {out}", file=sys.stderr)


def main(argv=None):
    p = argparse.ArgumentParser(description="Benchmark plots from bench/results JSON.")
    p.add_argument("--coldstart")
    p.add_argument("--coldstart-load")
    p.add_argument("--latency")
    p.add_argument("--outdir", default="docs")
    a = p.parse_args(argv)
    os.makedirs(a.outdir, exist_ok=True)
    if a.coldstart or a.coldstart_load:
        plot_coldstart(a.coldstart and load(a.coldstart), a.coldstart_load and load(a.coldstart_load),
                       os.path.join(a.outdir, "bench-coldstart.png"))
    if a.latency:
        plot_latency(load(a.latency), os.path.join(a.outdir, "bench-latency.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
