"""Ways to get a mask for a JPEG, and the two scores.

ServerBackend    POST /remove-background?output=mask to a running cutout-server (the real thing).
start_server     runs build/cutout-server on a free local port until GET /health says ready.
PythonBackend    the server's documented pipeline re-done in Python (src/engine/tensor_pipeline.cpp):
                 decode, channel order from cutout.json, bilinear resize with antialias to the model
                 size, round, ((v/255)-mean)/std, forward, bilinear (align_corners) back to the
                 image size, x255 truncated to uint8. For runs where the server is not built, and to
                 check the metadata itself; it is not a substitute for testing the server.
"""
import contextlib
import io
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import numpy as np
from PIL import Image


def iou_at_half(pred, truth):
    """IoU of pred >= 128 and truth >= 128 (both uint8). 1.0 when both are empty."""
    p, t = pred >= 128, truth >= 128
    union = np.logical_or(p, t).sum()
    return 1.0 if union == 0 else float(np.logical_and(p, t).sum() / union)


def mae(pred, truth):
    return float(np.abs(pred.astype(np.float64) - truth.astype(np.float64)).mean() / 255.0)


def decode_mask(png_bytes, size):
    im = Image.open(io.BytesIO(png_bytes))
    if im.size != tuple(size):
        raise RuntimeError(f"mask is {im.size[0]}x{im.size[1]}, the input was {size[0]}x{size[1]}")
    if im.mode not in ("L", "I;16", "I"):
        raise RuntimeError(f"mask PNG mode {im.mode}, expected 8-bit grayscale")
    return np.asarray(im.convert("L"))


class ServerBackend:
    def __init__(self, url, timeout=300):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.name = f"cutout-server at {self.url}"

    def health(self):
        with urllib.request.urlopen(self.url + "/health", timeout=10) as r:
            body = r.read()
        try:
            return json.loads(body)
        except ValueError:
            return {"raw": body.decode("utf-8", "replace")}

    def mask(self, jpeg_bytes, size):
        req = urllib.request.Request(self.url + "/remove-background?output=mask", data=jpeg_bytes,
                                     headers={"Content-Type": "image/jpeg"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return decode_mask(r.read(), size)
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"HTTP {e.code} from the server: {e.read()[:500]!r}") from None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def start_server(binary, model, device="cpu", warmup_runs=1, ready_timeout=300, log_path=None):
    """Run cutout-server on a free local port; yield its base URL once /health answers 200."""
    if not os.access(binary, os.X_OK):
        raise FileNotFoundError(f"no cutout-server binary at {binary} (build it first)")
    port = free_port()
    cmd = [binary, "--model", model, "--port", str(port), "--host", "127.0.0.1", "--device", device,
           "--warmup-runs", str(warmup_runs)]
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"cutout-server exited with status {proc.returncode} before it was "
                                   f"ready ({' '.join(cmd)}){'; log: ' + log_path if log_path else ''}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                pass
            if time.time() > deadline:
                raise RuntimeError(f"cutout-server not ready after {ready_timeout} s")
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if log_path:
            log.close()


class PythonBackend:
    def __init__(self, model_path, threads=None):
        import torch
        if threads:
            torch.set_num_threads(threads)
        files = {"cutout.json": ""}
        self.module = torch.jit.load(model_path, map_location="cpu", _extra_files=files).float().eval()
        self.meta = json.loads(files["cutout.json"])
        self.name = f"Python re-implementation of the server pipeline on {os.path.basename(model_path)}"

    def mask(self, jpeg_bytes, size):
        import torch
        import torch.nn.functional as F
        inp = self.meta["input"]
        rgb = np.asarray(Image.open(io.BytesIO(jpeg_bytes)).convert("RGB"))
        if rgb.shape[1] != size[0] or rgb.shape[0] != size[1]:
            raise RuntimeError("decoded size differs from the composite's")
        with torch.no_grad():
            x = torch.from_numpy(rgb.copy()).permute(2, 0, 1)
            if inp["channel_order"] == "BGR":
                x = x.flip(0)
            x = x.unsqueeze(0).float()
            h, w = inp["height"], inp["width"]
            if x.shape[2] != h or x.shape[3] != w:
                x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
                x = x.round().clamp(0, 255)
            mean = torch.tensor(inp["mean"]).view(1, 3, 1, 1)
            std = torch.tensor(inp["std"]).view(1, 3, 1, 1)
            x = (x / 255.0 - mean) / std
            out = self.module(x)
            if isinstance(out, (tuple, list)):
                out = out[self.meta["output"]["index"]]
            if self.meta["output"]["activation"] == "sigmoid":
                out = torch.sigmoid(out)
            out = out.float()
            if out.shape[2] != size[1] or out.shape[3] != size[0]:
                out = F.interpolate(out, size=(size[1], size[0]), mode="bilinear", align_corners=True)
            return (out * 255.0).clamp(0, 255).to(torch.uint8)[0, 0].numpy()


def score(backend, items):
    """Run every composite through backend; per-item dicts with iou, mae, seconds."""
    rows = []
    for it in items:
        with open(it["jpeg"], "rb") as f:
            data = f.read()
        truth = np.asarray(Image.open(it["truth"]).convert("L"))
        t0 = time.time()
        pred = backend.mask(data, it["size"])
        dt = time.time() - t0
        rows.append(dict(it, iou=iou_at_half(pred, truth), mae=mae(pred, truth), seconds=dt, pred=pred))
    return rows
