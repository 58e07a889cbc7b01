#!/usr/bin/env python3
"""The GPU benchmark's model files, made on the machine itself (model files cannot travel with
the working tree, and that machine has no network): one deterministic random InSPyReNet-SwinB, one
trace, three files; and one deterministic random IS-Net.

* ``inspyrenet-SIZE-random.pth``: float32 state dict, the eager peer's checkpoint (the form of
  transparent-background's ckpt_base.pth);
* ``inspyrenet-SIZE-fp32.pt`` / ``inspyrenet-SIZE-fp16.pt``: the TorchScript export with float32
  and float16 stored weights (what ``models/export.py inspyrenet --random-init 0 --weights ...``
  writes), loaded by cutout's engine and the jit peer; the fp16 file (the shipped form, the one
  the probe runs) carries the golden probe's FP32 answer for the self-test step.

* ``isnet-random-fp16.pt``: IS-Net (models/isnet/model.py) with PyTorch's default initialisation
  from a fixed seed, traced and saved by models/isnet/convert.py's own trace() and save() (fp16
  weights, cutout.json at 1024x1024, the golden probe's answer): the shipped default model's
  architecture, graph and file form, without its weights (the ONNX cannot be fetched there). Timing does not depend on the
  weights' values: the same kernels run on the same shapes.

It uses models/inspyrenet/export.py's own steps (random_init, prepare_for_export, trace,
store_weights_as, metadata) but initialises and traces once instead of twice: on the GPU machine
every minute counts.

    python3 bench/gpu/make_models.py --size 1024 --dir /tmp/cutout-gpu-models
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

import torch  # noqa: E402

from models import cutout_meta, golden  # noqa: E402
from models.inspyrenet import export as ins  # noqa: E402
from models.inspyrenet.model import InSPyReNetSwinB  # noqa: E402
from models.isnet import convert as isnet_convert  # noqa: E402  (puts models/ on sys.path)
from isnet.model import ISNet  # noqa: E402


def _save(traced, size, dtype_name, path, with_golden=False):
    meta = ins.metadata(size, dtype_name)
    extra = cutout_meta.extra_files(meta)
    if with_golden:  # the self-test step's reference: one float32 CPU forward pass of the file
        extra.update(golden.extra_file(golden.golden_of_scripted(traced, meta)))
    torch.jit.save(traced, path + ".partial", _extra_files=extra)
    os.replace(path + ".partial", path)


def make(directory, size, seed=0):
    os.makedirs(directory, exist_ok=True)
    stem = os.path.join(directory, f"inspyrenet-{size}")
    files = {"pth": stem + "-random.pth", "fp32": stem + "-fp32.pt", "fp16": stem + "-fp16.pt"}
    if all(os.path.isfile(p) for p in files.values()):
        return files
    t0 = time.time()
    torch.manual_seed(seed)
    model = InSPyReNetSwinB(size).eval()
    ins.random_init(model, seed)
    torch.save(model.state_dict(), files["pth"])
    print(f"make_models: random init + state dict {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
    ins.prepare_for_export(model)  # changes the model: after the state dict is saved
    traced = ins.trace(model, size)
    print(f"make_models: traced {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
    _save(traced, size, "float32", files["fp32"])
    for name in ins.store_weights_as(traced, model, torch.float16):
        print(f"make_models: warning: {name} stays float32", file=sys.stderr)
    _save(traced, size, "float16", files["fp16"], with_golden=True)
    print(f"make_models: done {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
    return files


def make_isnet(directory, seed=0):
    """IS-Net with seeded default-initialised weights, in the converter's file form (fp16)."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "isnet-random-fp16.pt")
    if os.path.isfile(path):
        return path
    t0 = time.time()
    torch.manual_seed(seed)
    with torch.no_grad():
        traced = isnet_convert.trace(ISNet().eval())
    isnet_convert.save(traced, path, "fp16", {"source": f"random init (torch.manual_seed({seed}))",
                                              "converter": "bench/gpu/make_models.py"})
    print(f"make_models: IS-Net {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--size", type=int, default=1024, choices=[384, 1024])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", choices=["inspyrenet", "isnet"], help="make one model's files only")
    a = p.parse_args()
    files = {}
    if a.only != "isnet":
        files.update(make(a.dir, a.size, a.seed))
    if a.only != "inspyrenet":
        files["isnet"] = make_isnet(a.dir, a.seed)
    print(json.dumps({k: {"path": v, "bytes": os.path.getsize(v)} for k, v in files.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
