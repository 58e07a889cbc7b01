#!/usr/bin/env python3
"""The memory estimate's coefficients from request_peak.py's figures, and how well they cover them.

    peak = input bytes + M x model input pixels + IN[format] x image pixels + OUT[output] x output pixels

IN[format] comes from the in_only runs (a mask shrunk to 64 px: the output side near zero), as the
largest (peak - input - M x 1024^2) / pixels over the sizes; M from the smallest images' residue;
OUT[output] likewise from the other runs, after the input side. Each is rounded up to a whole byte,
so the estimate is at or above every measured peak. Prints the coefficients and, per case, the
estimate over the measured peak. service/memory_estimate.cpp holds the rounded figures.

    /usr/bin/python3 bench/memory/fit.py [bench/results/request-peak-cpu.json]
"""
import json
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL_PIXELS = 1024 * 1024
IN_ONLY_SIDE = 64
FORMAT = {"jpeg": "jpeg", "png": "png", "png_rgba": "png", "webp": "webp", "tiff": "tiff", "bmp": "bmp"}


def out_pixels(case):
    if case["output"] != "in_only":
        return case["width"] * case["height"]
    s = IN_ONLY_SIDE / max(case["width"], case["height"])
    return round(case["width"] * s) * round(case["height"] * s)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench", "results", "request-peak-cpu.json")
    cases = [c for c in json.load(open(path))["cases"] if c["status"] == 200]
    in_only = [c for c in cases if c["output"] == "in_only"]
    # Input side: the slope between the smallest and the largest in_only run of each format, so
    # the constant model side drops out; then M covers what the smallest runs leave over.
    slope = {}
    for fmt in sorted({FORMAT[c["input"]] for c in in_only}):
        runs = sorted((c for c in in_only if FORMAT[c["input"]] == fmt), key=lambda c: c["width"] * c["height"])
        lo, hi = runs[0], runs[-1]
        px = hi["width"] * hi["height"] - lo["width"] * lo["height"]
        if px > 0:
            rise = (hi["request_peak_bytes"] - hi["input_bytes"]) - (lo["request_peak_bytes"] - lo["input_bytes"])
            slope[fmt] = max(slope.get(fmt, 0), math.ceil(rise / px))
    model = max(math.ceil((c["request_peak_bytes"] - c["input_bytes"] - slope[FORMAT[c["input"]]] *
                           c["width"] * c["height"]) / MODEL_PIXELS) for c in in_only if FORMAT[c["input"]] in slope)
    inside = {}
    for c in in_only:
        fmt = FORMAT[c["input"]]
        rest = c["request_peak_bytes"] - c["input_bytes"] - model * MODEL_PIXELS
        inside[fmt] = max(inside.get(fmt, 0), math.ceil(rest / (c["width"] * c["height"])))
    outside = {}
    for c in cases:
        if c["output"] == "in_only" or FORMAT[c["input"]] not in inside:
            continue
        rest = (c["request_peak_bytes"] - c["input_bytes"] - model * MODEL_PIXELS -
                inside[FORMAT[c["input"]]] * c["width"] * c["height"])
        outside[c["output"]] = max(outside.get(c["output"], 0), max(0, math.ceil(rest / out_pixels(c))))
    print(f"M (per model input pixel): {model}")
    print("IN (per image pixel):", json.dumps(inside))
    print("OUT (per output pixel):", json.dumps(outside))
    # As memory_estimate.cpp combines them: the output stages run one after the other (foreground
    # estimation's planes are freed before encoding), so the output side is the larger of the
    # encoder's own (the raw runs) and foreground estimation's (the largest of its runs).
    pairs = {"png": ("rgba_png_raw", "rgba_png"), "webp": ("rgba_webp_raw", "rgba_webp"), "jpeg": ("bg_jpeg_raw", "bg_jpeg")}
    encoder = {f: outside[raw] for f, (raw, _) in pairs.items() if raw in outside}
    foreground = max(outside[est] for _, est in pairs.values() if est in outside)
    print("code: encoder", json.dumps(encoder), "foreground", foreground, "mask", outside.get("mask_png"))
    code_out = {"mask_png": outside.get("mask_png", 0)}
    for f, (raw, est) in pairs.items():
        code_out[raw] = encoder.get(f, max(encoder.values()))
        code_out[est] = max(code_out[raw], foreground)
    outside = {k: code_out.get(k, v) for k, v in outside.items()}
    print(f"{'size':6} {'input':9} {'output':13} {'measured MiB':>12} {'estimate MiB':>12} {'ratio':>6}")
    for c in cases:
        fmt = FORMAT[c["input"]]
        if fmt not in inside:
            continue
        est = (c["input_bytes"] + model * MODEL_PIXELS + inside[fmt] * c["width"] * c["height"] +
               outside.get(c["output"], 0) * out_pixels(c))
        print(f"{c['size']:6} {c['input']:9} {c['output']:13} {c['request_peak_bytes'] / 2**20:12.1f} "
              f"{est / 2**20:12.1f} {est / c['request_peak_bytes']:6.2f}")


if __name__ == "__main__":
    main()
