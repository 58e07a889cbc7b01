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


def _send_and_leave(port, image):
    body, h = harness.benchutil.multipart(image)
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(harness.request_head("POST", "/remove-background", h, len(body)) + body)
    time.sleep(0.05)
    s.close()


@case(5, "7 clients upload and hang up (8 workers) on a slow model: the next client waits < 4 passes, their access lines log 499")
def gone_clients_still_run(ctx):
    v = harness.Verdict()
    image = payloads.png(64, 64)
    with harness.Server(ctx, ctx.model("slow.pt"), name="gone") as srv:
        srv.ready()
        solo = harness.upload(srv.port, image, timeout=60)
        per_pass = solo.seconds or 1.0
        for _ in range(7):
            _send_and_leave(srv.port, image)
        time.sleep(0.2)
        honest = harness.upload(srv.port, image, timeout=60)
        time.sleep(0.5)
        statuses = [line["httpRequest"]["status"] for line in srv.access_lines()]
    gone = statuses.count(499)
    v.figures.update(one_pass_s=per_pass, next_client_s=honest.seconds, next_answer=repr(honest),
                     access_statuses=statuses)
    v.check("the next client's answer is 200", repr(honest), honest.status == 200)
    v.check("it waits < 4 passes (the gone ones are dropped)", f"{honest.seconds} s vs {per_pass} s/pass",
            honest.seconds is not None and honest.seconds < 4 * per_pass)
    v.check("gone clients' access lines log 499 (all but one already in its pass)", f"{gone} of 7", gone >= 6)
    return v
