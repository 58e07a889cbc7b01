"""The server's foreground estimation (src/imaging/foreground.cpp, through build/cutout-foreground)
against the numpy reference written from the paper (bench/foreground/reference.py), on small
synthetic images: the same 8-bit answer on every pixel, with and without the band (--whole).
The reference itself must give a flat foreground back from a flat composite.

Needs the built tool (CUTOUT_FOREGROUND_TOOL, default build/cutout-foreground).

    /usr/bin/python3 -m unittest tests/python/test_foreground_reference.py -v
"""
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench", "foreground"))
import reference  # noqa: E402

TOOL = os.environ.get("CUTOUT_FOREGROUND_TOOL", os.path.join(ROOT, "build", "cutout-foreground"))
SETTLED = 8  # ForegroundOptions::settled's default


def picture(w, h, seed):
    rng = np.random.default_rng(seed)
    noise = Image.fromarray(rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)).resize((w, h), Image.BICUBIC)
    return np.asarray(noise)


def soft_matte(w, h, seed):
    rng = np.random.default_rng(seed)
    im = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(im)
    d.ellipse((w * 0.2, h * 0.25, w * 0.7, h * 0.9), fill=255)
    for _ in range(40):  # strands
        x, y = rng.uniform(w * 0.3, w * 0.6), rng.uniform(h * 0.25, h * 0.4)
        d.line((x, y, x + rng.normal(0, 30), y - rng.uniform(20, 60)), fill=int(rng.integers(120, 256)), width=1)
    return np.asarray(im.filter(ImageFilter.GaussianBlur(1.2)))


class ForegroundReference(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(TOOL, os.X_OK):
            raise AssertionError(f"no cutout-foreground at {TOOL}: build it (cmake --build build --target cutout-foreground)")
        cls.tmp = tempfile.TemporaryDirectory(prefix="cutout-fg-test-")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def tool(self, image_rgb, alpha, *flags):
        ip, ap, op = (os.path.join(self.tmp.name, f) for f in ("i.png", "a.png", "o.png"))
        Image.fromarray(image_rgb).save(ip)
        Image.fromarray(alpha).save(ap)
        subprocess.run([TOOL, "estimate", ip, ap, op, *flags], check=True)
        return np.asarray(Image.open(op).convert("RGB"))

    def expected(self, image_rgb, alpha):
        F = reference.to_uint8(reference.estimate_foreground(image_rgb, alpha))
        estimated = (alpha > SETTLED) & (alpha < 255 - SETTLED)
        return np.where(estimated[..., None], F, image_rgb)

    def test_same_answer_as_the_reference(self):
        # 330 x 270 is over the dense limit (65536 pixels): the finest level sweeps only the band.
        for seed, (w, h) in enumerate([(330, 270), (97, 61), (1, 40)]):
            image, alpha = picture(max(w, 8), max(h, 8), seed)[:h, :w], soft_matte(w, h, seed)
            want = self.expected(image, alpha)
            for flags in ((), ("--whole",)):
                got = self.tool(image, alpha, *flags)
                worst = int(np.abs(got.astype(int) - want.astype(int)).max())
                self.assertLessEqual(worst, 1, f"{w}x{h} {flags}: largest difference {worst} levels")
                changed = int((got != image).any(axis=2).sum())
                if w > 1:
                    self.assertGreater(changed, 0, "the estimate changed nothing")

    def test_reference_gives_a_flat_foreground_back(self):
        alpha = np.tile(np.clip((np.arange(200) - 40) * 255 // 120, 0, 255).astype(np.uint8), (30, 1))
        fg, bg = np.array([220, 140, 30]), np.array([10, 60, 200])
        a = alpha[..., None] / 255.0
        image = np.uint8(np.round(a * fg + (1 - a) * bg))
        F = reference.to_uint8(reference.estimate_foreground(image, alpha))
        band = (alpha > 0) & (alpha < 255)
        self.assertLessEqual(int(np.abs(F[band].astype(int) - fg).max()), 1)


if __name__ == "__main__":
    unittest.main()
