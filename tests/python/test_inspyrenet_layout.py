"""InSPyReNet's state dict equals the published checkpoints' layout, and the pieces whose values
come from formulas (relative position index, shift masks, Gaussian kernel) equal the reference's
constructions. No forward pass: a few seconds.

Environment: CUTOUT_SHARED_DIR (default <repo>/../shared) holds reference/inspyrenet_swinb_state_dict.json.
"""
import json
import os
import sys
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import torch  # noqa: E402

from models.inspyrenet import InSPyReNetSwinB  # noqa: E402
from models.inspyrenet.layers import SICA, gaussian_kernel_7x7  # noqa: E402
from models.inspyrenet.swin import shift_region_labels  # noqa: E402

SHARED = os.environ.get("CUTOUT_SHARED_DIR", os.path.join(os.path.dirname(REPO), "shared"))
LAYOUT = os.path.join(SHARED, "reference", "inspyrenet_swinb_state_dict.json")


def _dtype_name(t):
    return str(t.dtype).replace("torch.", "")


class LayoutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.isfile(LAYOUT):
            raise unittest.SkipTest(f"reference layout not found: {LAYOUT} (set CUTOUT_SHARED_DIR)")
        with open(LAYOUT) as f:
            cls.ref = json.load(f)

    def check(self, base_size):
        model = InSPyReNetSwinB(base_size)
        sd = model.state_dict()
        params = {n for n, _ in model.named_parameters()}
        ref = self.ref["keys"]
        self.assertEqual(len(sd), len(ref))
        self.assertEqual(len(sd), self.ref["num_keys"])
        for i, ((key, t), e) in enumerate(zip(sd.items(), ref)):
            where = f"entry {i} ({e['key']})"
            self.assertEqual(key, e["key"], where)
            self.assertEqual(list(t.shape), e["shape"], where)
            self.assertEqual(_dtype_name(t), e["dtype"], where)
            self.assertEqual("parameter" if key in params else "buffer", e["kind"], where)
        n_params = sum(p.numel() for p in model.parameters())
        self.assertEqual(n_params, self.ref["total_parameter_count"])
        n_bytes = sum(t.numel() * t.element_size() for t in sd.values())
        self.assertEqual(n_bytes, self.ref["total_bytes"])
        self.assertEqual(sum(1 for k in sd if k in params), self.ref["num_parameter_keys"])
        # strict loading of a state dict with exactly that layout
        model.load_state_dict({k: v.clone() for k, v in sd.items()}, strict=True)

    def test_layout_1024(self):
        self.check(1024)

    def test_layout_384(self):
        self.check(384)


class FormulaTest(unittest.TestCase):
    def test_relative_position_index(self):
        # index[i, j] = (dy + w - 1) * (2w - 1) + (dx + w - 1), (dy, dx) = pos_i - pos_j, row-major tokens
        w = 12
        idx = InSPyReNetSwinB(384).backbone.layers[0].blocks[0].attn.relative_position_index
        pos = [(r, c) for r in range(w) for c in range(w)]
        expected = torch.tensor([[(pi[0] - pj[0] + w - 1) * (2 * w - 1) + (pi[1] - pj[1] + w - 1)
                                  for pj in pos] for pi in pos])
        self.assertTrue(torch.equal(idx, expected))
        self.assertEqual(int(idx.max()), (2 * w - 1) ** 2 - 1)

    def test_shift_mask(self):
        # The reference labels a padded Hp x Wp grid with 9 regions cut by the slices
        # [0, -w), [-w, -s), [-s, end) per axis, partitions it into windows and masks
        # token pairs with different labels. Rebuilt here with explicit slicing.
        w, s = 12, 6
        for hp, wp in [(96, 96), (12, 12), (264, 264), (72, 84)]:
            grid = torch.zeros(hp, wp)
            cnt = 0
            for hs in (slice(0, -w), slice(-w, -s), slice(-s, None)):
                for ws in (slice(0, -w), slice(-w, -s), slice(-s, None)):
                    grid[hs, ws] = cnt
                    cnt += 1
            win = grid.view(hp // w, w, wp // w, w).permute(0, 2, 1, 3).reshape(-1, w * w)
            ref_mask = (win.unsqueeze(1) - win.unsqueeze(2)) != 0
            labels = shift_region_labels(hp, wp, w, s)
            ours = (labels.unsqueeze(1) - labels.unsqueeze(2)) != 0
            self.assertTrue(torch.equal(ours, ref_mask), f"{hp}x{wp}")

    def test_gaussian_kernel_matches_opencv(self):
        try:
            import cv2
            import numpy as np
        except ImportError:
            self.skipTest("opencv not installed")
        k = cv2.getGaussianKernel(7, 1)
        ref = torch.tensor(np.outer(k, k)).float().view(1, 1, 7, 7)
        self.assertTrue(torch.equal(gaussian_kernel_7x7(7, 1.0), ref))

    def test_stage_sizes_follow_base_size(self):
        for base in (384, 1024):
            m = InSPyReNetSwinB(base)
            self.assertEqual(m.attention0.stage_size, (base, base))
            self.assertEqual(m.attention1.stage_size, (base // 2, base // 2))
            self.assertEqual(m.attention2.stage_size, (base // 4, base // 4))
            self.assertEqual([l.label_hw for l in m.backbone.layers],
                             [(-(-base // 4 // 12) * 12,) * 2, (-(-base // 8 // 12) * 12,) * 2,
                              (-(-base // 16 // 12) * 12,) * 2, (-(-base // 32 // 12) * 12,) * 2])

    def test_fold_pool_scale_is_exact(self):
        # SICA in deployment form (export) computes the same function bit for bit in float32.
        torch.manual_seed(0)
        sica = SICA(128, 64, (48, 40), lmap_in=False).eval()
        with torch.no_grad():
            for m in sica.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.uniform_(-3e4, 3e4)
                    m.running_var.uniform_(1e6, 1e8)
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.5, 0.5)
        x = torch.rand(1, 128, 48, 40)
        smap = torch.randn(1, 1, 24, 20) * 3
        with torch.no_grad():
            f1, p1 = sica(x, smap)
            sica.fold_pool_scale()
            self.assertNotEqual(sica.pool_scale, 1.0)
            self.assertLess(float(sica.conv_key[0].bn.running_var.max()), 65504)
            f2, p2 = sica(x, smap)
        self.assertTrue(torch.equal(f1, f2))
        self.assertTrue(torch.equal(p1, p2))


if __name__ == "__main__":
    unittest.main()
