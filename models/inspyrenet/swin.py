"""Swin Transformer backbone (the detection-style variant InSPyReNet uses), written for cutout.

The layout follows the published InSPyReNet checkpoints (keys under ``backbone.``); the computation
follows the shifted-window transformer as InSPyReNet runs it:

* patch embedding: 4x4 stride-4 convolution, LayerNorm over channels; its output is the first of the
  five features (no extra norm);
* every stage pads its token grid at the bottom/right to a multiple of the window (after norm1, with
  zeros) and the padded tokens take part in attention unmasked;
* odd blocks roll the grid by half a window and mask attention between tokens that came from
  different regions of the padded grid (additive -100 on the logits), even when the grid is a single
  window;
* each stage output goes through its own LayerNorm (norm0..norm3) and is returned as NCHW.

Device and dtype: forward() creates no tensor from a factory function, so a traced copy follows
``module.to(device)`` and ``module.to(dtype)``. The shift masks for the construction size are kept as
non-persistent buffers (not in state_dict) holding region labels; the relative position index is cast
to int64 where it is used, because LibTorch's ``Module::to(dtype)`` converts integer buffers too.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def _to_windows(t, ws):
    """[B, H, W, C] -> [B * nW, ws, ws, C], windows in row-major order of the window grid."""
    b, h, w, c = t.shape
    t = t.view(b, h // ws, ws, w // ws, ws, c)
    return t.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, c)


def _from_windows(win, ws, h, w):
    """Inverse of _to_windows: [B * nW, ws, ws, C] -> [B, H, W, C].

    The batch is left to view's -1 and the channels read from the tensor: a batch size computed
    here with int() would be baked into a trace as a constant (the trace at batch 1 would then
    refuse, or silently mis-shape, a batch of 2)."""
    c = win.shape[3]
    t = win.view(-1, h // ws, w // ws, ws, ws, c)
    return t.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, h, w, c)


def _band_labels(n, ws, shift):
    """Region label (0, 1, 2) of each row/column of a padded grid of length n under a cyclic shift."""
    return [0 if i < n - ws else (1 if i < n - shift else 2) for i in range(n)]


def shift_region_labels(hp, wp, ws, shift, device=None, dtype=torch.float32):
    """Region label of every token, grouped by window: [nW, ws*ws].

    Two tokens of one window may attend to each other only when their labels are equal. The grid is
    cut into 3 bands per axis, [0, n-ws), [n-ws, n-shift), [n-shift, n), exactly as the shifted
    window scheme does on the padded grid.
    """
    rows = torch.tensor(_band_labels(hp, ws, shift), dtype=dtype, device=device)
    cols = torch.tensor(_band_labels(wp, ws, shift), dtype=dtype, device=device)
    grid = rows.view(hp, 1) * 3 + cols.view(1, wp)
    return _to_windows(grid.view(1, hp, wp, 1), ws).view(-1, ws * ws)


class FeedForward(nn.Module):
    """Token MLP: Linear -> GELU (erf) -> Linear."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class WindowSelfAttention(nn.Module):
    """Multi-head self-attention inside square windows, with a learned relative position bias."""

    def __init__(self, dim, window, heads):
        super().__init__()
        self.dim = dim
        self.window = window
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        span = 2 * window - 1
        # Parameter first, then the index buffer, then the projections: the state_dict order.
        self.relative_position_bias_table = nn.Parameter(torch.zeros(span * span, heads))
        ys, xs = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
        ys, xs = ys.reshape(-1), xs.reshape(-1)
        dy = ys.view(-1, 1) - ys.view(1, -1) + (window - 1)
        dx = xs.view(-1, 1) - xs.view(1, -1) + (window - 1)
        self.register_buffer("relative_position_index", (dy * span + dx).to(torch.int64))
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.proj = nn.Linear(dim, dim)
        self.softmax = nn.Softmax(dim=-1)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x, labels=None):
        bw, n, c = x.shape
        qkv = self.qkv(x).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        index = self.relative_position_index.view(-1).long()
        bias = self.relative_position_bias_table[index].view(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        if labels is not None:
            nw = labels.shape[0]
            # -100 between tokens of different regions, 0 elsewhere, in the logits' dtype.
            mask = (labels.unsqueeze(1) - labels.unsqueeze(2) != 0).type_as(attn) * -100.0
            attn = attn.view(bw // nw, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, n, n)
        attn = self.softmax(attn)
        out = (attn @ v).transpose(1, 2).reshape(bw, n, c)
        return self.proj(out)


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, window, shift):
        super().__init__()
        self.window = window
        self.shift = shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowSelfAttention(dim, window, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = FeedForward(dim, 4 * dim)

    def forward(self, x, h, w, labels):
        b, l, c = x.shape
        ws = self.window
        skip = x
        t = self.norm1(x).view(b, h, w, c)
        pad_r = (ws - w % ws) % ws
        pad_b = (ws - h % ws) % ws
        t = F.pad(t, (0, 0, 0, pad_r, 0, pad_b))
        hp, wp = t.shape[1], t.shape[2]
        if self.shift > 0:
            t = torch.roll(t, shifts=(-self.shift, -self.shift), dims=(1, 2))
        else:
            labels = None
        win = _to_windows(t, ws).view(-1, ws * ws, c)
        win = self.attn(win, labels)
        t = _from_windows(win.view(-1, ws, ws, c), ws, hp, wp)
        if self.shift > 0:
            t = torch.roll(t, shifts=(self.shift, self.shift), dims=(1, 2))
        if pad_r > 0 or pad_b > 0:
            t = t[:, :h, :w, :].contiguous()
        x = skip + t.view(b, h * w, c)
        return x + self.mlp(self.norm2(x))


class PatchMerge(nn.Module):
    """2x2 neighbourhood concatenation (order: (0,0), (1,0), (0,1), (1,1)), LayerNorm, linear 4C->2C."""

    def __init__(self, dim):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x, h, w):
        b, l, c = x.shape
        t = x.view(b, h, w, c)
        if h % 2 == 1 or w % 2 == 1:
            t = F.pad(t, (0, 0, 0, w % 2, 0, h % 2))
        t = torch.cat([t[:, 0::2, 0::2, :], t[:, 1::2, 0::2, :],
                       t[:, 0::2, 1::2, :], t[:, 1::2, 1::2, :]], dim=-1)
        t = t.view(b, -1, 4 * c)
        return self.reduction(self.norm(t))


class SwinStage(nn.Module):
    def __init__(self, dim, depth, heads, window, merge, grid_hw):
        super().__init__()
        self.window = window
        self.shift = window // 2
        self.blocks = nn.ModuleList(
            [SwinBlock(dim, heads, window, 0 if i % 2 == 0 else window // 2) for i in range(depth)])
        self.downsample = PatchMerge(dim) if merge else None
        # Region labels for the grid this stage sees at the construction size: not part of the
        # checkpoint layout (persistent=False), but saved in a trace and moved by .to().
        h, w = grid_hw
        self.label_hw = (int(math.ceil(h / window)) * window, int(math.ceil(w / window)) * window)
        self.register_buffer("shift_labels",
                             shift_region_labels(self.label_hw[0], self.label_hw[1], window, self.shift),
                             persistent=False)

    def region_labels(self, h, w, ref):
        hp = int(math.ceil(h / self.window)) * self.window
        wp = int(math.ceil(w / self.window)) * self.window
        if (hp, wp) == self.label_hw:
            return self.shift_labels
        if torch.jit.is_tracing():
            raise RuntimeError("trace the model at the size it was constructed for (base_size)")
        return shift_region_labels(hp, wp, self.window, self.shift, device=ref.device, dtype=ref.dtype)

    def forward(self, x, h, w):
        labels = self.region_labels(h, w, x)
        for blk in self.blocks:
            x = blk(x, h, w, labels)
        if self.downsample is None:
            return x, x, h, w
        return x, self.downsample(x, h, w), (h + 1) // 2, (w + 1) // 2


class PatchEmbedding(nn.Module):
    def __init__(self, patch, cin, dim):
        super().__init__()
        self.patch = patch
        self.dim = dim
        self.proj = nn.Conv2d(cin, dim, kernel_size=patch, stride=patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        h, w = x.shape[2], x.shape[3]
        if w % self.patch != 0:
            x = F.pad(x, (0, self.patch - w % self.patch))
        if h % self.patch != 0:
            x = F.pad(x, (0, 0, 0, self.patch - h % self.patch))
        x = self.proj(x)
        gh, gw = x.shape[2], x.shape[3]
        x = self.norm(x.flatten(2).transpose(1, 2))
        return x.transpose(1, 2).view(-1, self.dim, gh, gw)


class SwinBackbone(nn.Module):
    """Returns five NCHW features: patch embedding (H/4) and the four stages (H/4 .. H/32)."""

    def __init__(self, base_hw, embed=128, depths=(2, 2, 18, 2), heads=(4, 8, 16, 32), window=12,
                 patch=4):
        super().__init__()
        self.dims = [embed * 2 ** i for i in range(len(depths))]
        self.patch_embed = PatchEmbedding(patch, 3, embed)
        grid = (-(-base_hw[0] // patch), -(-base_hw[1] // patch))
        self.layers = nn.ModuleList()
        for i, (depth, nh) in enumerate(zip(depths, heads)):
            self.layers.append(SwinStage(self.dims[i], depth, nh, window, i < len(depths) - 1, grid))
            grid = ((grid[0] + 1) // 2, (grid[1] + 1) // 2)
        for i, dim in enumerate(self.dims):
            self.add_module(f"norm{i}", nn.LayerNorm(dim))

    def forward(self, x):
        x = self.patch_embed(x)
        h, w = x.shape[2], x.shape[3]
        feats = [x.contiguous()]
        x = x.flatten(2).transpose(1, 2)
        for i, stage in enumerate(self.layers):
            out, x, nh, nw = stage(x, h, w)
            out = getattr(self, f"norm{i}")(out)
            feats.append(out.view(-1, h, w, self.dims[i]).permute(0, 3, 1, 2).contiguous())
            h, w = nh, nw
        return feats
