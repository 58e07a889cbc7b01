"""The golden probe: a picture made from a formula and the FP32 answer a model file gives for it.

Every exported file carries ``cutout_golden.json`` next to ``cutout.json``. The server's warm-up
pass runs the same probe through its own preprocessing and the model, and compares (src/engine/
golden.cpp, src/engine/probe.cpp): a file whose answer on this device, at this precision, differs
from the one recorded at export is refused before it serves a single wrong mask.

The probe (``probe_rgb``) is integer arithmetic only, so Python and C++ make the same bytes (a unit
test compares them): a smooth sky-like gradient, a soft-edged warm ellipse (the "subject") with a
darker disc above it (the "head"), and a fixed pseudo-random texture of +-8 levels. It is made at
the model's input size, so the server's resize is an identity and the preprocessing is the
server's normalisation only.

Schema of cutout_golden.json (format 1):
{
  "format": 1,
  "probe": "cutout-probe-1",               # the formula's name; the server refuses others
  "precision": "float32",                  # what the reference was computed in (CPU, float32)
  "output_size": [h, w],                   # the model's output map
  "grid": [gh, gw],                        # area means of the probability map: min(64, h) x min(64, w)
  "values": [...],                         # gh * gw floats in [0, 1]-ish, row-major
  "min": m, "max": M, "mean": u            # over the whole output map
}
"""
import io
import json

import numpy as np
import torch
import torch.nn.functional as F

FORMAT = 1
PROBE = "cutout-probe-1"
EXTRA_FILE = "cutout_golden.json"
GRID = 64


def probe_rgb(width, height):
    """The probe picture: uint8 numpy array [height, width, 3], RGB. Integer arithmetic only (every
    division has a non-negative numerator, so Python's // and C++'s / agree); src/engine/probe.cpp
    is the same formula."""
    w, h = int(width), int(height)
    y = np.arange(h, dtype=np.int64).reshape(h, 1)
    x = np.arange(w, dtype=np.int64).reshape(1, w)
    u = x * 256 // w  # 0..255 across
    v = y * 256 // h  # 0..255 down
    # Background: blue-grey sky, lighter towards the top right.
    bg_r = 70 + u * 60 // 256 + 0 * v
    bg_g = 95 + (255 - v) * 50 // 256 + 0 * u
    bg_b = 120 + (255 - v) * 90 // 256 + u * 20 // 256
    # Subject: an ellipse, centre (w/2, 62% h), radii 28% w, 33% h; soft edge over 1/8 of d.
    cx, cy = w // 2, h * 62 // 100
    rx, ry = max(1, w * 28 // 100), max(1, h * 33 // 100)
    d1 = (x - cx) ** 2 * 256 // (rx * rx) + (y - cy) ** 2 * 256 // (ry * ry)
    a1 = np.clip((288 - d1) * 8, 0, 256)
    ob_r = 150 + v * 80 // 256 + 0 * u
    ob_g = 90 + u * 40 // 256 + 0 * v
    ob_b = 60 + v * 30 // 256 + 0 * u
    # Head: a disc above it, centre (w/2, 26% h), radius 13% of the smaller side.
    hx, hy = w // 2, h * 26 // 100
    rr = max(1, min(w, h) * 13 // 100)
    d2 = ((x - hx) ** 2 + (y - hy) ** 2) * 256 // (rr * rr)
    a2 = np.clip((288 - d2) * 8, 0, 256)
    hd_r, hd_g, hd_b = 110 + 0 * d2, 70 + 0 * d2, 50 + u * 20 // 256

    def blend(bg, fg, a):
        return (bg * (256 - a) + fg * a) // 256

    noise = (x * 7919 + y * 104729 + (x * y) % 97) % 17 - 8
    chans = []
    for bg, ob, hd in ((bg_r, ob_r, hd_r), (bg_g, ob_g, hd_g), (bg_b, ob_b, hd_b)):
        c = blend(blend(bg, ob, a1), hd, a2) + noise
        chans.append(np.clip(c, 0, 255))
    return np.stack(chans, axis=-1).astype(np.uint8)


def server_input(meta):
    """The probe as the server's preprocessing makes it (src/engine/tensor_pipeline.cpp): at the
    input size no resize, then v * (1 / (255 std)) + (-mean / std) per channel in float32, in the
    file's channel order. Returns float32 [1, 3, h, w]."""
    inp = meta["input"]
    rgb = probe_rgb(inp["width"], inp["height"])
    if inp.get("channel_order", "RGB") == "BGR":
        rgb = rgb[:, :, ::-1]
    x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).unsqueeze(0).float()
    std = np.asarray(inp["std"], dtype=np.float32)
    mean = np.asarray(inp["mean"], dtype=np.float32)
    scale = np.float32(1.0) / (np.float32(255.0) * std)
    shift = -mean / std
    return x * torch.from_numpy(scale).view(1, 3, 1, 1) + torch.from_numpy(shift).view(1, 3, 1, 1)


def probability(module, meta, x):
    """The model's mask for input ``x`` as the server reads it: the output element, the activation,
    float32 [1, 1, h, w]."""
    with torch.no_grad():
        out = module(x)
    if isinstance(out, (tuple, list)):
        out = out[meta["output"]["index"]]
    out = out.float()
    if out.dim() == 3:
        out = out.unsqueeze(0)
    if meta["output"]["activation"] == "sigmoid":
        out = torch.sigmoid(out)
    return out


def reduce(prob):
    """Area means on a grid of at most 64 x 64, plus min/max/mean: the part of an answer stored."""
    h, w = int(prob.shape[-2]), int(prob.shape[-1])
    gh, gw = min(GRID, h), min(GRID, w)
    pooled = F.adaptive_avg_pool2d(prob.float(), (gh, gw))
    return {"output_size": [h, w], "grid": [gh, gw],
            "values": [round(float(v), 6) for v in pooled.flatten()],
            "min": float(prob.min()), "max": float(prob.max()), "mean": float(prob.mean())}


def make_golden(module, meta):
    """The golden for a module (eager or TorchScript) and its cutout.json dict, computed on the CPU in
    float32. Raises ValueError when the answer is not finite (nothing to compare against)."""
    prob = probability(module, meta, server_input(meta))
    if not torch.isfinite(prob).all():
        raise ValueError("the model's FP32 answer on the probe holds NaN or Inf")
    golden = {"format": FORMAT, "probe": PROBE, "precision": "float32"}
    golden.update(reduce(prob))
    return validate(golden)


def golden_of_scripted(scripted, meta):
    """The golden of a TorchScript module as it will be saved (FP16-stored weights included): it is
    saved to memory, loaded back on the CPU and run in float32, as the server at --precision fp32."""
    buf = io.BytesIO()
    torch.jit.save(scripted, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf, map_location="cpu").float().eval()
    return make_golden(loaded, meta)


def validate(golden):
    """The server's checks (src/engine/golden.cpp), so no export writes a golden the server refuses.
    Returns ``golden``; raises ValueError."""
    if golden.get("format") != FORMAT or golden.get("probe") != PROBE:
        raise ValueError(f"golden must have format {FORMAT} and probe {PROBE!r}")
    gh, gw = golden["grid"]
    h, w = golden["output_size"]
    if not all(isinstance(v, int) for v in (gh, gw, h, w)) or not (1 <= h <= 8192 and 1 <= w <= 8192):
        raise ValueError("golden output_size must be two integers in 1..8192")
    if not (1 <= gh <= GRID and 1 <= gw <= GRID and gh <= h and gw <= w):
        raise ValueError("golden grid must be 1..64 per side and at most the output size")
    if len(golden["values"]) != gh * gw:
        raise ValueError("golden values must hold grid[0] * grid[1] numbers")
    for v in golden["values"] + [golden["min"], golden["max"], golden["mean"]]:
        if not (isinstance(v, (int, float)) and abs(v) <= 1e6):
            raise ValueError("golden values must be finite numbers within +-1e6")
    return golden


def extra_file(golden):
    """One entry for torch.jit.save's _extra_files."""
    return {EXTRA_FILE: json.dumps(golden, separators=(",", ":"), sort_keys=True)}


def read_golden(path):
    """The golden stored in a TorchScript file, or None."""
    files = {EXTRA_FILE: ""}
    torch.jit.load(path, map_location="cpu", _extra_files=files)
    return json.loads(files[EXTRA_FILE]) if files[EXTRA_FILE] else None
