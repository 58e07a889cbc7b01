"""The Python peers' model code: load, warm up, predict. No web framework imported here, so a
start-up timing can use it on a machine that has PyTorch but not FastAPI (bench/gpu/).

Two ways a careful Python team loads the same weights today:

* ``eager``: build the project's InSPyReNet-SwinB (models/inspyrenet) and ``load_state_dict`` a
  transparent-background checkpoint (.pth, float32 state dict) on the CPU, then move it to the
  device, as transparent-background's Remover does;
* ``jit``: ``torch.jit.load`` the same TorchScript file cutout-server loads (map_location = the
  device), then convert to the working dtype.

Preprocessing and the mask are transparent-background's static mode, from models/reference.py
(PIL 8-bit bilinear resize, ImageNet normalisation in numpy, bilinear align_corners=True back to
the image size, truncation to 8 bits).

Interface (kept stable, bench/gpu/ imports it):

    m = load(kind, path, device="cpu", dtype=torch.float32, size=None)   # -> reference.Model
    warmup(m, size=None, device=None)                                      # one forward pass
    mask = predict(m, pil_image, size=None, device=None)                   # uint8 [H, W] numpy
    # predict's three steps, for a server that serialises only the forward pass:
    postprocess(forward(m, preprocess(m, pil_image)), pil_image)
"""
import os
import sys

import torch
import torch.nn.functional as F

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from models import reference  # noqa: E402  (after the path set-up)

KINDS = ("eager", "jit")
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "float32": torch.float32, "float16": torch.float16}


def _dtype(dtype):
    return DTYPES[dtype] if isinstance(dtype, str) else dtype


def _torch_load(path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch < 1.13 has no weights_only
        return torch.load(path, map_location="cpu")


def _load_eager(path, size, device, dtype):
    from models.inspyrenet.model import InSPyReNetSwinB

    size = int(size or reference.DEFAULT_INPUT_SIZE)
    module = InSPyReNetSwinB(size).eval()
    module.load_state_dict(_torch_load(path), strict=True)
    if dtype == torch.float16:
        # The checkpoint's SICA sums overflow float16; the exact rescaling the export applies
        # (models/inspyrenet/export.py prepare_for_export) keeps them finite.
        from models.inspyrenet.export import prepare_for_export
        prepare_for_export(module)
    module = module.to(device=device, dtype=dtype)
    return reference.Model(module, size, size, reference.IMAGENET_MEAN, reference.IMAGENET_STD)


def _load_jit(path, size, device, dtype):
    files = {reference.EXTRA_FILE: ""}
    module = torch.jit.load(path, map_location=device, _extra_files=files).eval()
    module = module.to(dtype=dtype)
    # Same preprocessing description as reference.load_model, without loading on the CPU first.
    meta_text = files[reference.EXTRA_FILE]
    if not meta_text:
        s = int(size or reference.DEFAULT_INPUT_SIZE)
        return reference.Model(module, s, s, reference.IMAGENET_MEAN, reference.IMAGENET_STD)
    import json
    meta = json.loads(meta_text)
    inp, out = meta["input"], meta.get("output", {})
    w, h = (int(size), int(size)) if size else (inp["width"], inp["height"])
    return reference.Model(module, w, h, inp["mean"], inp["std"], inp.get("channel_order", "RGB"),
                           out.get("index", 0), out.get("activation", "none"), meta)


def load(kind, path, device="cpu", dtype=torch.float32, size=None):
    """Load a peer model. ``kind``: eager (.pth state dict) or jit (TorchScript .pt).
    ``size``: model input size (eager: required to build, default 1024; jit: from cutout.json).
    Returns a models.reference.Model with .module, .width, .height and the preprocessing."""
    device = torch.device(device)
    dtype = _dtype(dtype)
    if kind == "eager":
        m = _load_eager(path, size, device, dtype)
    elif kind == "jit":
        m = _load_jit(path, size, device, dtype)
    else:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    m.device, m.dtype = device, dtype
    return m


def _forward(m, x):
    # reference.Model applies the output index and activation; inference_mode on top of its
    # no_grad is what a serving team would use.
    with torch.inference_mode():
        return m(x)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def warmup(m, size=None, device=None):
    """One forward pass at the model's input size on a neutral (zero after normalisation) input,
    as cutout-server's warm-up does. Returns when the device has finished."""
    device = torch.device(device) if device is not None else m.device
    h, w = (int(size), int(size)) if size else (m.height, m.width)
    x = torch.zeros((1, 3, h, w), device=device, dtype=m.dtype)
    _forward(m, x)
    _sync(device)


def preprocess(m, image, device=None):
    """PIL image -> the model's input tensor on its device and dtype (reference preprocessing)."""
    device = torch.device(device) if device is not None else m.device
    return reference.preprocess(m, image).to(device=device, dtype=getattr(m, "dtype", torch.float32))


def forward(m, x):
    """The model's probability map, float32 [1, 1, h, w], on its device (finished)."""
    out = _forward(m, x)
    _sync(out.device)
    return out


def postprocess(pred, image):
    """Probability map -> uint8 numpy mask [H, W] at the image's size (align_corners=True,
    truncation), as transparent-background does."""
    with torch.inference_mode():
        pred = F.interpolate(pred, (image.size[1], image.size[0]), mode="bilinear", align_corners=True)
        return (pred * 255).to(torch.uint8).squeeze().cpu().numpy()


def predict(m, image, size=None, device=None):
    """transparent-background's mask for a PIL image: uint8 numpy [H, W] at the image's size.
    ``size`` overrides the model's input size (only for models traced to accept it)."""
    if size and (int(size), int(size)) != (m.height, m.width):
        resized = reference.Model(m.module, size, size, m.mean, m.std, m.channel_order, m.output_index,
                                  m.activation, m.meta)
        resized.device, resized.dtype = m.device, m.dtype
        m = resized
    return postprocess(forward(m, preprocess(m, image, device)), image)
