"""Check an exported InSPyReNet TorchScript file the way cutout-server will use it.

    /usr/bin/python3 -m models.inspyrenet.check FILE.pt [--device cuda] [--checkpoint CKPT.pth] [--image IMG]

Runs from the repo root. Every run converts the module like LibTorch's ``Module::to(dtype)`` does
(every parameter and buffer, integer ones included) and reports:

* float32 on the device: the baseline;
* float64 on the CPU (dtype-agnostic trace: no float32 constant baked in), difference to float32;
* float16 on CUDA when --device cuda: non-finite values and the difference to float32, i.e. what
  the server's default GPU precision costs for this checkpoint;
* with --checkpoint: the eager model (models/inspyrenet, the reference computation, not folded)
  built from the checkpoint, against the trace in float32 (bit-identical on the CPU expected).

Exit status 1 when a run fails or produces non-finite values.
"""
import argparse
import sys
import time

import torch

from .. import cutout_meta
from .export import load_checkpoint, normalise, synthetic_image
from .model import InSPyReNetSwinB


def convert_like_libtorch(module, device=None, dtype=None):
    """Cast every parameter and buffer (integers too), as torch::jit::Module::to does."""
    with torch.no_grad():
        for _, t in list(module.named_parameters()) + list(module.named_buffers()):
            t.data = t.data.to(device=device or t.device, dtype=dtype or t.dtype)
    return module


def _input(args, size):
    if args.image:
        from PIL import Image, ImageOps

        from .. import reference
        with Image.open(args.image) as im:
            im.load()
            image = ImageOps.exif_transpose(im)
        model = reference.Model(None, size[1], size[0], cutout_meta.IMAGENET_MEAN, cutout_meta.IMAGENET_STD)
        return reference.preprocess(model, image)
    return normalise(synthetic_image(size[0], size[1], seed=2024))


def _run(path, device, dtype, x):
    m = torch.jit.load(path, map_location=device).eval()
    convert_like_libtorch(m, device, dtype)
    t0 = time.time()
    with torch.no_grad():
        y = m(x.to(device=device, dtype=dtype))
        if device.type == "cuda":
            torch.cuda.synchronize()
    return y.float().cpu(), time.time() - t0


def _diff(a, b):
    d = (a - b).abs()
    return f"max {float(d.max()):.3e}, mean {float(d.mean()):.3e}, mask levels differing {(((a * 255).floor() != (b * 255).floor()).float().mean() * 100):.2f}%"


def main(argv=None):
    p = argparse.ArgumentParser(description="Check an exported InSPyReNet file (dtype, device, fp16, eager parity).")
    p.add_argument("model", help="TorchScript file written by models/export.py inspyrenet")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    p.add_argument("--checkpoint", help="compare with the eager model built from this checkpoint")
    p.add_argument("--image", help="use this image instead of a synthetic one")
    p.add_argument("--input-size", type=int, help="input size for files without cutout.json (default 1024)")
    args = p.parse_args(argv)

    meta = cutout_meta.read_metadata(args.model)
    if meta:
        size = (meta["input"]["height"], meta["input"]["width"])
    else:
        size = (args.input_size or 1024,) * 2
    print(f"{args.model}: metadata {meta if meta else 'none'}; input {size[1]}x{size[0]}; torch {torch.__version__}")
    device = torch.device(args.device)
    x = _input(args, size)
    ok = True

    y32, t = _run(args.model, device, torch.float32, x)
    ok &= bool(torch.isfinite(y32).all())
    print(f"float32 on {device}: {t:.2f} s, range [{float(y32.min()):.4f}, {float(y32.max()):.4f}], finite {bool(torch.isfinite(y32).all())}")

    y64, t = _run(args.model, torch.device("cpu"), torch.float64, x)
    ref_cpu = y32 if device.type == "cpu" else _run(args.model, torch.device("cpu"), torch.float32, x)[0]
    print(f"float64 on cpu: {t:.2f} s, vs float32 on cpu: {_diff(y64, ref_cpu)}")

    if device.type == "cuda":
        y16, t = _run(args.model, device, torch.float16, x)
        finite = bool(torch.isfinite(y16).all())
        ok &= finite
        print(f"float16 on {device}: {t:.2f} s, finite {finite}, vs float32: {_diff(y16, y32)}")

    if args.checkpoint:
        eager = load_checkpoint(InSPyReNetSwinB(size if size[0] != size[1] else size[0]).eval(), args.checkpoint)
        eager = eager.to(device)
        with torch.no_grad():
            ye = eager(x.to(device)).float().cpu()
        same = torch.equal(ye, y32)
        print(f"eager (checkpoint) vs trace, float32 on {device}: bit-identical {same}; {_diff(ye, y32)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
