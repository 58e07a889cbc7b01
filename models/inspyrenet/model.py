"""InSPyReNet with the Swin-B backbone, as transparent-background 1.3.4 runs it for inference.

Written for cutout from the paper (Kim et al., "Revisiting Image Pyramid Structure for High
Resolution Salient Object Detection", ACCV 2022) and a reading of the public code. One forward
pass at the construction size (no low/high-resolution blending, as Remover uses it):

    backbone -> five features -> context modules -> decoder (H/8 map d3)
    SICA at H/4, H/2, H -> Laplacian residuals p2, p1, p0
    d2 = expand(d3) + p2, d1 = expand(d2) + p1, d0 = expand(d1) + p0
    pred = sigmoid(d0), min-max normalised (+1e-8) per image (the reference: over the whole
    tensor, the same at batch 1)

The state dict is exactly the published checkpoints' layout (1625 keys), see
shared/reference/inspyrenet_swinb_state_dict.json and tests/python/test_inspyrenet_layout.py.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import SICA, LaplacianPyramid, PyramidContext, PyramidDecoder
from .swin import SwinBackbone

BASE_SIZES = (384, 1024)
MODE_BY_SIZE = {384: "fast", 1024: "base"}


def _hw(size):
    if isinstance(size, (tuple, list)):
        return int(size[0]), int(size[1])
    return int(size), int(size)


class InSPyReNetSwinB(nn.Module):
    """InSPyReNet_SwinB(depth=64). ``base_size``: 1024 (modes base, base-nightly) or 384 (fast),
    an int or (height, width). It fixes SICA's pooling grid and the backbone's precomputed shift
    masks; the module accepts other input sizes in eager mode, but a trace is valid at one size."""

    def __init__(self, base_size=1024, depth=64):
        super().__init__()
        self.base_size = _hw(base_size)
        bh, bw = self.base_size
        channels = [128, 128, 256, 512, 1024]
        self.backbone = SwinBackbone(self.base_size, embed=128, depths=(2, 2, 18, 2),
                                     heads=(4, 8, 16, 32), window=12)
        for i, cin in enumerate(channels):
            self.add_module(f"context{i + 1}", PyramidContext(cin, depth))
        self.decoder = PyramidDecoder(3 * depth, depth)

        def stage(s):
            return (bh // 2 ** s, bw // 2 ** s)

        self.attention0 = SICA(depth, depth, stage(0), lmap_in=True)
        self.attention1 = SICA(2 * depth, depth, stage(1), lmap_in=True)
        self.attention2 = SICA(2 * depth, depth, stage(2), lmap_in=False)
        self.pyramid = LaplacianPyramid(7, 1.0)

    @staticmethod
    def _resize(x, size):
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    def saliency(self, x):
        """The saliency pyramid [d3, d2, d1, d0] (logits) for a normalised [B,3,H,W] input."""
        h, w = x.shape[2], x.shape[3]
        f1, f2, f3, f4, f5 = self.backbone(x)
        x1 = self.context1(f1)
        x2 = self.context2(f2)
        x3 = self.context3(f3)
        x4 = self.context4(f4)
        x5 = self.context5(f5)

        g3, d3 = self.decoder([x3, x4, x5])

        g3 = self._resize(g3, (h // 4, w // 4))
        g2, p2 = self.attention2(torch.cat([x2, g3], dim=1), d3)
        d2 = self.pyramid.reconstruct(d3, p2)

        x1 = self._resize(x1, (h // 2, w // 2))
        g2 = self._resize(g2, (h // 2, w // 2))
        g1, p1 = self.attention1(torch.cat([x1, g2], dim=1), d2, p2)
        d1 = self.pyramid.reconstruct(d2, p1)

        g1 = self._resize(g1, (h, w))
        _, p0 = self.attention0(g1, d1, p1)
        d0 = self.pyramid.reconstruct(d1, p0)
        return [d3, d2, d1, d0]

    def forward(self, x):
        """[B,3,H,W] normalised RGB -> [B,1,H,W] in [0, 1], min-max normalised per image.

        The reference normalises over the whole tensor, which it only ever runs at batch 1; per
        image is the same values at batch 1 (min and max are exact) and keeps the images of a
        batch independent of each other."""
        d0 = self.saliency(x)[-1]
        pred = torch.sigmoid(d0)
        lo = pred.amin(dim=(1, 2, 3), keepdim=True)
        hi = pred.amax(dim=(1, 2, 3), keepdim=True)
        return (pred - lo) / (hi - lo + 1e-8)
