"""Deterministic composites with ground truth: alpha-channel icons pasted onto photographs.

Every composite is a function of (seed, index, the unpacked Debian packages): the random generator
is numpy's PCG64 seeded with [seed, index], file lists are sorted, and PIL does the resampling.
The JPEG is what gets uploaded (as users upload photos); the truth is the pasted alpha, 8-bit PNG.

Foregrounds: oxygen-icon-theme 256x256 icons (apps, devices, places, categories, actions),
trimmed to their alpha box, scaled (premultiplied, Lanczos) so the longest side is 30-65 % of the
picture's shorter side. Backgrounds: photographs only, cover-resized to the target size:
plasma-workspace-wallpapers' photographic wallpapers and skimage's texture photographs.
Sizes: 0.5 to 2.0 megapixels at common aspect ratios (both orientations).
"""
import os

import numpy as np
from PIL import Image

ICON_DIR = "usr/share/icons/oxygen/base/256x256"
ICON_GROUPS = ("apps", "devices", "places", "categories", "actions")
WALLPAPER_DIR = "usr/share/wallpapers"
# The photographs among the wallpapers without a salient subject of their own: EveningGlow (boats),
# FallenLeaf, Kite and OneStandsOut are left out, as are the illustrations, since a second "object"
# in the background would make the truth wrong rather than the model.
WALLPAPER_PHOTOS = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "Grey", "Path",
                    "summer_1am")
SKIMAGE_DIR = "usr/lib/python3/dist-packages/skimage/data"
SKIMAGE_PHOTOS = ("brick.png", "grass.png", "gravel.png", "hubble_deep_field.jpg")
ASPECTS = ((4, 3), (3, 2), (16, 9), (1, 1), (3, 4), (2, 3), (9, 16))


def _check_dir(path, hint):
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{path} is missing: {hint}")


def list_sources(assets_root):
    """Sorted foreground and background file lists found under the unpacked packages."""
    hint = "run bench/quality/fetch_assets.sh"
    _check_dir(os.path.join(assets_root, ICON_DIR), hint)
    fgs = []
    for group in ICON_GROUPS:
        d = os.path.join(assets_root, ICON_DIR, group)
        if os.path.isdir(d):
            fgs += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".png")]
    bgs = []
    for name in WALLPAPER_PHOTOS:
        d = os.path.join(assets_root, WALLPAPER_DIR, name, "contents", "images")
        _check_dir(d, hint)
        # the largest landscape version up to 2560 px wide: enough for 2 MP, cheap to decode
        files = []
        for f in os.listdir(d):
            stem = os.path.splitext(f)[0]
            w, h = (int(v) for v in stem.split("x"))
            if w >= h and w <= 2560:
                files.append((w * h, f))
        bgs.append(os.path.join(d, max(files)[1]))
    for name in SKIMAGE_PHOTOS:
        path = os.path.join(assets_root, SKIMAGE_DIR, name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} is missing: {hint}")
        bgs.append(path)
    return fgs, bgs


def _load_icon(path):
    """RGBA icon trimmed to its alpha box, or None when it is too thin or too faint to be an object."""
    im = Image.open(path).convert("RGBA")
    a = np.asarray(im)[..., 3]
    solid = a >= 128
    if solid.mean() < 0.12:  # mostly shadow or glow, or a thin glyph
        return None
    ys, xs = np.nonzero(a > 0)
    return im.crop((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))


def _cover(bg, w, h):
    """Resize-and-centre-crop bg to exactly w x h."""
    scale = max(w / bg.width, h / bg.height)
    size = (max(w, round(bg.width * scale)), max(h, round(bg.height * scale)))
    bg = bg.resize(size, Image.LANCZOS)
    left, top = (bg.width - w) // 2, (bg.height - h) // 2
    return bg.crop((left, top, left + w, top + h))


def make_composite(seed, index, fgs, bgs, min_mp=0.5, max_mp=2.0):
    """(RGB composite as PIL image, truth alpha as uint8 array, description dict, jpeg quality)."""
    rng = np.random.Generator(np.random.PCG64([seed, index]))
    aw, ah = ASPECTS[rng.integers(len(ASPECTS))]
    mp = rng.uniform(min_mp, max_mp) * 1e6
    h = int(round((mp * ah / aw) ** 0.5))
    w = int(round(h * aw / ah))
    bg_path = bgs[rng.integers(len(bgs))]
    bg = _cover(Image.open(bg_path).convert("RGB"), w, h)
    for _ in range(100):
        fg_path = fgs[rng.integers(len(fgs))]
        icon = _load_icon(fg_path)
        if icon is not None:
            break
    else:
        raise RuntimeError("no usable icon found in 100 draws")
    longest = rng.uniform(0.30, 0.65) * min(w, h)
    scale = longest / max(icon.size)
    size = (max(1, round(icon.width * scale)), max(1, round(icon.height * scale)))
    icon = icon.convert("RGBa").resize(size, Image.LANCZOS).convert("RGBA")  # premultiplied resize
    x = int(rng.integers(0, w - icon.width + 1))
    y = int(rng.integers(0, h - icon.height + 1))
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    layer.paste(icon, (x, y))
    out = bg.convert("RGBA")
    out.alpha_composite(layer)
    truth = np.asarray(layer)[..., 3].copy()
    quality = int(rng.integers(82, 96))
    desc = {"size": [w, h], "megapixels": round(w * h / 1e6, 3), "background": background_name(bg_path),
            "foreground": "/".join(fg_path.split(os.sep)[-2:]),
        "object_box": [x, y, icon.width, icon.height], "jpeg_quality": quality}
    return out.convert("RGB"), truth, desc, quality


def background_name(path):
    """Wallpaper directory name, or the skimage file name."""
    parts = path.split(os.sep)
    return parts[-4] if WALLPAPER_DIR in path else parts[-1]


def build_set(assets_root, out_dir, seed, count, min_mp=0.5, max_mp=2.0, prefix="q", backgrounds=None,
              indices=None):
    """Write count composites (JPEG + truth PNG) into out_dir; return their descriptions.

    backgrounds: optional subset of background names (see background_name) to draw from.
    indices: build these indices of the seed's sequence instead of 0 .. count-1.
    Cached: a composite whose files exist is not rebuilt (the name carries seed and index)."""
    import json
    os.makedirs(out_dir, exist_ok=True)
    fgs, bgs = list_sources(assets_root)
    if backgrounds is not None:
        bgs = [b for b in bgs if background_name(b) in backgrounds]
        if len(bgs) != len(set(backgrounds)):
            raise ValueError(f"unknown background in {backgrounds}")
    items = []
    for i in (range(count) if indices is None else indices):
        name = f"{prefix}{seed}-{i:03d}"
        jpg, png, js = (os.path.join(out_dir, name + ext) for ext in (".jpg", ".truth.png", ".json"))
        if not (os.path.isfile(jpg) and os.path.isfile(png) and os.path.isfile(js)):
            image, truth, desc, quality = make_composite(seed, i, fgs, bgs, min_mp, max_mp)
            image.save(jpg, "JPEG", quality=quality)
            Image.fromarray(truth, "L").save(png)
            with open(js, "w") as f:
                json.dump(desc, f, indent=1, sort_keys=True)
        with open(js) as f:
            desc = json.load(f)
        items.append(dict(desc, name=name, jpeg=jpg, truth=png))
    return items
