#!/usr/bin/env python3
"""The FP16 activation-range report for InSPyReNet-SwinB (docs/models.md, "FP16").

For each kind of weights (``random``: plain He-normal draw, no calibration, the worst case;
``rule-made``: export.random_init's calibrated weights; ``checkpoint``: a transparent-background
state dict when --checkpoint is given), the model in deployment form (SICA's rescaling applied,
export.prepare_for_export) runs in float32 on a few natural-looking pictures (the golden probe and
synthetic scenes) at --size with forward hooks on every module (models/fp16_check.py): largest
|activation|, float16 overflow and flush-to-zero, relative rounding error; then the same pictures
with every module's output rounded to float16 (FP16 emulated; Debian's LibTorch has no half
convolutions on the CPU), with and without the FP32 islands the rule picks.

    /usr/bin/python3 -m models.inspyrenet.fp16_report --size 384 --out bench/results/fp16-inspyrenet-384.json
"""
import argparse
import json
import os
import sys
import time

import torch

from .. import fp16_check
from .export import load_checkpoint, prepare_for_export, random_init, check_images, normalise, synthetic_image
from .model import InSPyReNetSwinB


def build(kind, size, seed, checkpoint=None):
    torch.manual_seed(seed)
    model = InSPyReNetSwinB(size).eval()
    if kind == "checkpoint":
        load_checkpoint(model, checkpoint)
    else:
        random_init(model, seed, calibrate=(kind == "rule-made"))
    return prepare_for_export(model).float().eval()


def report(kind, size, seed, images, checkpoint=None):
    t0 = time.time()
    model = build(kind, size, seed, checkpoint)
    result = fp16_check.check(model, images)
    stats = result.pop("stats")
    by_group = {}
    for name, s in stats.items():  # per top-level part: the largest activation and rounding error
        group = ".".join(name.split(".")[:2]) if name.startswith("backbone") else name.split(".")[0]
        g = by_group.setdefault(group, {"max_abs": 0.0, "rel_round_error": 0.0, "overflow": 0, "modules": 0})
        g["max_abs"] = max(g["max_abs"], s["max_abs"])
        g["rel_round_error"] = max(g["rel_round_error"], s["rel_round_error"])
        g["overflow"] += s["overflow"]
        g["modules"] += 1
    result.update({"weights": kind, "size": size, "seconds": round(time.time() - t0, 1),
                   "modules_hooked": len(stats), "by_part": by_group,
                   "modules": {n: {k: (round(v, 6) if isinstance(v, float) else v) for k, v in s.items()}
                               for n, s in stats.items()}})
    return result


def markdown(out):
    """The report as the table docs/models.md quotes, re-deciding the islands from the recorded
    per-module figures with the current rule (models/fp16_check.decide)."""
    lines = ["| weights | max \\|activation\\| (module) | modules beyond 32752 | kept in float32 by the rule | "
             "emulated FP16: largest mask difference | 64x64 area means (self-test metric) |",
             "|---|---|---|---|---|---|"]
    for r in out["reports"]:
        keep, _ = fp16_check.decide(r["modules"])
        over = [n for n, s in r["modules"].items() if s["max_abs"] >= fp16_check.HEADROOM_LIMIT]
        top = r["largest"][0] if r["largest"] else {"module": "-", "max_abs": 0}
        fmt = lambda v: "inf (NaN/Inf in the answer)" if v is None or v == float("inf") else f"{v:.4g}"  # noqa: E731
        lines.append(f"| {r['weights']} | {top['max_abs']:.3g} ({top['module']}) | {len(over)} | {len(keep)} | "
                     f"{fmt(r['emulated_fp16_max_diff'])} | {fmt(r.get('emulated_fp16_pooled_diff'))} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights", default="random,rule-made", help="comma list of random, rule-made, checkpoint")
    p.add_argument("--checkpoint", help="state dict for the 'checkpoint' kind")
    p.add_argument("--out", required=True)
    p.add_argument("--markdown", action="store_true", help="print the table of an existing --out file and stop")
    a = p.parse_args(argv)
    if a.markdown:
        with open(a.out) as f:
            print(markdown(json.load(f)))
        return 0
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    images = check_images(a.size) + [normalise(synthetic_image(a.size, a.size, seed=11))]
    out = {"size": a.size, "images": ["golden probe", "synthetic seed 7", "synthetic seed 11"],
           "limits": {"headroom": fp16_check.HEADROOM_LIMIT, "lossy": fp16_check.LOSSY_LIMIT},
           "reports": []}
    for kind in a.weights.split(","):
        r = report(kind, a.size, a.seed, images, a.checkpoint)
        out["reports"].append(r)
        print(f"{kind}: max |activation| {r['max_abs_activation']:.4g}; fp32 islands {len(r['fp32_modules'])}; "
              f"emulated fp16 max diff {r['emulated_fp16_max_diff']:.4g}, mixed {r['emulated_mixed_max_diff']:.4g} "
              f"({r['seconds']} s)", flush=True)
        for part, g in sorted(r["by_part"].items(), key=lambda kv: -kv[1]["max_abs"])[:12]:
            print(f"  {part:<28} max|a| {g['max_abs']:>12.4g}  rel round err {g['rel_round_error']:.2e}  "
                  f"overflow {g['overflow']}  ({g['modules']} modules)")
        for name, why in list(r["why"].items())[:20]:
            print(f"  keep fp32: {name}: {why}")
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1, default=lambda v: None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
