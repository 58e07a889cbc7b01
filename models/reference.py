#!/usr/bin/env python3
"""The reference pipeline: what transparent-background 1.3.4's ``Remover.process`` does in static
mode with a PIL image, run on one of our TorchScript files. The parity test compares
cutout-server's masks with these.

Steps (transparent_background/Remover.py and utils.py at 63e3443, static resize):

1. the PIL image converted to RGB;
2. ``img.resize((W, H), Image.BILINEAR)`` to the model's input size, on the 8-bit image (PIL's
   bilinear filter widens with the scale factor, so shrinking antialiases);
3. ``np.array(img, dtype=np.float32)``, then in place ``/= 255``, ``-= mean``, ``/= std`` with the
   ImageNet mean/std (numpy semantics: the mean/std steps run in float64 and round to float32);
4. HWC -> CHW, batch of one, forward (float32, CPU here);
5. ``F.interpolate(pred, (H, W), mode="bilinear", align_corners=True)`` back to the image size;
6. ``mask = (pred * 255).astype(np.uint8)`` (truncation, not rounding);
7. rgba = the original RGB pixels with that mask as alpha.

Differences from transparent-background, on purpose:

* Its rgba output also replaces the RGB channels with pymatting's ``estimate_foreground_ml`` colour
  estimate (when pymatting is installed and no threshold is set). Not reproduced here, and not a
  requirement for cutout-server: only the mask is compared.
* It never applies EXIF orientation. cutout-server applies it before everything else, so for an
  EXIF-rotated file give this function ``ImageOps.exif_transpose(img)`` (the CLI's default).
* A numpy input takes another path in transparent-background (albumentations, cv2 INTER_LINEAR
  resize); that path is not the reference.

Library use:  ``reference_mask(module_or_path, pil_image) -> np.ndarray uint8 [H, W]``
Command line: ``/usr/bin/python3 models/reference.py --model FILE.pt IMAGE --out mask.png [--rgba out.png]``
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
DEFAULT_INPUT_SIZE = 1024  # InSPyReNet base, for files without cutout.json
EXTRA_FILE = "cutout.json"


class Model:
    """A loaded TorchScript model with the preprocessing its cutout.json (or the defaults) asks for."""

    def __init__(self, module, width, height, mean, std, channel_order="RGB", output_index=0,
                 activation="none", meta=None):
        self.module = module
        self.width, self.height = int(width), int(height)
        self.mean, self.std = list(mean), list(std)
        self.channel_order = channel_order
        self.output_index = output_index
        self.activation = activation
        self.meta = meta

    def __call__(self, x):
        with torch.no_grad():
            out = self.module(x)
        if isinstance(out, (tuple, list)):
            out = out[self.output_index]
        out = out.float()
        if self.activation == "sigmoid":
            out = torch.sigmoid(out)
        return out


def load_model(path, input_size=None):
    """Load a TorchScript file on the CPU in float32. Preprocessing comes from its cutout.json;
    without one, InSPyReNet's defaults (RGB, ImageNet mean/std, probability output) and
    ``input_size`` (default 1024), like cutout-server's --input-size."""
    files = {EXTRA_FILE: ""}
    module = torch.jit.load(path, map_location="cpu", _extra_files=files)
    module = module.float().eval()
    meta = json.loads(files[EXTRA_FILE]) if files[EXTRA_FILE] else None
    if meta is None:
        size = int(input_size or DEFAULT_INPUT_SIZE)
        return Model(module, size, size, IMAGENET_MEAN, IMAGENET_STD)
    inp, out = meta["input"], meta.get("output", {})
    width, height = inp["width"], inp["height"]
    if input_size is not None:
        width = height = int(input_size)
    return Model(module, width, height, inp["mean"], inp["std"], inp.get("channel_order", "RGB"),
                 out.get("index", 0), out.get("activation", "none"), meta)


def _as_model(model_or_path, input_size=None):
    if isinstance(model_or_path, Model):
        return model_or_path
    if isinstance(model_or_path, (str, os.PathLike)):
        return load_model(os.fspath(model_or_path), input_size)
    # a bare module (eager or TorchScript): InSPyReNet defaults
    size = int(input_size or DEFAULT_INPUT_SIZE)
    return Model(model_or_path, size, size, IMAGENET_MEAN, IMAGENET_STD)


def preprocess(model, image):
    """PIL image -> normalised float32 tensor [1, 3, h, w] exactly as the reference builds it."""
    img = image.convert("RGB").resize((model.width, model.height), Image.BILINEAR)
    a = np.array(img, dtype=np.float32)
    a /= 255
    a -= np.asarray(model.mean)
    a /= np.asarray(model.std)
    if model.channel_order == "BGR":
        a = np.ascontiguousarray(a[:, :, ::-1])
    return torch.from_numpy(a.transpose(2, 0, 1).copy()).unsqueeze(0)


def reference_probability(model_or_path, image, input_size=None):
    """The mask before quantisation: float32 [H, W] in [0, 1] at the image's size."""
    model = _as_model(model_or_path, input_size)
    pred = model(preprocess(model, image))
    pred = F.interpolate(pred, (image.size[1], image.size[0]), mode="bilinear", align_corners=True)
    return pred.numpy().squeeze()


def reference_mask(model_or_path, image, input_size=None):
    """transparent-background's alpha for a PIL image: uint8 [H, W] (truncated, not rounded).
    ``model_or_path``: a TorchScript file path, a Model from load_model, or a module (defaults)."""
    return (reference_probability(model_or_path, image, input_size) * 255).astype(np.uint8)


def reference_rgba(model_or_path, image, input_size=None):
    """RGBA PIL image: the original RGB with the reference mask as alpha (no foreground
    estimation, see the module docstring)."""
    mask = reference_mask(model_or_path, image, input_size)
    rgb = np.array(image.convert("RGB"))
    return Image.fromarray(np.dstack([rgb, mask]), "RGBA")


def main(argv=None):
    p = argparse.ArgumentParser(description="Reference (transparent-background static mode) mask for an image.")
    p.add_argument("image", help="input image file")
    p.add_argument("--model", required=True, help="TorchScript model file (ours, or a transparent-background jit file)")
    p.add_argument("--out", help="write the 8-bit mask PNG here")
    p.add_argument("--rgba", help="write the RGBA PNG (original RGB + mask) here")
    p.add_argument("--input-size", type=int, help="model input size for files without cutout.json (default 1024)")
    p.add_argument("--no-exif-transpose", action="store_true",
                   help="do not apply EXIF orientation first (transparent-background itself does not; cutout-server does)")
    args = p.parse_args(argv)
    if not (args.out or args.rgba):
        p.error("nothing to write: give --out and/or --rgba")
    model = load_model(args.model, args.input_size)
    with Image.open(args.image) as im:
        im.load()
        image = im if args.no_exif_transpose else ImageOps.exif_transpose(im)
    mask = reference_mask(model, image)
    if args.out:
        Image.fromarray(mask, "L").save(args.out)
    if args.rgba:
        rgb = np.array(image.convert("RGB"))
        Image.fromarray(np.dstack([rgb, mask]), "RGBA").save(args.rgba)
    print(f"{args.image}: {image.size[0]}x{image.size[1]}, model input {model.width}x{model.height}, "
          f"mask mean {mask.mean():.1f}/255")
    return 0


if __name__ == "__main__":
    sys.exit(main())
