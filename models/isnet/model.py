"""IS-Net (DIS, "Highly Accurate Dichotomous Image Segmentation", Qin et al., ECCV 2022) in PyTorch.

Written for cutout from the paper's description and the layout of the published ONNX export:
a U^2-Net style encoder/decoder of Residual U-blocks (RSU). Only what inference needs is here:

* Batch normalisation is folded into the convolutions (the published ONNX carries folded
  weights), so each "conv + BN + ReLU" unit is a biased 3x3 convolution followed by ReLU.
* forward() returns only the fused main mask, sigmoid(side1) upsampled to the input size,
  shape [N, 1, H, W] in [0, 1]. The five deeper side heads (side2..side6) exist only for deep
  supervision during training; they are not built.

Attribute names follow the original project's naming (stage1.rebnconvin.conv_s1, ...) so that a
checkpoint or an export of it maps onto this module by name.

Nothing in forward() creates a tensor: every value derives from the input or the parameters, so a
scripted/traced copy follows module.to(device) and module.to(dtype).
"""
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F


def upsample_to(src: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Bilinear resize of src to ref's spatial size (half-pixel centres, as ONNX Resize half_pixel)."""
    return F.interpolate(src, size=ref.shape[2:], mode="bilinear", align_corners=False)


class ConvReLU(nn.Module):
    """3x3 convolution (batch norm folded into its weight and bias), then ReLU."""

    def __init__(self, cin: int, cout: int, dilation: int = 1):
        super().__init__()
        self.conv_s1 = nn.Conv2d(cin, cout, kernel_size=3, padding=dilation, dilation=dilation, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv_s1(x))


def _pool(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, kernel_size=2, stride=2, ceil_mode=True)


class RSU(nn.Module):
    """Residual U-block of a given height.

    Encoder: rebnconvin (cin -> cout), then rebnconv1 .. rebnconv{H}. In the pooled variant
    (RSU-7/6/5/4) a 2x2 max-pool precedes rebnconv2 .. rebnconv{H-1} and the innermost
    rebnconv{H} is dilated by 2. In the dilated variant (RSU-4F) there is no pooling and the
    dilation doubles at every level instead (1, 2, 4, 8).
    Decoder: rebnconv{H-1}d .. rebnconv1d, each on concat(deeper, skip) along channels; in the
    pooled variant the deeper map is first upsampled to the skip's size. The block returns
    decoder output + rebnconvin output.
    """

    def __init__(self, height: int, cin: int, cmid: int, cout: int, dilated: bool = False):
        super().__init__()
        if height < 3:
            raise ValueError("RSU height must be at least 3")
        self.height = height
        self.dilated = dilated
        self.rebnconvin = ConvReLU(cin, cout)
        for level in range(1, height + 1):
            cin_level = cout if level == 1 else cmid
            setattr(self, f"rebnconv{level}", ConvReLU(cin_level, cmid, self._dilation(level)))
        for level in range(height - 1, 0, -1):
            cout_level = cout if level == 1 else cmid
            setattr(self, f"rebnconv{level}d", ConvReLU(2 * cmid, cout_level, self._dilation(level)))

    def _dilation(self, level: int) -> int:
        if self.dilated:
            return 2 ** (level - 1)
        return 2 if level == self.height else 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Written with Python loops over named children: meant for torch.jit.trace, which unrolls them.
        top = self.rebnconvin(x)
        skips: List[torch.Tensor] = []
        h = top
        for level in range(1, self.height + 1):
            if not self.dilated and 2 <= level <= self.height - 1:
                h = _pool(h)
            h = getattr(self, f"rebnconv{level}")(h)
            skips.append(h)
        # skips[k-1] is the output of rebnconv{k}; the innermost one is the decoder's start.
        d = skips[-1]
        for level in range(self.height - 1, 0, -1):
            skip = skips[level - 1]
            if not self.dilated and level < self.height - 1:
                d = upsample_to(d, skip)
            d = getattr(self, f"rebnconv{level}d")(torch.cat((d, skip), 1))
        return d + top


class ISNet(nn.Module):
    """IS-Net (DIS) salient-object segmenter. Input [N, 3, H, W] normalised RGB; output [N, 1, H, W] mask."""

    # (name, height, in, mid, out, dilated)
    ENCODER = (
        ("stage1", 7, 64, 32, 64, False),
        ("stage2", 6, 64, 32, 128, False),
        ("stage3", 5, 128, 64, 256, False),
        ("stage4", 4, 256, 128, 512, False),
        ("stage5", 4, 512, 256, 512, True),
        ("stage6", 4, 512, 256, 512, True),
    )
    DECODER = (
        ("stage5d", 4, 1024, 256, 512, True),
        ("stage4d", 4, 1024, 128, 256, False),
        ("stage3d", 5, 512, 64, 128, False),
        ("stage2d", 6, 256, 32, 64, False),
        ("stage1d", 7, 128, 16, 64, False),
    )

    def __init__(self, in_channels: int = 3):
        super().__init__()
        # Stride-2 stem without activation; the original's pool after it is disabled, so stage1
        # works at half the input resolution.
        self.conv_in = nn.Conv2d(in_channels, 64, kernel_size=3, stride=2, padding=1, bias=True)
        for name, height, cin, cmid, cout, dilated in self.ENCODER + self.DECODER:
            setattr(self, name, RSU(height, cin, cmid, cout, dilated))
        self.side1 = nn.Conv2d(64, 1, kernel_size=3, padding=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        enc: List[torch.Tensor] = []
        for i, (name, *_rest) in enumerate(self.ENCODER):
            if i > 0:
                h = _pool(h)
            h = getattr(self, name)(h)
            enc.append(h)
        # Decoder: start from the deepest encoder output, climb back up through stage5d .. stage1d.
        d = enc[-1]
        for i, (name, *_rest) in enumerate(self.DECODER):
            skip = enc[len(enc) - 2 - i]
            d = getattr(self, name)(torch.cat((upsample_to(d, skip), skip), 1))
        return torch.sigmoid(upsample_to(self.side1(d), x))
