#!/usr/bin/env python3
"""The latency benchmark's input pictures: JPEG (quality 90) of about 0.5, 3 and 12 megapixels, 16:9.

Source: a detailed painted picture (KDE's "SafeLanding" wallpaper, 5120x2880) when the quality
benchmark's Debian wallpapers are unpacked
(.cache/bench-quality/root, scripts/setup.sh --for-tests), else a deterministic synthetic picture
(smooth gradients and soft shapes plus noise). The source is recorded in images.json; JPEG size
and decode time depend on it.

    /usr/bin/python3 bench/latency/make_images.py [--dir .cache/bench/images]
"""
import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZES = {"0.5mp": (944, 531), "3mp": (2304, 1296), "12mp": (4608, 2592)}
PHOTO = os.path.join(ROOT, ".cache", "bench-quality", "root", "usr", "share", "wallpapers",
                     "SafeLanding", "contents", "images", "5120x2880.jpg")


def source():
    if os.path.isfile(PHOTO):
        return Image.open(PHOTO).convert("RGB"), os.path.relpath(PHOTO, ROOT)
    rng = np.random.default_rng(0)
    h, w = 720, 1280  # the smooth part at a quarter of the size, then enlarged, then fine noise
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([60 + 120 * x / w, 80 + 100 * y / h, 160 - 80 * (x / w) * (y / h)], -1)
    for _ in range(12):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(40, 180)
        a = 1 / (1 + np.exp(np.clip((((x - cx) ** 2 + (y - cy) ** 2) ** 0.5 - r) / 5, -50, 50)))
        img = img * (1 - a[..., None]) + rng.uniform(0, 255, 3) * a[..., None]
    big = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).resize((4 * w, 4 * h), Image.BICUBIC)
    img = np.asarray(big, dtype=np.int16) + rng.integers(-8, 9, (4 * h, 4 * w, 3), dtype=np.int16)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)), "synthetic (seed 0)"


def make(directory, names=None):
    """Write the pictures (kept when present). Returns {name: path}."""
    names = names or list(SIZES)
    os.makedirs(directory, exist_ok=True)
    paths = {n: os.path.join(directory, f"{n}.jpg") for n in names}
    todo = [n for n in names if not os.path.isfile(paths[n])]
    if todo:
        img, src = source()
        for n in todo:
            img.resize(SIZES[n], Image.LANCZOS).save(paths[n] + ".partial.jpg", quality=90)
            os.replace(paths[n] + ".partial.jpg", paths[n])
        with open(os.path.join(directory, "images.json"), "w") as f:
            json.dump({"source": src, "sizes": SIZES}, f)
    return paths


def main():
    p = argparse.ArgumentParser(description="Make the latency benchmark's JPEG inputs.")
    p.add_argument("--dir", default=os.path.join(ROOT, ".cache", "bench", "images"))
    a = p.parse_args()
    print(json.dumps(make(a.dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
