"""The golden probe (models/golden.py) and the server's warm-up self-test on the real default model.

  * the probe is deterministic, natural-looking (a warm subject on a blue sky), and its server-side
    normalisation equals the reference pipeline's within float32 rounding;
  * a golden is refused when it cannot be compared (the server's checks, in step);
  * models/default.pt carries a golden, and cutout-server (CUTOUT_SERVER) on the CPU passes its
    self-test at fp32: /health says "passed" with the measured difference (one IS-Net forward pass
    at 1024, a few seconds). The InSPyReNet export's self-test runs in test_inspyrenet_export.
"""
import json
import os
import sys
import tempfile
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "models"))
sys.path.insert(0, os.path.join(ROOT, "bench", "quality"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import golden  # noqa: E402

MODEL = os.environ.get("CUTOUT_DEFAULT_MODEL", os.path.join(ROOT, "models", "default.pt"))
SERVER = os.environ.get("CUTOUT_SERVER", os.path.join(ROOT, "build", "cutout-server"))


def server_self_test(model_path, log_dir):
    """Start cutout-server on the CPU with one warm-up pass; return /health's self_test object."""
    import pipeline
    log = os.path.join(log_dir, os.path.basename(model_path) + ".log")
    with pipeline.start_server(SERVER, model_path, device="cpu", warmup_runs=1, log_path=log) as url:
        with urllib.request.urlopen(url + "/health", timeout=30) as r:
            return json.loads(r.read())["self_test"]


class ProbeTest(unittest.TestCase):
    def test_deterministic_and_picture_like(self):
        a = golden.probe_rgb(200, 150)
        self.assertEqual(a.shape, (150, 200, 3))
        self.assertEqual(a.dtype, np.uint8)
        self.assertTrue(np.array_equal(a, golden.probe_rgb(200, 150)))
        subject, sky = a[95, 100].astype(int), a[5, 5].astype(int)
        self.assertGreater(subject[0] - subject[2], 60)  # warm subject
        self.assertGreater(sky[2] - sky[0], 40)          # blue sky
        self.assertGreater(len(np.unique(a.reshape(-1, 3), axis=0)), 1000)  # texture, not flat areas

    def test_server_input_is_the_reference_normalisation(self):
        meta = {"input": {"width": 64, "height": 48, "channel_order": "RGB",
                          "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}
        x = golden.server_input(meta)
        rgb = golden.probe_rgb(64, 48).astype(np.float64) / 255
        ref = (rgb - np.array(meta["input"]["mean"])) / np.array(meta["input"]["std"])
        self.assertLess(float((x[0].permute(1, 2, 0).double() - torch.from_numpy(ref)).abs().max()), 1e-5)
        # BGR: the first input channel is blue, normalised with the first mean/std.
        meta["input"]["channel_order"] = "BGR"
        blue = (rgb[:, :, 2] - meta["input"]["mean"][0]) / meta["input"]["std"][0]
        self.assertLess(float((golden.server_input(meta)[0, 0].double() - torch.from_numpy(blue)).abs().max()), 1e-5)

    def test_refuses_what_the_server_refuses(self):
        good = {"format": 1, "probe": golden.PROBE, "precision": "float32", "output_size": [4, 4],
                "grid": [2, 2], "values": [0.1, 0.2, 0.3, 0.4], "min": 0.0, "max": 0.5, "mean": 0.25}
        golden.validate(dict(good))
        for bad in ({"probe": "other"}, {"values": [0.1]}, {"grid": [8, 2]}, {"mean": float("inf")},
                    {"output_size": [4, 9000]}):
            with self.assertRaises(ValueError, msg=str(bad)):
                golden.validate(dict(good, **bad))

    def test_a_nan_answer_makes_no_golden(self):
        meta = {"input": {"width": 8, "height": 8, "channel_order": "RGB", "mean": [0] * 3, "std": [1] * 3},
                "output": {"index": 0, "activation": "none"}}
        with self.assertRaises(ValueError):
            golden.make_golden(lambda x: x[:, :1] * float("nan"), meta)


@unittest.skipUnless(os.path.exists(MODEL), f"no default model at {MODEL} (scripts/make_default_model.sh)")
class DefaultModelTest(unittest.TestCase):
    def test_carries_a_golden(self):
        g = golden.read_golden(MODEL)
        self.assertIsNotNone(g, "models/default.pt has no cutout_golden.json: rerun scripts/make_default_model.sh")
        self.assertEqual(g["grid"], [64, 64])
        self.assertEqual(g["output_size"], [1024, 1024])
        # The probe's subject is found: foreground in the middle, background in the corners.
        values = np.array(g["values"]).reshape(64, 64)
        self.assertGreater(values[40, 32], 0.5)
        self.assertLess(values[2, 2], 0.5)

    @unittest.skipUnless(os.access(SERVER, os.X_OK), f"no cutout-server binary at {SERVER}")
    def test_server_self_test_passes_on_the_cpu(self):
        with tempfile.TemporaryDirectory() as tmp:
            t = server_self_test(MODEL, tmp)
        self.assertEqual(t["status"], "passed", t)
        self.assertLess(t["max_difference"], 1e-3, t)


if __name__ == "__main__":
    unittest.main()
