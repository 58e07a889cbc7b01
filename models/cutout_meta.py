"""The `cutout.json` metadata that cutout-server reads from a TorchScript archive.

A model file is self-describing: torch.jit.save(..., _extra_files={"cutout.json": ...}) stores this
document inside the archive, and the server reads it with torch::jit::load's extra-files map. One
schema for every model (InSPyReNet, ISNet, test fixtures), so it lives here, once.

Schema (format 1):
{
  "format": 1,
  "name": "inspyrenet-swinb",            # free text, shown in /health
  "mode": "fast",                         # optional, free text
  "input": {
    "width": 384, "height": 384,          # the size the model was traced at
    "channel_order": "RGB",               # "RGB" or "BGR"
    "mean": [0.485, 0.456, 0.406],        # applied as ((v / 255) - mean) / std per channel
    "std":  [0.229, 0.224, 0.225]
  },
  "output": {
    "index": 0,                           # which element when forward returns a tuple/list
    "activation": "none"                  # "none": already a probability in [0,1]; "sigmoid": logits
  },
  "weights_dtype": "float16",             # informational: the dtype stored in the file
  "fp32_modules": ["backbone.layers.3"]   # optional: submodules kept in float32 at any run precision
}                                         # (mixed precision decided at export, models/fp16_islands.py)

The golden probe's FP32 answer is a second extra file, cutout_golden.json (models/golden.py).
"""
import json

FORMAT = 1
EXTRA_FILE = "cutout.json"

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def make_metadata(name, width, height, mean, std, channel_order="RGB", output_index=0,
                  activation="none", mode=None, weights_dtype=None, fp32_modules=None):
    """Build a validated metadata dict."""
    if channel_order not in ("RGB", "BGR"):
        raise ValueError(f"channel_order must be RGB or BGR, not {channel_order!r}")
    if activation not in ("none", "sigmoid"):
        raise ValueError(f"activation must be none or sigmoid, not {activation!r}")
    # The server's bounds (src/engine/model_metadata.cpp): they keep every normalised input finite.
    if (len(mean) != 3 or len(std) != 3 or any(not -1000 <= m <= 1000 for m in mean)
            or any(not 1e-6 <= s <= 1000 for s in std)):
        raise ValueError("mean needs three values in -1000..1000, std three in 1e-6..1000")
    if width <= 0 or height <= 0:
        raise ValueError("input size must be positive")
    if fp32_modules is not None and (
            len(fp32_modules) > 4096
            or any(not isinstance(n, str) or not 1 <= len(n) <= 512 for n in fp32_modules)):
        raise ValueError("fp32_modules must be at most 4096 module paths of 1..512 characters")
    meta = {
        "format": FORMAT,
        "name": name,
        "input": {"width": int(width), "height": int(height), "channel_order": channel_order,
                  "mean": [float(m) for m in mean], "std": [float(s) for s in std]},
        "output": {"index": int(output_index), "activation": activation},
    }
    if mode is not None:
        meta["mode"] = mode
    if weights_dtype is not None:
        meta["weights_dtype"] = weights_dtype
    if fp32_modules:
        meta["fp32_modules"] = list(fp32_modules)
    return meta


def extra_files(meta):
    """The _extra_files argument for torch.jit.save."""
    return {EXTRA_FILE: json.dumps(meta, indent=2, sort_keys=True)}


def read_metadata(path):
    """Read the metadata back from a saved TorchScript file (None when absent)."""
    import torch
    files = {EXTRA_FILE: ""}
    torch.jit.load(path, map_location="cpu", _extra_files=files)
    text = files[EXTRA_FILE]
    return json.loads(text) if text else None
