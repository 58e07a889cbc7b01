"""Foreground estimation quality: composites with known foreground colours and soft alpha.

Each case is I = alpha * F + (1 - alpha) * B, rounded to 8 bits, with F known:
  strands  hair-like: a head of flat alpha with a few hundred anti-aliased curved strands, drawn
           at 4x and area-averaged (coverage alpha), F a smooth hair-coloured field;
  fuzzy    a fur-like edge: an ellipse whose boundary is perturbed by noise and blurred over
           ~10 px, F a textured colour field;
  icon     real alpha mattes: Oxygen icons (Debian oxygen-icon-theme, anti-aliased, with soft
           shadows and glows), F the icon's own colours;
over photographs (plasma-workspace-wallpapers, from bench/quality/fetch_assets.sh).

Scores over the fractional band (0 < alpha < 1), in 8-bit levels: the colour error of alpha * F,
mean |alpha (F_est - F)| and its RMS, for
  raw            F_est = I (what cut-outs carried before, foreground=raw),
  cutout         build/cutout-foreground (src/imaging/foreground.cpp, the server's code, with its
                 default `settled` = 8: alpha <= 8 or >= 247 keeps the raw colour),
  reference      bench/foreground/reference.py (the same method in numpy, whole levels), the same rule,
  reference_all  the reference on every fractional pixel (settled = 0): what the rule costs,
and the largest difference between cutout and reference (8-bit levels, every pixel).

    /usr/bin/python3 bench/foreground/run.py [--tool build/cutout-foreground] [--sheet docs/foreground-contact-sheet.png]

Writes bench/foreground/results/RESULTS.json and the contact sheet: for a few cases, crops of the
cut-out laid on a dark and on a light colour, raw and estimated side by side; with
bench/foreground/timing.py's cached cat photo and model mask, a last row shows the cat (its model
matte, 1000 px wide) the same way.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import reference  # noqa: E402

ASSETS = os.path.join(os.environ.get("CUTOUT_CACHE_DIR", os.path.join(ROOT, ".cache")), "bench-quality", "root")
WALLPAPERS = ("DarkestHour", "ColorfulCups", "Path", "summer_1am", "BytheWater", "Kokkini")
ICONS = ("apps/preferences-desktop-display-color.png", "apps/kmail2.png", "places/folder-favorites.png",
         "apps/clock.png")
SETTLED = 8  # ForegroundOptions::settled's default
SIZE = (360, 270)  # w, h: small, the numpy reference sweeps whole levels


def background(name, seed):
    d = os.path.join(ASSETS, "usr/share/wallpapers", name, "contents/images")
    if not os.path.isdir(d):
        raise SystemExit(f"no wallpapers in {d}: run bench/quality/fetch_assets.sh")
    f = sorted(os.listdir(d))[0]
    img = cv2.imread(os.path.join(d, f), cv2.IMREAD_COLOR)
    rng = np.random.default_rng(seed)
    scale = SIZE[0] * rng.uniform(1.5, 2.5) / img.shape[1]
    img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    y = rng.integers(0, img.shape[0] - SIZE[1] + 1)
    x = rng.integers(0, img.shape[1] - SIZE[0] + 1)
    return img[y:y + SIZE[1], x:x + SIZE[0]].copy()


def smooth_field(rng, base, spread, sigma=25):
    """A smooth BGR colour field around `base` (0-255)."""
    noise = rng.normal(0, 1, (SIZE[1], SIZE[0], 3)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), sigma)
    noise /= noise.std() + 1e-6
    return np.clip(np.float32(base) + spread * noise, 0, 255)


def strands(seed, base):
    rng = np.random.default_rng(seed)
    s = 4
    canvas = np.zeros((SIZE[1] * s, SIZE[0] * s), np.uint8)
    cx, cy = SIZE[0] * s // 2, int(SIZE[1] * s * 0.62)
    cv2.ellipse(canvas, (cx, cy), (SIZE[0] * s // 5, SIZE[1] * s // 4), 0, 0, 360, 255, -1)
    for _ in range(400):
        angle = rng.uniform(np.pi * 1.05, np.pi * 1.95)
        r0 = rng.uniform(0.8, 0.95)
        x = cx + r0 * SIZE[0] * s / 5 * np.cos(angle)
        y = cy + r0 * SIZE[1] * s / 4 * np.sin(angle)
        length = rng.uniform(30, 110) * s
        bend = rng.normal(0, 0.6)
        pts = []
        for t in np.linspace(0, 1, 24):
            a = angle + bend * t
            pts.append((x + t * length * np.cos(a), y + t * length * np.sin(a)))
        cv2.polylines(canvas, [np.int32(np.round(pts))], False, 255, thickness=int(rng.integers(1, 4)),
                      lineType=cv2.LINE_AA)
    alpha = cv2.resize(canvas, SIZE, interpolation=cv2.INTER_AREA)
    return alpha, smooth_field(rng, base, 30)


def fuzzy(seed, base):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE[1], 0:SIZE[0]].astype(np.float32)
    d = np.sqrt(((xx - SIZE[0] / 2) / (SIZE[0] * 0.3)) ** 2 + ((yy - SIZE[1] / 2) / (SIZE[1] * 0.33)) ** 2)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (SIZE[1], SIZE[0])).astype(np.float32), (0, 0), 2)
    edge = (1 - d) * SIZE[1] * 0.33 + 6 * noise / (noise.std() + 1e-6)
    alpha = np.clip(edge / 10 + 0.5, 0, 1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 1.5)
    texture = smooth_field(rng, base, 45, sigma=6)
    return np.uint8(np.round(alpha * 255)), texture


def icon(path):
    p = os.path.join(ASSETS, "usr/share/icons/oxygen/base/256x256", path)
    rgba = cv2.imread(p, cv2.IMREAD_UNCHANGED)
    if rgba is None or rgba.shape[2] != 4:
        raise SystemExit(f"no RGBA icon at {p}: run bench/quality/fetch_assets.sh")
    alpha = np.zeros((SIZE[1], SIZE[0]), np.uint8)
    fg = np.zeros((SIZE[1], SIZE[0], 3), np.float32)
    y, x = (SIZE[1] - 256) // 2, (SIZE[0] - 256) // 2
    alpha[y:y + 256, x:x + 256] = rgba[..., 3]
    fg[y:y + 256, x:x + 256] = rgba[..., :3]
    # Where the icon is transparent its colour is undefined; no pixel there is scored.
    return alpha, fg


def cases():
    out = []
    hair = [(40, 60, 95), (90, 170, 215), (30, 70, 160), (180, 180, 185)]  # brown, blond, red, grey
    for i, base in enumerate(hair):
        alpha, fg = strands(100 + i, base)
        out.append((f"strands-{i}", alpha, fg, WALLPAPERS[i % len(WALLPAPERS)]))
    for i, base in enumerate([(60, 110, 150), (200, 200, 210), (50, 40, 40)]):
        alpha, fg = fuzzy(200 + i, base)
        out.append((f"fuzzy-{i}", alpha, fg, WALLPAPERS[(i + 2) % len(WALLPAPERS)]))
    for i, path in enumerate(ICONS):
        alpha, fg = icon(path)
        out.append((f"icon-{i}", alpha, fg, WALLPAPERS[(i + 4) % len(WALLPAPERS)]))
    return out


def scores(estimate, fg, alpha):
    band = (alpha > 0) & (alpha < 255)
    a = alpha[band].astype(np.float64)[:, None] / 255
    err = a * (estimate[band].astype(np.float64) - fg[band].astype(np.float64))
    return {"mean": round(float(np.abs(err).mean()), 3), "rms": round(float(np.sqrt((err ** 2).mean())), 3)}


def contact_sheet(rows, path):
    """rows: (name, alpha, raw, estimated) for a few cases; crops at 2x on dark and light colours."""
    tiles = []
    h, w = 110, 150
    for name, alpha, raw, est in rows:
        # The crop with the most mid-alpha pixels.
        mid = ((alpha > 40) & (alpha < 215)).astype(np.float32)
        density = cv2.boxFilter(mid, -1, (w, h), normalize=False, borderType=cv2.BORDER_CONSTANT)
        cy, cx = np.unravel_index(int(np.argmax(density)), density.shape)
        y0 = int(np.clip(cy - h // 2, 0, alpha.shape[0] - h))
        x0 = int(np.clip(cx - w // 2, 0, alpha.shape[1] - w))
        a = alpha[y0:y0 + h, x0:x0 + w, None].astype(np.float32) / 255
        cells = []
        for colour in ((30, 30, 30), (245, 245, 245)):
            for img in (raw, est):
                c = img[y0:y0 + h, x0:x0 + w].astype(np.float32)
                over = np.uint8(np.round(a * c + (1 - a) * np.float32(colour)))
                cells.append(cv2.resize(over, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST))
        row = np.concatenate([np.pad(c, ((4, 4), (4, 4), (0, 0)), constant_values=128) for c in cells], axis=1)
        tiles.append(row)
    sheet = np.concatenate(tiles, axis=0)
    header = np.full((36, sheet.shape[1], 3), 255, np.uint8)
    cw = sheet.shape[1] // 4
    for i, label in enumerate(("raw on dark", "estimated on dark", "raw on light", "estimated on light")):
        cv2.putText(header, label, (i * cw + 10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(path, np.concatenate([header, sheet], axis=0))


def cat_row(tool, tmp):
    """The cat photo with the model's matte (bench/foreground/timing.py's cache), 1000 px wide."""
    work = os.path.join(os.path.dirname(ASSETS), "..", "bench-foreground")
    jpeg, mask = os.path.join(work, "cat-12mp.jpg"), os.path.join(work, "cat-12mp.mask.png")
    if not (os.path.isfile(jpeg) and os.path.isfile(mask)):
        print("no cat row: run bench/foreground/timing.py first")
        return None
    image = cv2.imread(jpeg, cv2.IMREAD_COLOR)
    alpha = cv2.imread(mask, cv2.IMREAD_GRAYSCALE)
    size = (1000, image.shape[0] * 1000 // image.shape[1])
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    ip, ap_, op = (os.path.join(tmp, f"cat-{k}.png") for k in ("image", "alpha", "out"))
    cv2.imwrite(ip, image)
    cv2.imwrite(ap_, alpha)
    subprocess.run([tool, "estimate", ip, ap_, op], check=True)
    return ("cat", alpha, image, cv2.imread(op, cv2.IMREAD_COLOR))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool", default=os.path.join(ROOT, "build", "cutout-foreground"))
    ap.add_argument("--out", default=os.path.join(HERE, "results", "RESULTS.json"))
    ap.add_argument("--sheet", default=os.path.join(ROOT, "docs", "foreground-contact-sheet.png"))
    args = ap.parse_args()
    results, sheet_rows = [], []
    with tempfile.TemporaryDirectory(prefix="cutout-fg-") as tmp:
        for name, alpha, fg, wallpaper in cases():
            bg = background(wallpaper, sum(map(ord, name)))
            a = alpha.astype(np.float32)[..., None] / 255
            image = np.uint8(np.clip(np.round(a * fg + (1 - a) * bg.astype(np.float32)), 0, 255))
            ip, ap_, op = (os.path.join(tmp, f"{name}-{k}.png") for k in ("image", "alpha", "out"))
            cv2.imwrite(ip, image)
            cv2.imwrite(ap_, alpha)
            subprocess.run([args.tool, "estimate", ip, ap_, op], check=True)
            ours = cv2.imread(op, cv2.IMREAD_COLOR)
            ref_all = reference.to_uint8(reference.estimate_foreground(image, alpha))
            estimated = (alpha > SETTLED) & (alpha < 255 - SETTLED)
            ref = np.where(estimated[..., None], ref_all, image)
            band = (alpha > 0) & (alpha < 255)
            diff = int(np.abs(ours.astype(int) - ref.astype(int)).max())
            row = {"case": name, "background": wallpaper, "size": list(SIZE), "band_pixels": int(band.sum()),
                   "estimated_pixels": int(estimated.sum()),
                   "raw": scores(image, fg, alpha), "cutout": scores(ours, fg, alpha),
                   "reference": scores(ref, fg, alpha), "reference_all": scores(ref_all, fg, alpha),
                   "cutout_vs_reference_max": diff}
            results.append(row)
            print(f"{name:11s} band {row['band_pixels']:6d}  raw {row['raw']['mean']:6.2f}  "
                  f"cutout {row['cutout']['mean']:6.2f}  reference {row['reference']['mean']:6.2f}  "
                  f"reference_all {row['reference_all']['mean']:6.2f}  "
                  f"|cutout-ref| max {diff}")
            if name in ("strands-0", "strands-1", "fuzzy-1", "icon-1"):
                sheet_rows.append((name, alpha, image, ours))
        cat = cat_row(args.tool, tmp)
        if cat:
            sheet_rows.append(cat)
    summary = {}
    for group in ("strands", "fuzzy", "icon", ""):
        rows = [r for r in results if r["case"].startswith(group)]
        summary[group or "all"] = {k: round(float(np.mean([r[k]["mean"] for r in rows])), 3)
                                   for k in ("raw", "cutout", "reference", "reference_all")}
    print("mean over cases:", summary)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"method": "Germer et al. 2020 multi-level, defaults (foreground.hpp)",
                   "score": "colour error of alpha*F over 0<alpha<1, 8-bit levels",
                   "settled": SETTLED, "mean_over_cases": summary, "cases": results}, f, indent=1)
    contact_sheet(sheet_rows, args.sheet)
    print("wrote", args.out, "and", args.sheet)


if __name__ == "__main__":
    main()
