#!/usr/bin/env python3
"""Make the cold-start benchmark's model files (once; cached):

* ``inspyrenet-1024-random.pth``: a float32 state dict of InSPyReNet-SwinB at 1024 with
  deterministic random weights (models/inspyrenet/export.py random_init, seed 0), the form and
  size (~367 MB) of transparent-background's ckpt_base.pth: what the eager peer loads;
* ``inspyrenet-1024-random.pt``: its TorchScript export (the same as
  ``models/export.py inspyrenet --random-init 0 --size 1024``), what cutout-server and the jit
  peer load.

    /usr/bin/python3 bench/coldstart/make_models.py --dir .cache/bench [--size 1024] [--seed 0]

Prints the two paths as JSON. Existing files are kept.
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

import torch  # noqa: E402

from models.inspyrenet import export as ins_export  # noqa: E402
from models.inspyrenet.model import InSPyReNetSwinB  # noqa: E402


def paths(directory, size, seed):
    stem = os.path.join(directory, f"inspyrenet-{size}-random{seed}")
    return stem + ".pth", stem + ".pt"


def make(directory, size=1024, seed=0):
    os.makedirs(directory, exist_ok=True)
    pth, pt = paths(directory, size, seed)
    if os.path.isfile(pth) and os.path.isfile(pt):
        return pth, pt
    t0 = time.time()
    torch.manual_seed(seed)
    model = InSPyReNetSwinB(size).eval()
    ins_export.random_init(model, seed)
    if not os.path.isfile(pth):
        torch.save(model.state_dict(), pth + ".partial")
        os.replace(pth + ".partial", pth)
        print(f"wrote {pth} ({os.path.getsize(pth) / 2**20:.1f} MiB, {time.time() - t0:.0f} s)", file=sys.stderr)
    if not os.path.isfile(pt):
        ins_export.export(model, size, pt)  # modifies model (deployment form): after the .pth
        print(f"wrote {pt} ({os.path.getsize(pt) / 2**20:.1f} MiB, {time.time() - t0:.0f} s)", file=sys.stderr)
    return pth, pt


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default=os.path.join(ROOT, ".cache", "bench"))
    p.add_argument("--size", type=int, default=1024, choices=[384, 1024])
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    pth, pt = make(a.dir, a.size, a.seed)
    print(json.dumps({"pth": pth, "pt": pt}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
