"""Issue 14, item 1: memory amplification through HTTP features the service never uses
(Content-Encoding, Range, header floods, bodies on other routes, chunked multipart of empty parts).

Expected (What to build): refused before any body byte is read; multipart limits count everything.
The exact status is the fix's choice, so the checks judge the property: a 4xx with our JSON error
body, and the server's RSS growth under a small bound."""
import uuid

import harness
import payloads
from registry import case

GROWTH_BOUND_MIB = 32  # a refused request may cost buffers, never the inflated size


def _gzip_case(ctx, path):
    v = harness.Verdict()
    inflated = ctx.size(64, 1024) * harness.MIB
    body = payloads.gzip_of_zeros(inflated)
    srv = ctx.shared_server()
    head = harness.request_head("POST", path, {"Content-Type": "application/octet-stream",
                                               "Content-Encoding": "gzip"}, len(body))
    with srv.sample() as mem:
        a = harness.http(srv.port, head, body, timeout=60)
    v.figures.update(sent_bytes=len(body), inflates_to_mib=inflated // harness.MIB, answer=repr(a),
                     seconds=a.seconds, rss_growth_mib=mem.growth_mib)
    ignored = a.status == 200 and a.headers.get("accept-ranges") == "none"
    v.check("ignored (200, Accept-Ranges: none) or a 4xx with a JSON error body", repr(a),
            ignored or harness.json_4xx(a))
    v.check(f"RSS growth < {GROWTH_BOUND_MIB} MiB", f"{mem.growth_mib} MiB", mem.growth_mib < GROWTH_BOUND_MIB)
    v.check("server still alive", srv.alive(), srv.alive())
    return v


@case(1, "gzip body to POST /warmup: refused before inflating (4xx JSON), RSS growth < 32 MiB")
def gzip_body_on_warmup(ctx):
    return _gzip_case(ctx, "/warmup")


@case(1, "gzip body to an unknown route: refused before inflating (4xx JSON), RSS growth < 32 MiB")
def gzip_body_on_unknown_route(ctx):
    return _gzip_case(ctx, "/no-such-route")


@case(1, "upload with Range of many '0-' copies: ignored (RFC 9110 14.2: 200, whole, Accept-Ranges: none) or a 4xx JSON; never an amplified answer, RSS growth < 32 MiB")
def range_amplification(ctx):
    v = harness.Verdict()
    side, copies = ctx.size((256, 200), (400, 2700))
    image = payloads.png(side, side, noise=True)
    body, h = harness.benchutil.multipart(image, "noise.png", "image/png")
    h["Range"] = "bytes=" + ",".join(["0-"] * copies)
    srv = ctx.shared_server()
    with srv.sample() as mem:
        a = harness.http(srv.port, harness.request_head("POST", "/remove-background", h, len(body)), body,
                         timeout=120, cap=4 << 20)
    announced = a.length if a.length is not None else len(a.body)
    v.figures.update(upload_bytes=len(body), range_copies=copies, answer=repr(a),
                     answer_announced_bytes=announced, seconds=a.seconds, rss_growth_mib=mem.growth_mib)
    ignored = a.status == 200 and a.headers.get("accept-ranges") == "none"
    v.check("ignored (200, Accept-Ranges: none) or a 4xx with a JSON error body", repr(a),
            ignored or harness.json_4xx(a))
    v.check("answer not amplified (< 1 MiB)", f"{announced} bytes", announced < harness.MIB)
    v.check(f"RSS growth < {GROWTH_BOUND_MIB} MiB", f"{mem.growth_mib} MiB", mem.growth_mib < GROWTH_BOUND_MIB)
    v.check("server still alive", srv.alive(), srv.alive())
    return v


@case(1, "request with thousands of header lines: 4xx JSON (431), RSS growth < 64 MiB")
def header_flood(ctx):
    v = harness.Verdict()
    lines, width = ctx.size((2000, 100), (20000, 8000))
    filler = "x" * width
    headers = {f"X-Flood-{i}": filler for i in range(lines)}
    srv = ctx.shared_server()
    head = harness.request_head("GET", "/health", headers)
    with srv.sample() as mem:
        a = harness.http(srv.port, head, timeout=120)
    v.figures.update(header_lines=lines, header_bytes=len(head), answer=repr(a), seconds=a.seconds,
                     rss_growth_mib=mem.growth_mib)
    ignored = a.status == 200 and a.headers.get("accept-ranges") == "none"
    v.check("ignored (200, Accept-Ranges: none) or a 4xx with a JSON error body", repr(a),
            ignored or harness.json_4xx(a))
    v.check("RSS growth < 64 MiB", f"{mem.growth_mib} MiB", mem.growth_mib < 64)
    v.check("server still alive", srv.alive(), srv.alive())
    return v


@case(1, "chunked multipart of empty parts: refused (4xx JSON) while reading, RSS growth < 32 MiB")
def chunked_empty_parts(ctx):
    v = harness.Verdict()
    parts = ctx.size(200_000, 1_000_000)
    boundary = uuid.uuid4().hex
    h = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Transfer-Encoding": "chunked"}
    srv = ctx.shared_server()
    pieces = payloads.chunked(payloads.empty_parts_multipart(boundary, parts))
    with srv.sample() as mem:
        a = harness.http(srv.port, harness.request_head("POST", "/remove-background", h), pieces=pieces,
                         timeout=120)
    v.figures.update(empty_parts=parts, sent_bytes=a.sent, answer=repr(a), seconds=a.seconds,
                     rss_growth_mib=mem.growth_mib)
    ignored = a.status == 200 and a.headers.get("accept-ranges") == "none"
    v.check("ignored (200, Accept-Ranges: none) or a 4xx with a JSON error body", repr(a),
            ignored or harness.json_4xx(a))
    v.check(f"RSS growth < {GROWTH_BOUND_MIB} MiB", f"{mem.growth_mib} MiB", mem.growth_mib < GROWTH_BOUND_MIB)
    return v
