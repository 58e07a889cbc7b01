"""peer_model.py's load / warm-up / forward without its preprocessing (which needs Pillow and
numpy): used by peer_start.py only when the GPU machine's PyTorch comes without them. The loading
and the forward pass are the same steps as bench/baseline/peer_model.py; the start-up it times
lacks only the import of Pillow and numpy. peer_start.py records which one ran."""
import json
import os
import sys
from types import SimpleNamespace

import torch

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

KINDS = ("eager", "jit")
EXTRA_FILE = "cutout.json"


def load(kind, path, device="cpu", dtype="fp32", size=None):
    device = torch.device(device)
    dtype = {"fp32": torch.float32, "fp16": torch.float16}[dtype] if isinstance(dtype, str) else dtype
    out_index, activation = 0, "none"
    if kind == "eager":
        from models.inspyrenet.model import InSPyReNetSwinB
        size = int(size or 1024)
        module = InSPyReNetSwinB(size).eval()
        module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
        if dtype == torch.float16:
            from models.inspyrenet.export import prepare_for_export
            prepare_for_export(module)
        module = module.to(device=device, dtype=dtype)
        h = w = size
    elif kind == "jit":
        files = {EXTRA_FILE: ""}
        module = torch.jit.load(path, map_location=device, _extra_files=files).eval().to(dtype=dtype)
        meta = json.loads(files[EXTRA_FILE]) if files[EXTRA_FILE] else {}
        inp = meta.get("input", {"width": size or 1024, "height": size or 1024})
        h, w = inp["height"], inp["width"]
        out_index = meta.get("output", {}).get("index", 0)
        activation = meta.get("output", {}).get("activation", "none")
    else:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    return SimpleNamespace(module=module, device=device, dtype=dtype, height=h, width=w,
                           output_index=out_index, activation=activation)


def forward(m, x):
    with torch.inference_mode():
        out = m.module(x)
        if isinstance(out, (tuple, list)):
            out = out[m.output_index]
        out = out.float()
        if m.activation == "sigmoid":
            out = torch.sigmoid(out)
    if out.device.type == "cuda":
        torch.cuda.synchronize(out.device)
    return out


def warmup(m):
    forward(m, torch.zeros((1, 3, m.height, m.width), device=m.device, dtype=m.dtype))
