#!/usr/bin/python3
"""The same request done the way a careful Python team would write it, for the pipeline benchmark
(bench/pipeline/run.py) to time side by side with cutout-server: JPEG bytes in, RGBA PNG bytes out.

Stages, timed like the server's Server-Timing stages (milliseconds, one thread of Python):
  decode       Pillow: Image.open(bytes).convert("RGB") (libjpeg-turbo underneath)
  preprocess   Pillow BILINEAR resize to the model's size, numpy to a normalised float32 tensor
  inference    the TorchScript model (the same stand-in file the server loads)
  postprocess  probability to 8 bits, Pillow BILINEAR resize of the mask to the image size, numpy
               stacks RGB and alpha into RGBA
  encode       PNG at a fast level, both ways on the same RGBA array: OpenCV (cv2.imencode, level
               1; RGBA to BGRA first) and Pillow (compress_level=1); run.py counts the faster
               encoder's median, as that team would keep the faster after trying both
No foreground colour estimation (transparent-background has none): compare it with the server's
foreground=raw cells, and with the default to see what estimation costs.

    /usr/bin/python3 bench/pipeline/python_pipeline.py MODEL.pt IMAGE.jpg [--runs 3]

prints the stage times of each run as JSON.
"""
import argparse
import io
import json
import sys
import time

import cv2
import numpy as np
import torch
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
ENCODERS = ("cv2", "pillow")


def encode_png(rgba, encoder):
    if encoder == "cv2":
        ok, buf = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA), [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise RuntimeError("cv2.imencode failed")
        return buf.tobytes()
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, format="PNG", compress_level=1)
    return out.getvalue()


def run_once(model, data, size=1024):
    """One request's work. Returns {stage: ms} with encode_cv2 and encode_pillow for the encode,
    and {"encode_cv2": PNG bytes, "encode_pillow": ...}."""
    t = [time.perf_counter()]
    img = Image.open(io.BytesIO(data)).convert("RGB")
    t.append(time.perf_counter())
    small = np.asarray(img.resize((size, size), Image.BILINEAR), dtype=np.float32)
    x = torch.from_numpy(((small / 255.0 - MEAN) / STD).transpose(2, 0, 1).copy()).unsqueeze(0)
    t.append(time.perf_counter())
    with torch.inference_mode():
        prob = model(x)
    t.append(time.perf_counter())
    mask = (prob[0, 0].clamp(0, 1) * 255).to(torch.uint8).numpy()
    alpha = np.asarray(Image.fromarray(mask, "L").resize(img.size, Image.BILINEAR))
    rgba = np.dstack([np.asarray(img), alpha])
    t.append(time.perf_counter())
    names = ["decode", "preprocess", "inference", "postprocess"]
    stages = {n: (t[i + 1] - t[i]) * 1000.0 for i, n in enumerate(names)}
    pngs = {}
    for encoder in ENCODERS:
        start = time.perf_counter()
        pngs["encode_" + encoder] = encode_png(rgba, encoder)
        stages["encode_" + encoder] = (time.perf_counter() - start) * 1000.0
    return stages, pngs


def load(model_path):
    return torch.jit.load(model_path, map_location="cpu").eval()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    p.add_argument("image")
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    model = load(a.model)
    with open(a.image, "rb") as f:
        data = f.read()
    for _ in range(a.runs):
        stages, pngs = run_once(model, data)
        print(json.dumps({"stages_ms": stages, "bytes": {k: len(v) for k, v in pngs.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
