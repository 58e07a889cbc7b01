"""Issue 14, item 7: the smaller faults (log forging, refused requests' log lines, a FIFO as model,
NaN output, --warmup-runs 0 with a failing model, /health showing internals).

Expected (What to build): each fixed, as stated per case."""
import os
import shutil
import subprocess
import time

import harness
import payloads
from registry import case


@case(7, "--log-format text: a request path with an encoded CR LF forges no log line")
def text_log_line_forgery(ctx):
    v = harness.Verdict()
    marker = "FORGED-LINE-4f2a"
    with harness.Server(ctx, ctx.model("tiny.pt"), "--log-format", "text", name="logforge") as srv:
        srv.wait_port()
        a = harness.http(srv.port, harness.request_head("GET", f"/x%0d%0a{marker}%20severity=ERROR%0aY"))
        time.sleep(0.3)
        lines = srv.log_lines()
    forged = [line for line in lines if line.lstrip().startswith(marker)]
    v.figures.update(answer=repr(a), forged_lines=forged[:2])
    v.check("no log line begins with the client's text", f"{len(forged)} forged", not forged)
    v.check("the request was logged", "", any(marker in line for line in lines))
    return v


@case(7, "a request the library refuses before routing (414): its access line has the method, path and a true latency")
def refused_before_routing_log_line(ctx):
    v = harness.Verdict()
    with harness.Server(ctx, ctx.model("tiny.pt"), "--http-threads", 1, name="refusedlog") as srv:
        srv.ready()
        harness.http(srv.port, harness.request_head("GET", "/before"))  # leaves a start time on the worker
        time.sleep(1.5)
        a = harness.http(srv.port, harness.request_head("GET", "/long?" + "q" * 9000))
        time.sleep(0.3)
        lines = [line for line in srv.access_lines() if line["httpRequest"].get("status") == a.status]
    v.figures.update(answer=repr(a), access_line=lines[-1]["httpRequest"] if lines else None)
    v.check("a 4xx answer", repr(a), a.status is not None and 400 <= a.status < 500)
    v.check("one access line with its status", len(lines), len(lines) == 1)
    if lines:
        req = lines[-1]["httpRequest"]
        latency = float(req.get("latency", "999s").rstrip("s"))
        v.check("method logged", repr(req.get("requestMethod")), req.get("requestMethod") == "GET")
        v.check("path logged", repr(req.get("requestUrl", ""))[:40], req.get("requestUrl", "").startswith("/long"))
        v.check("latency < 0.5 s (not the time since the worker's last request)", req.get("latency"), latency < 0.5)
    return v


@case(7, "a FIFO as --model: refused (exit 2) or a failed start (exit 3) within 10 s, no hang")
def fifo_model_hangs(ctx):
    v = harness.Verdict()
    fifo = os.path.join(ctx.work, "model.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    with harness.Server(ctx, fifo, "--fail-exit-delay-ms", 500, name="fifo") as srv:
        try:
            code = srv.proc.wait(10)
        except subprocess.TimeoutExpired:  # still loading: the hang
            code = None
        health = repr(harness.probe(srv.port, "/health", 2)) if code is None else "exited"
    v.figures.update(exit_code=code, health_after_10s=health)
    v.check("exit 2 or 3 within 10 s", code, code in (2, 3))
    return v


@case(7, "a model whose output is NaN: the upload is a 5xx JSON error, never a 200 with an empty mask")
def nan_output_served(ctx):
    v = harness.Verdict()
    with harness.Server(ctx, ctx.nan_model(), name="nan") as srv:
        status, doc = srv.wait_settled()
        a = harness.upload(srv.port, payloads.png(64, 64)) if doc.get("status") == "ready" else None
    v.figures.update(health=doc.get("status"), answer=repr(a) if a else None)
    if a is None:  # refusing such a model at start is a fix too
        v.check("refused at start or a 5xx JSON error", f"health {doc.get('status')}", doc.get("status") == "failed")
    else:
        v.check("5xx JSON error", repr(a), a.status is not None and a.status >= 500 and a.is_json_error())
    return v


@case(7, "--warmup-runs 0 with a model whose forward always fails: its first request's failure turns /health failed (503) and the process exits 3")
def warmup0_failing_model_ready(ctx):
    # With no warm-up pass nothing has run the model at ready; the first forward pass (a request's)
    # is its proof. The fault was /health saying ready for ever while every upload got 500.
    v = harness.Verdict()
    with harness.Server(ctx, ctx.model("fails_in_forward.pt"), "--warmup-runs", 0,
                        "--fail-exit-delay-ms", 1000, name="warmup0") as srv:
        srv.wait_settled()
        first = harness.upload(srv.port, payloads.png(32, 32), timeout=30)
        after = harness.probe(srv.port, "/health")
        doc = after.json() if after.status else {}
        code = srv.wait_exit(10)
    v.figures.update(first_upload=repr(first), health_after=f"{after.status} {doc.get('status')}", exit_code=code)
    v.check("the first upload is a 5xx JSON error", repr(first), first.status >= 500 and first.error_type())
    v.check("/health then says failed (503)", f"{after.status} {doc.get('status')}",
            after.status == 503 and doc.get("status") == "failed")
    v.check("exit code 3", code, code == 3)
    return v


@case(7, "broken models: /health shows neither the model's path nor a LibTorch/TorchScript trace")
def health_shows_internals(ctx):
    v = harness.Verdict()
    secret = os.path.join(ctx.work, "private-dir-7c1e")
    os.makedirs(secret, exist_ok=True)
    bodies = {}
    # A file LibTorch cannot read (the message names the path) and a model whose warm-up pass fails
    # inside LibTorch (the message carries the TorchScript traceback).
    for name in ("truncated.pt", "fails_in_forward.pt"):
        model = os.path.join(secret, name)
        shutil.copy(ctx.model(name), model)
        with harness.Server(ctx, model, "--fail-exit-delay-ms", 20000, name="healthleak") as srv:
            srv.wait_settled()
            bodies[name] = harness.probe(srv.port, "/health").body.decode("utf-8", "replace")
    text = "\n".join(bodies.values())
    traces = [t for t in ("Traceback", "Exception raised from", "frame #", ".cpp:", "c10::", "~~~") if t in text]
    v.figures.update({f"/health with {k}": b[:240] for k, b in bodies.items()})
    v.check("no model path in /health", "path shown" if "private-dir-7c1e" in text else "none",
            "private-dir-7c1e" not in text)
    v.check("no LibTorch trace in /health", traces or "none", not traces)
    return v
