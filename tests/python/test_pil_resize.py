"""tests/parity/pil_resize.py reproduces Pillow's 8-bit BILINEAR resize bit for bit (the
specification for cutout-server's preprocessing), and a float resize does not. Under a second."""
import os
import sys
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "parity"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

import pil_resize  # noqa: E402


def picture(width, height, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    a = np.stack([128 + 100 * np.sin(x / 17.0 + y / 29.0), 128 + 90 * np.cos(x / 13.0 - y / 21.0),
                  x * 255.0 / width], -1) + rng.normal(0, 12, (height, width, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")


class PilResizeTest(unittest.TestCase):
    def test_bit_exact(self):
        cases = [((640, 480), (384, 384)), ((160, 120), (384, 384)), ((900, 300), (384, 384)),
                 ((1203, 901), (384, 384)), ((384, 384), (384, 384)), ((37, 500), (64, 96)),
                 ((500, 333), (1024, 1024)), ((1024, 768), (320, 200)), ((2000, 1500), (384, 384))]
        for i, ((w, h), (ow, oh)) in enumerate(cases):
            im = picture(w, h, i)
            expected = np.array(im.resize((ow, oh), Image.BILINEAR))
            got = pil_resize.resize_uint8(torch.from_numpy(np.array(im)), ow, oh).numpy()
            self.assertEqual(got.shape, expected.shape)
            self.assertEqual(int((got != expected).sum()), 0, f"{w}x{h} -> {ow}x{oh}")

    def test_rounded_float_resize_is_not_pillow(self):
        im = picture(640, 480, 0)
        expected = np.array(im.resize((384, 384), Image.BILINEAR))
        t = torch.from_numpy(np.array(im)).permute(2, 0, 1).unsqueeze(0).float()
        r = F.interpolate(t, size=(384, 384), mode="bilinear", align_corners=False, antialias=True)
        got = r.round().clamp(0, 255).to(torch.uint8)[0].permute(1, 2, 0).numpy()
        self.assertGreater(float((got != expected).mean()), 0.01)
        self.assertLessEqual(int(np.abs(got.astype(int) - expected.astype(int)).max()), 2)


if __name__ == "__main__":
    unittest.main()
