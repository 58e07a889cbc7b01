#!/usr/bin/env python3
"""Peak memory of one /remove-background request, per input format x output, at 0.5, 12 and 50 MP.

Each case runs in a fresh cutout-server (so one request's peak is not hidden by an earlier one's):
start, wait for ready, read VmHWM (the baseline: model, warm-up pass, threads), send one request,
read VmHWM again. The difference is the request's own peak, body included. The model is the
test fixture no_metadata.pt at --input-size 1024 (a one-layer convolution: the tensors around the
forward pass have a real model's sizes, its activations do not; those are the baseline's, since
one forward pass runs at a time). The per-pixel coefficients of service/memory_estimate.cpp come
from these figures (docs/security.md, "Memory budget").

    /usr/bin/python3 bench/memory/request_peak.py [--server build/cutout-server] [--sizes 0.5mp,12mp]
        [--out bench/results/request-peak-cpu.json]
"""
import argparse
import io
import json
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import benchutil  # noqa: E402

ROOT = benchutil.ROOT
# 50 MP stays just under the default --max-pixels (50,000,000).
SIZES = {"0.5mp": (944, 531), "12mp": (4608, 2592), "50mp": (9424, 5304)}
INPUTS = {  # name: (PIL format, save options, PIL mode)
    "jpeg": ("JPEG", {"quality": 90}, "RGB"),
    "png": ("PNG", {"compress_level": 1}, "RGB"),
    "png_rgba": ("PNG", {"compress_level": 1}, "RGBA"),
    "webp": ("WEBP", {"quality": 90}, "RGB"),
    "tiff": ("TIFF", {"compression": "tiff_lzw"}, "RGB"),
    "bmp": ("BMP", {}, "RGB"),
}
OUTPUTS = {  # name: query string
    "rgba_png": "output=rgba&format=png",
    "rgba_png_raw": "output=rgba&format=png&foreground=raw",
    "rgba_webp": "output=rgba&format=webp",
    "bg_jpeg": "output=rgba&bg_color=ffffff&format=jpeg",
    # The encoders alone, without foreground estimation's planes.
    "rgba_webp_raw": "output=rgba&format=webp&foreground=raw",
    "bg_jpeg_raw": "output=rgba&bg_color=ffffff&format=jpeg&foreground=raw",
    "mask_png": "output=mask&format=png",
    # The output side near zero: what decoding and the full-size mask alone cost.
    "in_only": "output=mask&format=png&max_side=64",
}


def picture(w, h):
    """A photo-like subject: a red disc on a blue-green ground, smooth shading and grain."""
    rng = np.random.default_rng(0)
    sw, sh = 1280, 720
    y, x = np.mgrid[0:sh, 0:sw].astype(np.float32)
    ground = np.stack([40 + 60 * y / sh, 110 + 60 * x / sw, 170 - 40 * y / sh], -1)
    d = np.sqrt((x - sw * 0.5) ** 2 + (y - sh * 0.55) ** 2) - sh * 0.3
    a = 1 / (1 + np.exp(np.clip(d / 3, -50, 50)))
    img = ground * (1 - a[..., None]) + np.array([210, 60, 40]) * a[..., None]
    big = np.asarray(Image.fromarray(img.astype(np.uint8)).resize((w, h), Image.BICUBIC), dtype=np.int16)
    big = big + rng.integers(-6, 7, big.shape, dtype=np.int16)
    return Image.fromarray(np.clip(big, 0, 255).astype(np.uint8))


def inputs(sizes, names, directory):
    out = {}
    os.makedirs(directory, exist_ok=True)
    for size in sizes:
        base = None
        for name in names:
            fmt, opts, mode = INPUTS[name]
            path = os.path.join(directory, f"{size}.{name}")
            if not os.path.isfile(path):
                base = base or picture(*SIZES[size])
                img = base if mode == "RGB" else base.convert("RGBA")
                if mode == "RGBA":  # a soft alpha edge, so the input alpha is used
                    alpha = np.full((img.height, img.width), 255, np.uint8)
                    alpha[: img.height // 8] = 128
                    img.putalpha(Image.fromarray(alpha))
                buf = io.BytesIO()
                img.save(buf, fmt, **opts)
                with open(path + ".partial", "wb") as f:
                    f.write(buf.getvalue())
                os.replace(path + ".partial", path)
            out[(size, name)] = path
    return out


def hwm_bytes(pid):
    _, hwm = benchutil.memory_mib(pid)
    return int(hwm * 1024 * 1024)


def one_case(server, model, path, query):
    port = benchutil.free_port()
    cmd = [server, "--model", model, "--device", "cpu", "--input-size", "1024", "--host", "127.0.0.1",
           "--port", str(port), "--max-body-bytes", str(1 << 30), "--log-format", "json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        benchutil.wait_port(port, proc, deadline_s=120)
        end = time.monotonic() + 120
        while benchutil.request(port, "GET", "/health")[0] != 200:
            if time.monotonic() > end:
                raise TimeoutError("not ready")
            time.sleep(0.05)
        before = hwm_bytes(proc.pid)
        with open(path, "rb") as f:
            body = f.read()
        t = time.monotonic()
        status, headers, data = benchutil.request(port, "POST", "/remove-background?" + query, body,
                                                  {"Content-Type": "application/octet-stream"})
        seconds = time.monotonic() - t
        after = hwm_bytes(proc.pid)
        return {"status": status, "baseline_hwm_bytes": before, "peak_hwm_bytes": after,
                "request_peak_bytes": after - before, "input_bytes": len(body), "output_bytes": len(data),
                "seconds": round(seconds, 3), "server_timing": benchutil.parse_server_timing(headers.get("server-timing", ""))}
    finally:
        benchutil.stop(proc)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default=os.path.join(ROOT, "build", "cutout-server"))
    p.add_argument("--model", default=os.path.join(ROOT, "build", "tests", "fixtures", "no_metadata.pt"))
    p.add_argument("--sizes", default="0.5mp,12mp,50mp")
    p.add_argument("--inputs", default="jpeg,png,png_rgba,webp")
    p.add_argument("--outputs", default="rgba_png,rgba_png_raw,rgba_webp,bg_jpeg,mask_png,in_only")
    p.add_argument("--dir", default=os.path.join(ROOT, ".cache", "bench", "memory"))
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "request-peak-cpu.json"))
    a = p.parse_args()
    sizes, names, outs = a.sizes.split(","), a.inputs.split(","), a.outputs.split(",")
    paths = inputs(sizes, names, a.dir)
    results = json.load(open(a.out)) if os.path.isfile(a.out) else {"cases": []}
    results["machine"] = benchutil.machine(a.server)
    results["model"] = os.path.relpath(a.model, ROOT) + " at --input-size 1024"
    done = {(c["size"], c["input"], c["output"]) for c in results["cases"]}
    for size in sizes:
        for name in names:
            for out in outs:
                if (size, name, out) in done:
                    continue
                r = one_case(a.server, a.model, paths[(size, name)], OUTPUTS[out])
                w, h = SIZES[size]
                r.update({"size": size, "input": name, "output": out, "width": w, "height": h,
                          "bytes_per_pixel": round(r["request_peak_bytes"] / (w * h), 2)})
                results["cases"].append(r)
                print(f"{size:6} {name:9} {out:13} {r['status']} peak {r['request_peak_bytes'] / 2**20:8.1f} MiB "
                      f"({r['bytes_per_pixel']:6.2f} B/px) in {r['input_bytes'] / 2**20:6.1f} MiB "
                      f"out {r['output_bytes'] / 2**20:6.1f} MiB {r['seconds']:.1f} s", flush=True)
                with open(a.out + ".partial", "w") as f:
                    json.dump(results, f, indent=1)
                os.replace(a.out + ".partial", a.out)


if __name__ == "__main__":
    main()
