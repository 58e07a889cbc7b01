#!/usr/bin/python3
"""The pipeline benchmark's input pictures: photo-like, with camera grain, as JPEG (quality 90,
4:2:0, as a phone writes) and PNG (RGB, Pillow's default level 6) at about 0.5, 3, 12 and 24 MP.

Each is a deterministic synthetic scene (seed per size): a dark, blurred background with smooth
colour gradients and out-of-focus shapes, and a bright subject (an ellipse body and a disc head
with a textured surface) whose outline is blurred over a few pixels, so the stand-in model
(make_model.py) cuts it out with a soft edge. Camera grain on top: luminance noise (sigma 5 levels)
plus chroma noise (sigma 2), at full resolution, which is what makes a real photo's JPEG and PNG
large and slow to encode compared with a clean synthetic picture.

    /usr/bin/python3 bench/pipeline/make_images.py [--dir .cache/bench/pipeline/images] [--sizes 0.5,3,12,24]

Prints {"<size>mp": {"jpeg": path, "png": path, "width": w, "height": h}} as JSON. Existing files
are kept (the scene is a pure function of the size).
"""
import argparse
import json
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# 4:3 like a phone's main camera; 24 MP as a 3:2 camera. Keys are the names used everywhere.
SIZES = {"0.5": (816, 612), "3": (2000, 1500), "12": (4000, 3000), "24": (6000, 4000)}


def scene(width, height, seed):
    """uint8 [height, width, 3] RGB."""
    rng = np.random.default_rng(seed)
    # Background at an eighth of the size (smooth, so it is cheap), enlarged: gradients and blobs
    # kept below the model's brightness threshold.
    w8, h8 = max(8, width // 8), max(8, height // 8)
    y, x = np.mgrid[0:h8, 0:w8].astype(np.float32)
    bg = np.stack([30 + 50 * x / w8, 40 + 40 * y / h8, 70 - 30 * (x / w8) * (y / h8)], -1)
    for _ in range(10):
        cy, cx, r = rng.uniform(0, h8), rng.uniform(0, w8), rng.uniform(0.05, 0.2) * w8
        a = np.exp(-(((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r)))[..., None]
        bg = bg * (1 - 0.6 * a) + rng.uniform(10, 90, 3) * 0.6 * a
    image = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8)).resize((width, height), Image.BICUBIC)
    # The subject: body and head, bright, with a texture, composed through a blurred outline.
    subject = Image.new("L", (width, height), 0)
    d = ImageDraw.Draw(subject)
    d.ellipse([0.30 * width, 0.38 * height, 0.70 * width, 1.05 * height], fill=255)
    d.ellipse([0.41 * width, 0.10 * height, 0.59 * width, 0.40 * height], fill=255)
    d.polygon([(0.18 * width, 0.55 * height), (0.31 * width, 0.50 * height), (0.33 * width, 0.62 * height),
               (0.20 * width, 0.70 * height)], fill=255)  # an arm: a corner and a thin part
    alpha = subject.filter(ImageFilter.GaussianBlur(max(1.0, width / 1500)))
    ty, tx = np.mgrid[0:h8, 0:w8].astype(np.float32)
    texture = np.stack([200 + 30 * np.sin(tx / 3.0 + c) * np.cos(ty / 4.0 - c) for c in (0.0, 1.0, 2.0)], -1)
    fg = Image.fromarray(np.clip(texture, 0, 255).astype(np.uint8)).resize((width, height), Image.BICUBIC)
    img = Image.composite(fg, image, alpha)
    out = np.asarray(img, dtype=np.int16)
    # Camera grain at full resolution: luminance then chroma. In place, int16, to keep 24 MP cheap.
    out += rng.normal(0, 5, (height, width, 1)).astype(np.int16)
    out += rng.normal(0, 2, (height, width, 3)).astype(np.int16)
    return np.clip(out, 0, 255).astype(np.uint8)


def make(directory, names=None):
    """Write the pictures that are missing. Returns {name: {"jpeg", "png", "width", "height"}}."""
    names = names or list(SIZES)
    os.makedirs(directory, exist_ok=True)
    out = {}
    for i, name in enumerate(SIZES):
        if name not in names:
            continue
        w, h = SIZES[name]
        paths = {"jpeg": os.path.join(directory, f"{name}mp.jpg"), "png": os.path.join(directory, f"{name}mp.png")}
        if not all(os.path.isfile(p) for p in paths.values()):
            img = Image.fromarray(scene(w, h, seed=i))
            img.save(paths["jpeg"] + f".{os.getpid()}.partial", format="JPEG", quality=90)
            img.save(paths["png"] + f".{os.getpid()}.partial", format="PNG")
            for p in paths.values():
                os.replace(p + f".{os.getpid()}.partial", p)
        out[name] = dict(paths, width=w, height=h)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default=os.path.join(ROOT, ".cache", "bench", "pipeline", "images"))
    p.add_argument("--sizes", default=",".join(SIZES), help="comma-separated megapixels: " + ",".join(SIZES))
    a = p.parse_args()
    names = a.sizes.split(",")
    unknown = [n for n in names if n not in SIZES]
    if unknown:
        p.error(f"unknown size(s) {unknown}; known: {list(SIZES)}")
    print(json.dumps(make(a.dir, names), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
