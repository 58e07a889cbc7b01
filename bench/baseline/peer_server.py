#!/usr/bin/env python3
"""The Python peer: the same background-removal service written the way a careful Python team
would today, FastAPI + uvicorn, for side-by-side benchmarks with cutout-server.

    /usr/bin/python3 bench/baseline/peer_server.py --kind jit   --model FILE.pt  --port 8081
    /usr/bin/python3 bench/baseline/peer_server.py --kind eager --model FILE.pth --size 1024 --port 8081

Same endpoints and parameters as cutout-server (README, "The HTTP contract"): GET /health (200
ready / 503 loading with phase / 503 failed), GET /health/live, GET|POST /warmup?timeout_ms=N
(waits for readiness, returns the start-up timeline in ms since the process was created, the
same clock cutout uses), POST /remove-background (multipart part ``image`` or ``file``, or a raw
body; ``output=rgba|mask``, ``bg_color=RRGGBB``, ``format=png|webp|jpeg``; Server-Timing with
decode, preprocess, inference, queue, postprocess, encode).

Done the careful way: the port opens at once and the model loads exactly once, in a background
thread started at start-up, then one warm-up forward pass; no retries or sleeps; only the
forward pass is serialised (a lock), decoding and encoding run in parallel in the thread pool.
Model code: bench/baseline/peer_model.py. RGBA output = the original RGB with the mask as alpha
(transparent-background also estimates foreground colours with pymatting; cutout does not).
"""
import argparse
import io
import json
import logging
import os
import sys
import threading
import time

import torch
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image, ImageOps, UnidentifiedImageError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_model  # noqa: E402


def process_start_monotonic():
    """time.monotonic() value of this process's creation (/proc/self/stat field 22, on the boot
    clock), so timelines count interpreter start-up the way cutout counts dynamic linking."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    started_since_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    now_boot = time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.monotonic() - (now_boot - started_since_boot)


PROCESS_START = process_start_monotonic()
log = logging.getLogger("peer")


def since_start_ms():
    return round((time.monotonic() - PROCESS_START) * 1000.0, 1)


class State:
    """Readiness: a phase, milestones and a condition the loader notifies (no polling)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.phase = "starting"
        self.error = None
        self.model = None
        self.milestones = {}
        self.phase_started = time.monotonic()

    def mark(self, name):
        with self.cond:
            self.milestones[name + "_ms"] = since_start_ms()

    def enter(self, phase, error=None):
        with self.cond:
            self.phase, self.error = phase, error
            self.phase_started = time.monotonic()
            self.cond.notify_all()

    def timeline(self):
        m = dict(self.milestones)
        phases = {}
        if "load_started_ms" in m:
            phases["starting"] = m["load_started_ms"]
        if "model_loaded_ms" in m:
            phases["loading_model"] = round(m["model_loaded_ms"] - m["load_started_ms"], 1)
        if "ready_ms" in m:
            phases["warming_up"] = round(m["ready_ms"] - m["model_loaded_ms"], 1)
        return {"since_process_start_ms": m, "phase_duration_ms": phases}


def error(status, kind, message):
    headers = {"Retry-After": "1"} if status == 503 else None
    return JSONResponse({"error": {"code": status, "type": kind, "message": message}}, status, headers=headers)


def create_app(args):
    state = State()
    device = torch.device(args.device)
    dtype = peer_model.DTYPES[args.precision]
    gate = threading.Lock()
    app = FastAPI(title="peer", docs_url=None, redoc_url=None, openapi_url=None)

    def load_and_warm():
        try:
            state.mark("load_started")
            state.enter("loading_model")
            model = peer_model.load(args.kind, args.model, device, dtype, args.size)
            state.mark("model_loaded")
            state.enter("warming_up")
            for _ in range(args.warmup_runs):
                peer_model.warmup(model)
            state.model = model
            state.mark("ready")
            state.enter("ready")
            log.info(json.dumps({"message": "ready", **state.timeline()}))
        except Exception as e:  # noqa: BLE001 - published as the failed state
            state.mark("failed")
            state.enter("failed", f"{type(e).__name__}: {e}")
            log.error("model failed: %s", state.error)

    @app.on_event("startup")
    def start_loading():
        # uvicorn binds the port after start-up handlers return: load in the background.
        state.mark("port_open")  # approximately; the benchmark measures the port from outside
        threading.Thread(target=load_and_warm, name="loader", daemon=True).start()

    @app.get("/health/live")
    def live():
        return {"status": "alive"}

    @app.get("/health")
    def health():
        if state.phase == "ready":
            return {"status": "ready", "device": str(device), "precision": args.precision,
                    "model": {"path": args.model, "kind": args.kind,
                              "input": [state.model.width, state.model.height]},
                    "uptime_s": round(time.monotonic() - PROCESS_START, 3)}
        if state.phase == "failed":
            return JSONResponse({"status": "failed", "error": state.error}, 503)
        return JSONResponse({"status": "loading", "phase": state.phase, "elapsed_ms": since_start_ms(),
                             "phase_elapsed_ms": round((time.monotonic() - state.phase_started) * 1000, 1)},
                            503, headers={"Retry-After": "1"})

    @app.api_route("/warmup", methods=["GET", "POST"])
    def warmup(timeout_ms: int = 60000):
        already = state.phase == "ready"
        with state.cond:
            state.cond.wait_for(lambda: state.phase in ("ready", "failed"), timeout=timeout_ms / 1000)
            phase = state.phase
        if phase == "ready":
            return {**state.timeline(), "status": "ready", "already_warm": already}
        if phase == "failed":
            return error(500, "model_failed", f"the model failed to load: {state.error}")
        return error(503, "warmup_timeout", f"still starting after {timeout_ms} ms")

    @app.post("/remove-background")
    async def remove_background(request: Request):
        params = dict(request.query_params)
        data = None
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            form = await request.form()
            for name, value in form.multi_items():
                if name in ("image", "file") and hasattr(value, "read"):
                    if data is None:
                        data = await value.read()
                elif isinstance(value, str):
                    params[name] = value
        else:
            data = await request.body()
        if not data:
            return error(400, "missing_image", "send the image as multipart part 'image' or as the body")
        unknown = [k for k in params if k not in ("output", "bg_color", "format")]
        if unknown:
            return error(400, "unknown_parameter", f"unknown parameter '{unknown[0]}' (known: output, bg_color, format)")
        output, fmt, bg = params.get("output", "rgba"), params.get("format", "png"), params.get("bg_color")
        if output not in ("rgba", "mask") or fmt not in ("png", "webp", "jpeg", "jpg"):
            return error(400, "invalid_parameter", "output must be rgba or mask; format png, webp or jpeg")
        if bg is not None:
            try:
                bg_rgb = tuple(bytes.fromhex(bg.lstrip("#")))
                assert len(bg_rgb) == 3
            except (ValueError, AssertionError):
                return error(400, "invalid_parameter", "bg_color must be RRGGBB hex")
        if fmt in ("jpeg", "jpg") and output == "rgba" and bg is None:
            return error(400, "invalid_parameter", "format=jpeg has no alpha channel: use png or webp, or give bg_color")
        if state.phase != "ready":
            return error(503, "not_ready", f"the model is {state.phase}")
        # CPU-bound work goes to the thread pool so the event loop keeps serving /health.
        from starlette.concurrency import run_in_threadpool
        try:
            body, media, timing = await run_in_threadpool(process, data, output, fmt, bg and bg_rgb)
        except UnidentifiedImageError:
            return error(415, "unsupported_media_type", "not an image this service decodes")
        except Exception as e:  # noqa: BLE001
            log.exception("inference failed")
            return error(500, "inference_failed", f"{type(e).__name__}")
        return Response(body, media_type=media, headers={"Server-Timing": timing})

    def process(data, output, fmt, bg_rgb):
        t = time.perf_counter()
        stages = {}

        def lap(name):
            nonlocal t
            now = time.perf_counter()
            stages[name] = (now - t) * 1000
            t = now

        img = Image.open(io.BytesIO(data))
        img = ImageOps.exif_transpose(img)
        img.load()
        lap("decode")
        m = state.model
        x = peer_model.preprocess(m, img)
        lap("preprocess")
        with gate:
            lap("queue")
            pred = peer_model.forward(m, x)
        lap("inference")
        mask = Image.fromarray(peer_model.postprocess(pred, img), "L")
        if output == "mask":
            out = mask
        elif bg_rgb:
            out = Image.new("RGB", img.size, bg_rgb)
            out.paste(img.convert("RGB"), mask=mask)
        else:
            out = img.convert("RGB")
            out.putalpha(mask)
        lap("postprocess")
        buf = io.BytesIO()
        pil_fmt = {"png": "PNG", "webp": "WEBP", "jpeg": "JPEG", "jpg": "JPEG"}[fmt]
        out.save(buf, pil_fmt)  # PIL's defaults (PNG: zlib level 6)
        lap("encode")
        timing = (f"decode;dur={stages['decode']:.1f}, preprocess;dur={stages['preprocess']:.1f}, "
                  f"inference;dur={stages['queue'] + stages['inference']:.1f};desc=\"includes queue\", "
                  f"queue;dur={stages['queue']:.1f}, postprocess;dur={stages['postprocess']:.1f}, "
                  f"encode;dur={stages['encode']:.1f}")
        return buf.getvalue(), "image/" + ("jpeg" if pil_fmt == "JPEG" else fmt), timing

    return app


def main(argv=None):
    p = argparse.ArgumentParser(description="Python peer of cutout-server (FastAPI + uvicorn).")
    p.add_argument("--kind", choices=peer_model.KINDS, required=True,
                   help="eager: build InSPyReNet and load a .pth state dict; jit: torch.jit.load a .pt")
    p.add_argument("--model", required=True)
    p.add_argument("--size", type=int, default=None, help="input size (eager: default 1024; jit: cutout.json)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--precision", choices=["fp32", "fp16"], default=None,
                   help="default fp16 on cuda, fp32 on cpu")
    p.add_argument("--warmup-runs", type=int, default=1)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081)
    args = p.parse_args(argv)
    if args.precision is None:
        args.precision = "fp16" if args.device.startswith("cuda") else "fp32"
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    uvicorn.run(create_app(args), host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
