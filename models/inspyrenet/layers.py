"""InSPyReNet's convolutional parts, written for cutout: conv+BN units, axial self-attention, the
pyramid context module, the decoder, scale-invariant context attention (SICA) and the Laplacian
image-pyramid reconstruction.

Attribute names are those of the published checkpoints (``conv``/``bn``, ``Hattn``/``Wattn``,
``conv_query``...), so their state dicts load with strict=True. The computation reproduces the
reference in float32 op for op, quirks included:

* axial attention and SICA reinterpret NCHW memory with a raw ``.view`` (no permute);
* SICA resizes its inputs to a fixed ``stage_size = base_size // 2**stage`` before pooling the
  context, and pools with a sum over pixels (no mean);
* the decoder upsamples with align_corners=True; SICA resizes with align_corners=False;
* the pyramid's expand interleaves zeros, reflect-pads by 3 and convolves with 4x a 7x7 Gaussian
  (sigma 1); the residual is always resized (bilinear, align_corners=True) to the expanded size.

Reduced precision. SICA pools its context with a sum over every pixel of the stage (147,456 at
384, 1,048,576 at 1024), so the pooled values, and the running statistics of the BatchNorms that
read them, are far beyond float16's 65504. Two measures keep a float16 run finite without changing
float32 results beyond rounding:

* the pooling product and the axial attention logits are computed in float32 (``.float()``) and
  cast back with ``type_as``: no-ops in float32, identical to the reference;
* ``SICA.fold_pool_scale()`` (called by the export, not by checkpoint loading) scales the pooled
  sum down by a power of two near the pixel count and divides the two affected BatchNorms' running
  mean by it, their running variance and eps by its square: the same function, bit for bit in
  float32 (power-of-two scalings are exact), with values of ordinary size.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _same_padding(kernel, dilation):
    # The reference's rule: extent k + (k-1)(d-1), then extent//2 + (extent%2 - 1) per axis.
    pads = []
    for k, d in zip(kernel, dilation):
        extent = k + (k - 1) * (d - 1)
        pads.append(extent // 2 + (extent % 2 - 1))
    return tuple(pads)


class ConvBN(nn.Module):
    """Bias-free convolution with 'same' padding, optional BatchNorm and ReLU."""

    def __init__(self, cin, cout, kernel, dilation=1, bn=True, relu=False):
        super().__init__()
        kernel, dilation = _pair(kernel), _pair(dilation)
        self.conv = nn.Conv2d(cin, cout, kernel, stride=1, padding=_same_padding(kernel, dilation),
                              dilation=dilation, bias=False)
        nn.init.kaiming_normal_(self.conv.weight)
        self.bn = nn.BatchNorm2d(cout) if bn else None
        self.relu = nn.ReLU(inplace=True) if relu else None

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.relu is not None:
            x = self.relu(x)
        return x


class AxialAttention(nn.Module):
    """Self-attention along one axis ('h' or 'w'), residual scaled by a learned gamma.

    The projections are reshaped with a raw ``.view(b, -1, axis)`` of the NCHW result, as the
    reference does (for 'h' this is not a transpose: it is a reinterpretation of memory).
    """

    def __init__(self, channels, mode):
        super().__init__()
        self.mode = mode
        self.gamma = nn.Parameter(torch.zeros(1))
        self.query_conv = ConvBN(channels, channels // 8, 1)
        self.key_conv = ConvBN(channels, channels // 8, 1)
        self.value_conv = ConvBN(channels, channels, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        axis = 1
        if "h" in self.mode:
            axis *= h
        if "w" in self.mode:
            axis *= w
        q = self.query_conv(x).view(b, -1, axis).permute(0, 2, 1)
        k = self.key_conv(x).view(b, -1, axis)
        attn = torch.softmax(torch.bmm(q.float(), k.float()), dim=-1)
        v = self.value_conv(x).view(b, -1, axis)
        out = torch.bmm(v, attn.type_as(v).permute(0, 2, 1)).view(b, c, h, w)
        return self.gamma * out + x


class ContextKernel(nn.Module):
    """One receptive-field branch of the context module: 1x1, 1xr, rx1, axial attention, dilated 3x3."""

    def __init__(self, cin, cout, r):
        super().__init__()
        self.conv0 = ConvBN(cin, cout, 1)
        self.conv1 = ConvBN(cout, cout, (1, r))
        self.conv2 = ConvBN(cout, cout, (r, 1))
        self.conv3 = ConvBN(cout, cout, 3, dilation=r)
        self.Hattn = AxialAttention(cout, "h")
        self.Wattn = AxialAttention(cout, "w")

    def forward(self, x):
        x = self.conv2(self.conv1(self.conv0(x)))
        return self.conv3(self.Hattn(x) + self.Wattn(x))


class PyramidContext(nn.Module):
    """Context module applied to every backbone feature (PAA-e in the paper's code)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.relu = nn.ReLU(inplace=True)
        self.branch0 = ConvBN(cin, cout, 1)
        self.branch1 = ContextKernel(cin, cout, 3)
        self.branch2 = ContextKernel(cin, cout, 5)
        self.branch3 = ContextKernel(cin, cout, 7)
        self.conv_cat = ConvBN(4 * cout, cout, 3)
        self.conv_res = ConvBN(cin, cout, 1)

    def forward(self, x):
        cat = torch.cat((self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)), 1)
        return self.relu(self.conv_cat(cat) + self.conv_res(x))


class PyramidDecoder(nn.Module):
    """Fuses the three deepest context features at the resolution of the first (PAA-d)."""

    def __init__(self, cin, depth):
        super().__init__()
        self.conv1 = ConvBN(cin, depth, 3)
        self.conv2 = ConvBN(depth, depth, 3)
        self.conv3 = ConvBN(depth, depth, 3)
        self.conv4 = ConvBN(depth, depth, 3)
        self.conv5 = ConvBN(depth, 1, 3, bn=False)
        self.Hattn = AxialAttention(depth, "h")
        self.Wattn = AxialAttention(depth, "w")

    def forward(self, feats):
        size = feats[0].shape[-2:]
        ups = [feats[0]] + [F.interpolate(f, size=size, mode="bilinear", align_corners=True)
                            for f in feats[1:]]
        fx = self.conv1(torch.cat(ups[::-1], dim=1))
        fx = self.conv2(self.Hattn(fx) + self.Wattn(fx))
        fx = self.conv4(self.conv3(fx))
        return fx, self.conv5(fx)


class SICA(nn.Module):
    """Scale-invariant context attention: pools features into a few class contexts (foreground,
    background, uncertain; plus the previous level's Laplacian foreground/background when
    ``lmap_in``), attends from every pixel to them, and predicts a Laplacian residual."""

    def __init__(self, cin, depth, stage_size, lmap_in=False):
        super().__init__()
        self.depth = depth
        self.lmap_in = lmap_in
        self.ctx = 5 if lmap_in else 3
        self.stage_size = None if stage_size is None else (int(stage_size[0]), int(stage_size[1]))
        # Factor applied to the pooled context: 1 is the reference (a plain sum over pixels);
        # fold_pool_scale() makes it 1/pixels and compensates in the BatchNorms (export only).
        self.pool_scale = 1.0
        self.threshold = nn.Parameter(torch.tensor([0.5]))
        if lmap_in:
            self.lthreshold = nn.Parameter(torch.tensor([0.5]))
        self.conv_query = nn.Sequential(ConvBN(cin, depth, 3, relu=True), ConvBN(depth, depth, 3, relu=True))
        self.conv_key = nn.Sequential(ConvBN(cin, depth, 1, relu=True), ConvBN(depth, depth, 1, relu=True))
        self.conv_value = nn.Sequential(ConvBN(cin, depth, 1, relu=True), ConvBN(depth, depth, 1, relu=True))
        self.conv_out1 = ConvBN(depth, depth, 3, relu=True)
        self.conv_out2 = ConvBN(cin + depth, depth, 3, relu=True)
        self.conv_out3 = ConvBN(depth, depth, 3, relu=True)
        self.conv_out4 = ConvBN(depth, 1, 1)

    def fold_pool_scale(self):
        """Scale the pooled context down by S, the power of two nearest the stage's pixel count
        (so the sum becomes roughly a mean), and compensate in the BatchNorms that read it:
        conv_key[0] and conv_value[0] are bias-free 1x1 convolutions, so BN(W(c/S)) with mean/S,
        var/S^2 and eps/S^2 is BN(Wc) with the original statistics. S being a power of two, every
        one of those scalings is exact in binary floating point: float32 results stay bit-identical
        to the reference, and in float16 the pooled values and statistics stay finite. Needs a
        fixed stage_size. Idempotent."""
        if self.pool_scale != 1.0:
            return
        if self.stage_size is None:
            raise ValueError("fold_pool_scale needs a fixed stage_size")
        scale = 2.0 ** round(math.log2(self.stage_size[0] * self.stage_size[1]))
        with torch.no_grad():
            for seq in (self.conv_key, self.conv_value):
                bn = seq[0].bn
                bn.running_mean.div_(scale)
                bn.running_var.div_(scale * scale)
                bn.eps = bn.eps / (scale * scale)
        self.pool_scale = 1.0 / scale

    @staticmethod
    def _split(m, t):
        # positive part, negative part (each clipped to [0, 1]) of m - t
        d = m - t
        return d, torch.clip(d, 0, 1), torch.clip(-d, 0, 1)

    def forward(self, x, smap, lmap=None):
        b, c, h, w = x.shape
        smap = torch.sigmoid(F.interpolate(smap, size=(h, w), mode="bilinear", align_corners=False))
        p, fg, bg = self._split(smap, self.threshold)
        probs = [fg, bg, self.threshold - torch.abs(p)]
        if self.lmap_in and lmap is not None:
            lmap = torch.sigmoid(F.interpolate(lmap, size=(h, w), mode="bilinear", align_corners=False))
            _, lfg, lbg = self._split(lmap, self.lthreshold)
            probs += [lfg, lbg]
        prob = torch.cat(probs, dim=1)

        sh, sw = self.stage_size if self.stage_size is not None else (h, w)
        # Raw view of NCHW data as [b, pixels, channels], as the reference does.
        f = F.interpolate(x, size=(sh, sw), mode="bilinear", align_corners=False).view(b, sh * sw, -1)
        prob = F.interpolate(prob, size=(sh, sw), mode="bilinear", align_corners=False).view(b, self.ctx, sh * sw)
        # Sum over every pixel of the stage, in float32 whatever the model dtype (see module doc).
        context = torch.bmm(prob.float(), f.float())
        if self.pool_scale != 1.0:
            context = context * self.pool_scale
        context = context.type_as(x).permute(0, 2, 1).unsqueeze(3)

        query = self.conv_query(x).view(b, self.depth, -1).permute(0, 2, 1)
        key = self.conv_key(context).view(b, self.depth, -1)
        value = self.conv_value(context).view(b, self.depth, -1).permute(0, 2, 1)

        sim = torch.softmax((self.depth ** -0.5) * torch.bmm(query, key), dim=-1)
        ctx = torch.bmm(sim, value).permute(0, 2, 1).contiguous().view(b, -1, h, w)
        ctx = self.conv_out1(ctx)
        x = self.conv_out3(self.conv_out2(torch.cat([x, ctx], dim=1)))
        return x, self.conv_out4(x)


def gaussian_kernel_7x7(ksize=7, sigma=1.0):
    """The 2-D Gaussian OpenCV's getGaussianKernel(ksize, sigma) gives (outer product), as float32.

    Computed the way OpenCV does for sigma > 0 in double precision: exp(-0.5/sigma^2 * x * x) for
    x = i - (ksize-1)/2, scaled by 1/sum.
    """
    scale2 = -0.5 / (sigma * sigma)
    taps = [math.exp(scale2 * (i - (ksize - 1) * 0.5) * (i - (ksize - 1) * 0.5)) for i in range(ksize)]
    inv = 1.0 / sum(taps)
    taps = [t * inv for t in taps]
    k = torch.tensor(taps, dtype=torch.float64)
    return torch.outer(k, k).to(torch.float32).view(1, 1, ksize, ksize)


class LaplacianPyramid(nn.Module):
    """Expand (2x up) and reconstruct with a 7x7 Gaussian. The kernel is a non-persistent buffer:
    outside the checkpoint layout but moved and cast with the module."""

    def __init__(self, ksize=7, sigma=1.0):
        super().__init__()
        self.pad = ksize // 2
        self.register_buffer("kernel", gaussian_kernel_7x7(ksize, sigma), persistent=False)

    def expand(self, x):
        zero = x * 0.0  # zeros in x's dtype and device without a factory call
        x = F.pixel_shuffle(torch.cat([x, zero, zero, zero], dim=1), 2)
        x = F.pad(x, (self.pad,) * 4, mode="reflect")
        return F.conv2d(x, self.kernel * 4)

    def reconstruct(self, x, residual):
        up = self.expand(x)
        residual = F.interpolate(residual, size=up.shape[-2:], mode="bilinear", align_corners=True)
        return up + residual
