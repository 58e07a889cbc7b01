#!/usr/bin/python3
"""Makes the attack suite's own model: nan_output.pt, a 32x32 model whose every output is NaN
(what a device fault or an FP16 overflow gives), with the same cutout.json as the test fixtures.
The test fixtures have only a one-NaN-pixel model with a golden, which a start-up self-test stops."""
import argparse
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "models"))
import cutout_meta  # noqa: E402


class AllNaN(torch.nn.Module):
    def forward(self, x):
        return x[:, 0:1] * float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="file to write")
    out = parser.parse_args().out
    meta = cutout_meta.make_metadata("nan-output", width=32, height=32, mean=cutout_meta.IMAGENET_MEAN,
                                     std=cutout_meta.IMAGENET_STD)
    torch.jit.save(torch.jit.script(AllNaN().eval()), out, _extra_files=cutout_meta.extra_files(meta))


if __name__ == "__main__":
    main()
