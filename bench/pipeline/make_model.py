#!/usr/bin/python3
"""The pipeline benchmark's stand-in model: a TorchScript file whose forward pass costs next to
nothing, so a request's time is the CPU stages around it (bench/pipeline/run.py).

Its forward undoes the normalisation, takes the mean of the three channels (brightness in 0..1) and
maps it linearly to a probability: darker than 0.4 is background, brighter than 0.6 is subject, in
between partial. On the benchmark's pictures (make_images.py: a bright subject on a dark
background, blurred edges) that gives a [1, 1, 1024, 1024] mask with a soft band along the
subject's outline, as a real model gives, so foreground estimation and the encoders see the alpha
they would see in production. About 10 element-wise ops on 3 MP of floats: milliseconds, against
~300 ms for the tiny test fixture's convolution at 1024 (im2col) and seconds for IS-Net.

The file carries cutout.json (input 1024 x 1024, RGB, ImageNet mean/std, already a probability),
like models/default.pt, and a golden (models/golden.py), so the server starts with its usual
self-test. Made by a script, never committed:

    /usr/bin/python3 bench/pipeline/make_model.py OUT.pt [--size 1024]
"""
import argparse
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "models"))
import cutout_meta  # noqa: E402
import golden  # noqa: E402

LOW, HIGH = 0.4, 0.6  # brightness: at most LOW is background (0), at least HIGH is subject (1)


class Brightness(torch.nn.Module):
    """[1, 3, h, w] normalised input -> [1, 1, h, w] probability (a clamped ramp of brightness)."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("scale", torch.tensor(std).view(1, 3, 1, 1))
        self.register_buffer("shift", torch.tensor(mean).view(1, 3, 1, 1))

    def forward(self, x):
        brightness = (x * self.scale + self.shift).mean(dim=1, keepdim=True)
        return ((brightness - 0.4) * 5.0).clamp(0, 1)  # (b - LOW) / (HIGH - LOW), literal for TorchScript


def make(path, size=1024):
    """Write the model to `path` (atomically) and return the path."""
    mean, std = cutout_meta.IMAGENET_MEAN, cutout_meta.IMAGENET_STD
    meta = cutout_meta.make_metadata("pipeline-bench-brightness", size, size, mean, std)
    scripted = torch.jit.script(Brightness(mean, std).eval())
    files = cutout_meta.extra_files(meta)
    files.update(golden.extra_file(golden.golden_of_scripted(scripted, meta)))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.jit.save(scripted, path + f".{os.getpid()}.partial", _extra_files=files)
    os.replace(path + f".{os.getpid()}.partial", path)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--size", type=int, default=1024)
    a = p.parse_args()
    print(make(a.out, a.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
