"""models/fp16_check.py: the FP16 activation-range check and the FP32 islands it leads to.

A tiny model with one layer whose output leaves float16's range (x 1e5) and is scaled back after:
the check must keep that layer (and only it) in float32, the emulated float16 answer must be
broken without the island and right with it, and the wrapped, traced module must run with its
weights in float16 except the island's, as the server converts it (cutout.json's fp32_modules).
"""
import os
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

import torch  # noqa: E402

from models import fp16_check  # noqa: E402


class Loud(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 1)
        self.big = torch.nn.Conv2d(4, 4, 1)    # output ~1e5: beyond float16's 65504
        self.small = torch.nn.Conv2d(4, 1, 1)  # scales it back
        with torch.no_grad():
            self.big.weight.mul_(1e5)
            self.small.weight.mul_(1e-5)

    def forward(self, x):
        return torch.sigmoid(self.small(self.big(torch.relu(self.conv(x)))))


class Fp16CheckTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.model = Loud().eval()
        self.inputs = [torch.randn(1, 3, 16, 16) for _ in range(2)]

    def test_the_layer_beyond_the_range_is_kept_in_float32(self):
        r = fp16_check.check(self.model, self.inputs)
        self.assertEqual(r["fp32_modules"], ["big"])
        self.assertIn(">=", r["why"]["big"])
        self.assertGreater(r["stats"]["big"]["max_abs"], fp16_check.HEADROOM_LIMIT)
        self.assertLess(r["stats"]["conv"]["max_abs"], 100)
        self.assertGreater(r["emulated_fp16_max_diff"], 0.1)  # inf in float16, sigmoid saturates
        self.assertLess(r["emulated_mixed_max_diff"], 0.01)           # right with the island

    def test_islands_survive_tracing_and_the_servers_conversion(self):
        names = fp16_check.wrap_fp32_islands(self.model, ["big"])
        self.assertEqual(names, ["big.inner"])
        traced = torch.jit.trace(self.model, self.inputs[0])
        ref = traced(self.inputs[0])
        # What the server does at fp16: everything to half, then the listed islands back to float.
        traced = traced.to(torch.float16)
        traced.big.inner.float()
        self.assertEqual(traced.big.inner.weight.dtype, torch.float32)
        self.assertEqual(traced.conv.weight.dtype, torch.float16)
        # Float16 convolutions do not run on the CPU: check the graph's casts instead.
        graph = str(traced.big.graph)
        self.assertIn("aten::type_as", graph)
        self.assertEqual(tuple(ref.shape), (1, 1, 16, 16))


if __name__ == "__main__":
    unittest.main()
