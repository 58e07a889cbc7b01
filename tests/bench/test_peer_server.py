"""The Python peer (bench/baseline) does the job it is compared on: started as a process on a tiny
fixture model, it opens its port, becomes ready, and answers /remove-background with the
reference pipeline's mask (models/reference.py); its eager loader builds InSPyReNet from a state
dict. Run by ctest (tests/bench/bench_tests.cmake) with CUTOUT_FIXTURE_DIR set."""
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench", "lib"))
sys.path.insert(0, os.path.join(ROOT, "bench", "baseline"))
sys.path.insert(0, ROOT)
import benchutil as bu  # noqa: E402
import peer_model  # noqa: E402
from models import reference  # noqa: E402

FIXTURES = os.environ.get("CUTOUT_FIXTURE_DIR", os.path.join(ROOT, "build", "tests", "fixtures"))
TINY = os.path.join(FIXTURES, "tiny.pt")


def picture():
    """Left half red, right half blue: the tiny model's mask tells them apart."""
    a = np.zeros((48, 64, 3), np.uint8)
    a[:, :32] = (220, 30, 30)
    a[:, 32:] = (30, 30, 220)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue(), Image.fromarray(a)


class PeerServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = bu.free_port()
        cls.log = tempfile.TemporaryFile()
        cls.proc = subprocess.Popen([bu.PYTHON, bu.PEER, "--kind", "jit", "--model", TINY, "--device", "cpu",
                                     "--port", str(cls.port)], stdout=cls.log, stderr=subprocess.STDOUT)
        bu.wait_port(cls.port, cls.proc, deadline_s=120)

    @classmethod
    def tearDownClass(cls):
        bu.stop(cls.proc)
        cls.log.close()

    def test_warmup_then_health_ready_with_timeline(self):
        status, _, body = bu.request(self.port, "GET", "/warmup?timeout_ms=60000")
        self.assertEqual(status, 200, body)
        t = json.loads(body)["since_process_start_ms"]
        self.assertLessEqual(t["load_started_ms"], t["model_loaded_ms"])
        self.assertLessEqual(t["model_loaded_ms"], t["ready_ms"])
        status, _, body = bu.request(self.port, "GET", "/health")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["status"], "ready")

    def test_mask_equals_reference(self):
        bu.request(self.port, "GET", "/warmup?timeout_ms=60000")
        data, image = picture()
        body, headers = bu.multipart(data, "p.png", "image/png")
        status, h, out = bu.request(self.port, "POST", "/remove-background?output=mask", body, headers)
        self.assertEqual(status, 200, out)
        self.assertIn("inference", bu.parse_server_timing(h["server-timing"]))
        mask = np.array(Image.open(io.BytesIO(out)))
        expected = reference.reference_mask(TINY, image)
        np.testing.assert_array_equal(mask, expected)
        self.assertGreater(int(mask[:, :32].mean()) - int(mask[:, 32:].mean()), 100)

    def test_rgba_raw_body_and_errors(self):
        bu.request(self.port, "GET", "/warmup?timeout_ms=60000")
        data, image = picture()
        status, _, out = bu.request(self.port, "POST", "/remove-background", data, {"Content-Type": "image/png"})
        self.assertEqual(status, 200)
        rgba = Image.open(io.BytesIO(out))
        self.assertEqual((rgba.mode, rgba.size), ("RGBA", image.size))
        status, _, out = bu.request(self.port, "POST", "/remove-background?colour=red", data, {"Content-Type": "image/png"})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(out)["error"]["type"], "unknown_parameter")


class PeerModelTest(unittest.TestCase):
    def test_eager_loads_a_state_dict_like_transparent_background(self):
        from models.inspyrenet.model import InSPyReNetSwinB
        src = InSPyReNetSwinB(384).eval()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ckpt.pth")
            import torch
            torch.save(src.state_dict(), path)
            m = peer_model.load("eager", path, "cpu", "fp32", 384)
        self.assertEqual((m.width, m.height), (384, 384))
        for (k, a), (k2, b) in zip(src.state_dict().items(), m.module.state_dict().items()):
            self.assertEqual(k, k2)
            self.assertTrue(torch.equal(a, b), k)

    def test_jit_predict_matches_reference(self):
        _, image = picture()
        m = peer_model.load("jit", TINY)
        peer_model.warmup(m)
        np.testing.assert_array_equal(peer_model.predict(m, image), reference.reference_mask(TINY, image))


if __name__ == "__main__":
    unittest.main()
