#!/usr/bin/env python3
"""The Python peer's start-up and forward timing, the counterpart of cutout-engine-bench: import
torch, load the model the peer's way (bench/baseline/peer_model.py: ``eager`` state dict or ``jit``
TorchScript), warm up, print READY (bench/gpu/compare.py timestamps that line), then time forward
passes at the model's size and print one JSON object.

    python3 bench/gpu/peer_start.py --kind jit --model FILE.pt --device cuda --precision fp16
"""
import time

T0 = time.perf_counter()  # before importing torch: its import is part of the peer's start-up

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402

T_TORCH = time.perf_counter()
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "baseline"))
try:
    import peer_model  # noqa: E402
    PEER_MODEL = "bench/baseline/peer_model.py"
except ModuleNotFoundError as missing:  # PIL or numpy (its preprocessing) absent on the GPU box
    import peer_model_minimal as peer_model  # noqa: E402
    PEER_MODEL = f"bench/gpu/peer_model_minimal.py (peer_model.py needs {missing.name})"


def ms(t):
    return (t - T0) * 1000.0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kind", choices=peer_model.KINDS, required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--size", type=int, default=None, help="eager only: the architecture's input size")
    p.add_argument("--device", default="cuda")
    p.add_argument("--precision", choices=["fp32", "fp16"], default="fp32")
    p.add_argument("--runs", type=int, default=10)
    a = p.parse_args()
    report = {"impl": f"python-{a.kind}", "model": a.model, "torch": torch.__version__,
              "device": a.device, "precision": a.precision,
              "intra_op_threads": torch.get_num_threads(), "peer_model": PEER_MODEL}
    t_imported = time.perf_counter()
    m = peer_model.load(a.kind, a.model, device=a.device, dtype=a.precision, size=a.size)
    if m.device.type == "cuda":
        torch.cuda.synchronize(m.device)
    t_loaded = time.perf_counter()
    peer_model.warmup(m)
    t_ready = time.perf_counter()
    print("READY", flush=True)

    x = (torch.rand(1, 3, m.height, m.width) * 4 - 2).to(device=m.device, dtype=m.dtype)
    forwards = []
    for _ in range(a.runs):
        t = time.perf_counter()
        peer_model.forward(m, x)  # synchronises on CUDA
        forwards.append((time.perf_counter() - t) * 1000.0)
    steady = statistics.median(forwards[1:] or forwards)
    report.update({
        "in_process_ms": {"torch_imported": ms(T_TORCH), "peer_imported": ms(t_imported),
                          "model_loaded": ms(t_loaded), "ready": ms(t_ready)},
        "input_size": [m.height, m.width],
        "forward_ms": forwards,
        "first_after_ready_ms": forwards[0],
        "steady_median_ms": steady,
        "first_over_steady": forwards[0] / steady,
    })
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
