"""Cost of foreground estimation at 12 MP against the decode floor, on this machine.

Two photos from python3-skimage (bench/quality/fetch_assets.sh), the cat (chelsea) and the
astronaut, resized to 12 MP and saved as JPEG (quality 90); their masks come from cutout-server
with the default model (POST /remove-background?output=mask), so the band is the one a real
request has: the model's matte upsampled to 12 MP. Then `cutout-foreground time` (foreground_tool.cpp)
reports, in one process, medians of: one OpenCV (libjpeg-turbo) decode of that JPEG on one thread
(the decode floor), the estimation alone (all the CPUs this process may use, and one thread), and
compose_cutout with foreground raw and estimate. The target (issue #19): estimation <= 0.5x the floor.

    /usr/bin/python3 bench/foreground/timing.py [--server build/cutout-server] [--model models/default.pt]

Writes bench/foreground/results/TIMING.json. The JPEGs and masks stay in .cache/bench-foreground.
Issue #15's bench/pipeline can fold this in: the JSON rows are per photo and per thread count.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import urllib.request

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "quality"))
import pipeline  # noqa: E402

CACHE = os.path.join(os.environ.get("CUTOUT_CACHE_DIR", os.path.join(ROOT, ".cache")))
SKIMAGE = os.path.join(CACHE, "bench-quality", "root", "usr/lib/python3/dist-packages/skimage/data")
PHOTOS = {"cat": ("chelsea.png", (4000, 3000)), "astronaut": ("astronaut.png", (3464, 3464))}


def model_mask(url, jpeg_path):
    with open(jpeg_path, "rb") as f:
        body = f.read()
    req = urllib.request.Request(url + "/remove-background?output=mask", data=body,
                                 headers={"Content-Type": "image/jpeg"}, method="POST")
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.read()


def prepare(server, model, work):
    """12 MP JPEGs and their model masks, made once."""
    os.makedirs(work, exist_ok=True)
    todo = []
    for name, (source, size) in PHOTOS.items():
        jpeg, mask = (os.path.join(work, f"{name}-12mp.{ext}") for ext in ("jpg", "mask.png"))
        if not os.path.isfile(jpeg):
            src = os.path.join(SKIMAGE, source)
            if not os.path.isfile(src):
                raise SystemExit(f"no {src}: run bench/quality/fetch_assets.sh")
            Image.open(src).convert("RGB").resize(size, Image.LANCZOS).save(jpeg, "JPEG", quality=90)
        if not os.path.isfile(mask):
            todo.append((jpeg, mask))
    if todo:
        with pipeline.start_server(server, model) as url:
            for jpeg, mask in todo:
                with open(mask, "wb") as f:
                    f.write(model_mask(url, jpeg))
    return {name: tuple(os.path.join(work, f"{name}-12mp.{ext}") for ext in ("jpg", "mask.png")) for name in PHOTOS}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default=os.path.join(ROOT, "build", "cutout-server"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "default.pt"))
    ap.add_argument("--tool", default=os.path.join(ROOT, "build", "cutout-foreground"))
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "TIMING.json"))
    args = ap.parse_args()
    files = prepare(args.server, args.model, os.path.join(CACHE, "bench-foreground"))
    rows = []
    for name, (jpeg, mask) in files.items():
        alpha = np.asarray(Image.open(mask))
        for threads in (0, 1):
            out = subprocess.run([args.tool, "time", jpeg, mask, "--runs", str(args.runs), "--threads", str(threads)],
                                 check=True, capture_output=True, text=True).stdout
            row = dict(json.loads(out), photo=name, fractional_share=round(float(((alpha > 0) & (alpha < 255)).mean()), 4))
            rows.append(row)
            print(f"{name:9s} threads {threads or 'all'}: decode floor {row['decode_floor_ms']:.1f} ms, "
                  f"estimate {row['estimate_ms']:.1f} ms ({row['estimate_over_decode']:.2f}x), "
                  f"compose raw {row['compose_raw_ms']:.1f} / estimate {row['compose_estimate_ms']:.1f} ms, "
                  f"fractional {100 * row['fractional_share']:.1f} %, estimated (settled < alpha < 255 - settled) "
                  f"{row['estimated_pixels']} px ({100 * row['estimated_pixels'] / alpha.size:.2f} %)")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"machine": {"cpus_usable": len(os.sched_getaffinity(0)), "processor": platform.processor(),
                               "python": platform.python_version()},
                   "target": "estimate_ms <= 0.5 * decode_floor_ms at 12 MP", "runs": args.runs, "rows": rows}, f, indent=1)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
