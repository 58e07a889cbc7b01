"""models/reference.py, the transparent-background pipeline, checked with tiny TorchScript models
(no InSPyReNet forward: well under a second): size order, truncation, metadata and defaults,
EXIF handling of the command line.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

from models import cutout_meta, reference  # noqa: E402

PYTHON = os.environ.get("CUTOUT_PYTHON", sys.executable)


class Mix(torch.nn.Module):
    """Channel mix through a sigmoid: a probability map that depends on position and colour."""

    def forward(self, x):
        return torch.sigmoid(1.5 * x[:, 0:1] - 0.7 * x[:, 1:2] + 0.4 * x[:, 2:3])


class Constant(torch.nn.Module):
    def forward(self, x):
        return x[:, 0:1] * 0.0 + 0.999


def save(module, path, width, height, meta=True):
    traced = torch.jit.trace(module, torch.rand(1, 3, height, width))
    if meta:
        m = cutout_meta.make_metadata("tiny", width, height, cutout_meta.IMAGENET_MEAN, cutout_meta.IMAGENET_STD)
        torch.jit.save(traced, path, _extra_files=cutout_meta.extra_files(m))
    else:
        torch.jit.save(traced, path)


def test_image(width, height, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    a = np.stack([x * 255.0 / width, y * 255.0 / height, 128 + 60 * np.sin(x / 5.0)], -1)
    a = a + rng.normal(0, 25, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")


class ReferenceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="cutout-reference-")
        cls.mix = os.path.join(cls.work, "mix.pt")
        save(Mix(), cls.mix, width=32, height=24)
        cls.plain = os.path.join(cls.work, "plain.pt")
        save(Mix(), cls.plain, width=32, height=24, meta=False)
        cls.const = os.path.join(cls.work, "const.pt")
        save(Constant(), cls.const, width=16, height=16)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def expected(self, image, width, height):
        # transparent-background 1.3.4, static mode, written out step by step
        small = image.convert("RGB").resize((width, height), Image.BILINEAR)
        a = np.array(small, dtype=np.float32)
        a /= 255
        a -= [0.485, 0.456, 0.406]
        a /= [0.229, 0.224, 0.225]
        x = torch.from_numpy(a.transpose(2, 0, 1)).unsqueeze(0)
        pred = Mix()(x)
        pred = F.interpolate(pred, image.size[::-1], mode="bilinear", align_corners=True)
        return (pred.numpy().squeeze() * 255).astype(np.uint8)

    def test_mask_matches_the_steps(self):
        image = test_image(45, 37)
        mask = reference.reference_mask(self.mix, image)
        self.assertEqual(mask.dtype, np.uint8)
        self.assertEqual(mask.shape, (37, 45))
        np.testing.assert_array_equal(mask, self.expected(image, 32, 24))
        self.assertGreater(int(mask.max()) - int(mask.min()), 100)

    def test_metadata_sets_input_size(self):
        m = reference.load_model(self.mix)
        self.assertEqual((m.width, m.height), (32, 24))
        self.assertEqual(m.meta["name"], "tiny")

    def test_file_without_metadata_uses_defaults_and_input_size(self):
        m = reference.load_model(self.plain)
        self.assertEqual((m.width, m.height), (1024, 1024))
        self.assertIsNone(m.meta)
        image = test_image(50, 20)
        mask = reference.reference_mask(reference.load_model(self.plain, input_size=32), image)
        x = reference.preprocess(reference.load_model(self.plain, input_size=32), image)
        self.assertEqual(tuple(x.shape), (1, 3, 32, 32))
        self.assertEqual(mask.shape, (20, 50))

    def test_truncation_not_rounding(self):
        mask = reference.reference_mask(self.const, test_image(20, 10))
        self.assertTrue((mask == 254).all())  # 0.999 * 255 = 254.745

    def test_rgba(self):
        image = test_image(21, 13)
        rgba = reference.reference_rgba(self.mix, image)
        self.assertEqual(rgba.mode, "RGBA")
        a = np.array(rgba)
        np.testing.assert_array_equal(a[..., :3], np.array(image))
        np.testing.assert_array_equal(a[..., 3], reference.reference_mask(self.mix, image))

    def test_command_line_applies_exif_orientation(self):
        image = test_image(40, 30)
        exif = Image.Exif()
        exif[0x0112] = 6  # orientation: rotate 90 CW to display
        path = os.path.join(self.work, "rotated.jpg")
        image.save(path, "JPEG", quality=95, exif=exif.tobytes())
        out = os.path.join(self.work, "mask.png")
        r = subprocess.run([PYTHON, os.path.join(REPO, "models", "reference.py"), path, "--model", self.mix,
                            "--out", out], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with Image.open(out) as m:
            self.assertEqual(m.mode, "L")
            self.assertEqual(m.size, (30, 40))
        r = subprocess.run([PYTHON, os.path.join(REPO, "models", "reference.py"), path, "--model", self.mix,
                            "--out", out, "--no-exif-transpose"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with Image.open(out) as m:
            self.assertEqual(m.size, (40, 30))


class MetadataBounds(unittest.TestCase):
    """cutout_meta refuses what the server's metadata parser refuses (non-finite model inputs)."""

    def test_refuses_means_and_stds_the_server_refuses(self):
        ok = cutout_meta.make_metadata("x", 32, 32, cutout_meta.IMAGENET_MEAN, cutout_meta.IMAGENET_STD)
        self.assertEqual(ok["input"]["std"], list(cutout_meta.IMAGENET_STD))
        for mean, std in (([-1e39, 0, 0], [1, 1, 1]), ([0, 0, 0], [1e-9, 1, 1]),
                          ([0, 0, 0], [2000, 1, 1]), ([0, 0], [1, 1, 1])):
            with self.assertRaises(ValueError):
                cutout_meta.make_metadata("x", 32, 32, mean, std)


if __name__ == "__main__":
    unittest.main()

