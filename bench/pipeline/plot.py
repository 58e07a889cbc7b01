#!/usr/bin/python3
"""The pipeline benchmark's plot (docs/bench-pipeline.png) from its JSON (run.py writes both).

Left: JPEG in, RGBA PNG out, at concurrency 1, per size: cutout's Server-Timing stages stacked
(default foreground estimation, and foreground=raw), the Python pipeline's stages beside them, and
the decode floor as a black bar; milliseconds per megapixel, so the sizes share one axis.
Right: the same stages per output at the largest size up to 12 MP (JPEG in, concurrency 1).

    /usr/bin/python3 bench/pipeline/plot.py bench/results/pipeline-cpu-today.json docs/bench-pipeline.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STAGES = ["decode", "preprocess", "inference", "postprocess", "encode"]
COLOURS = {"decode": "#4c72b0", "preprocess": "#dd8452", "inference": "#937860",
           "postprocess": "#55a868", "encode": "#c44e52"}


def _stack(ax, x, stages, scale, width, hatch=None):
    bottom = 0.0
    for s in STAGES:
        v = (stages.get(s) or 0.0) * scale
        ax.bar(x, v, width, bottom=bottom, color=COLOURS[s], hatch=hatch, edgecolor="white", linewidth=0.3)
        bottom += v
    return bottom


def plot(result, path):
    cells, sizes = result["cells"], result["settings"]["sizes"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [3, 2]})
    ticks, labels = [], []
    for i, size in enumerate(sizes):
        mp = result["images"][size]["width"] * result["images"][size]["height"] / 1e6
        bars = [("cutout", cells.get(f"{size}/jpeg/rgba-png/c1", {}).get("stages_ms"), None),
                ("raw", cells.get(f"{size}/jpeg/rgba-png-raw/c1", {}).get("stages_ms"), None),
                ("Python", (result["python"].get(size) or {}).get("stages_ms"), "//")]
        for j, (name, stages, hatch) in enumerate(bars):
            if stages:
                x = i * 4 + j
                top = _stack(left, x, stages, 1 / mp, 0.8, hatch)
                ticks.append(x)
                labels.append(f"{name}\n{size} MP")
                left.text(x, top, f"{top * mp / 1000:.2f} s", ha="center", va="bottom", fontsize=7)
        floor = result["floor"].get(size)
        if floor:
            y = floor["median_ms"] / mp
            left.hlines(y, i * 4 - 0.45, i * 4 + 2.45, colors="black", linewidth=2)
            left.text(i * 4 + 2.5, y, "decode\nfloor", fontsize=7, va="center")
    left.set_xticks(ticks)
    left.set_xticklabels(labels, fontsize=7)
    left.set_ylabel("ms per megapixel (median)")
    left.set_title("JPEG in, RGBA PNG out, one request at a time")
    for s in STAGES:
        left.bar(0, 0, color=COLOURS[s], label=s)
    left.legend(fontsize=8, loc="upper center", ncol=5)
    left.set_ylim(top=left.get_ylim()[1] * 1.12)  # room for the legend

    shown = [s for s in sizes if float(s) <= 12] or sizes
    size = shown[-1]
    outs = [o for o in result["settings"]["outputs"] if f"{size}/jpeg/{o}/c1" in cells]
    for k, o in enumerate(outs):
        top = _stack(right, k, cells[f"{size}/jpeg/{o}/c1"]["stages_ms"], 1 / 1000, 0.7)
        right.text(k, top, f"{top:.2f}", ha="center", va="bottom", fontsize=7)
    if result["floor"].get(size):
        right.axhline(result["floor"][size]["median_ms"] / 1000, color="black", linewidth=1.5,
                      label="decode floor")
        right.legend(fontsize=8, loc="upper right")
    right.set_xticks(range(len(outs)))
    right.set_xticklabels(outs, fontsize=8, rotation=20)
    right.set_ylabel("seconds (median Server-Timing stages)")
    right.set_title(f"{size} MP JPEG in, each output")
    m = result["machine"]
    fig.suptitle(f"cutout request pipeline, stand-in model (forward ~free), {m.get('cpus')} vCPUs, "
                 f"{m.get('git_commit')} {result.get('label') or ''}".strip(), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        plot(json.load(f), sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
