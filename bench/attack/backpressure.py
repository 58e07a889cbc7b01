"""Issue 14, item 5: back-pressure that never triggers with the defaults, and requests whose
clients went away still run.

Expected (What to build): with the default flags, 503 `queue_full` (or `queue_timeout`, the
maximum queue wait) with Retry-After before a request waits longer than a set time; a request
whose client has gone is dropped before its forward pass (its access line logs 499)."""
import concurrent.futures
import socket
import time

import harness
import payloads
from registry import case

MAX_WAIT_S = 12.0  # no request may wait longer than this for its answer (the fix's set time + slack)


@case(5, "16 concurrent uploads on a 1 s/pass model, default flags: some 503 queue_full/queue_timeout + Retry-After, every answer within 12 s")
def backpressure_never_triggers(ctx):
    v = harness.Verdict()
    n = 16
    image = payloads.png(64, 64)
    with harness.Server(ctx, ctx.model("slow_start.pt"), name="backpressure") as srv:
        srv.ready()
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            answers = list(pool.map(lambda _: harness.upload(srv.port, image, timeout=MAX_WAIT_S), range(n)))
    refused = [a for a in answers if a.status == 503 and a.error_type() in ("queue_full", "queue_timeout")]
    late = [a for a in answers if a.status is None]
    v.figures.update(requests=n, statuses=sorted(repr(a) for a in answers),
                     slowest=max((a.seconds or 0) for a in answers))
    v.check("some 503 queue_full/queue_timeout, each with Retry-After", len(refused),
            refused and all("retry-after" in a.headers for a in refused))
    v.check(f"every request answered within {MAX_WAIT_S} s", f"{len(late)} unanswered", not late)
    v.check("every answer 200 or the refusal", sorted(repr(a) for a in answers),
            all(a.status == 200 or a in refused for a in answers if a.status is not None))
    return v


def _send_all_and_leave(port, image, n):
    """n uploads sent at once on n connections, then every connection closed: all but the first
    wait in the queue when their clients leave."""
    body, h = harness.benchutil.multipart(image)
    sockets = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(harness.request_head("POST", "/remove-background", h, len(body)) + body)
        sockets.append(s)
    time.sleep(0.05)
    for s in sockets:
        s.close()


@case(5, "7 clients upload to a slow model and hang up: their requests are done within 3 passes, their access lines log 499")
def gone_clients_still_run(ctx):
    v = harness.Verdict()
    image = payloads.png(64, 64)
    gone_n = 7  # one fewer than the 8 default workers
    # A queue deep enough that no gone request is refused as queue_full instead of dropped.
    with harness.Server(ctx, ctx.model("slow.pt"), "--queue-depth", 16, name="gone") as srv:
        srv.ready()
        solo = harness.upload(srv.port, image, timeout=60)
        pass_s = (_timing(solo, "inference") - _timing(solo, "queue")) / 1000  # one forward pass
        t0 = time.monotonic()
        _send_all_and_leave(srv.port, image, gone_n)
        # Done when every gone request has its access line (200 if it ran, 499 if dropped); the
        # gate's order is not FIFO, so the time to drain them all is what shows whether they ran.
        drained = None
        while time.monotonic() - t0 < 30:
            if len(srv.access_lines()) >= 1 + gone_n:
                drained = time.monotonic() - t0
                break
            time.sleep(0.02)
        statuses = [line["httpRequest"]["status"] for line in srv.access_lines()]
    gone = statuses[1:].count(499)
    bound = 3 * pass_s + 0.3  # the one already in its pass, reading and logging
    v.figures.update(pass_s=round(pass_s, 3), drained_s=round(drained, 3) if drained else None,
                     access_statuses=statuses)
    v.check(f"all {gone_n} done within 3 passes + 0.3 s", f"{drained and round(drained, 2)} s vs {pass_s:.2f} s/pass",
            drained is not None and drained < bound)
    v.check("their access lines log 499 (all but one already in its pass)", f"{gone} of {gone_n}", gone >= gone_n - 1)
    return v


def _timing(answer, name):
    """A Server-Timing duration in ms; infinity when the answer has none (no 200)."""
    return harness.benchutil.parse_server_timing(answer.headers.get("server-timing", "")).get(name, float("inf"))
