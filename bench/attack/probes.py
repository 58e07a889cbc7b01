"""Issue 14, item 4: probes starve (slowloris, bare-LF, slow-body and idle connections; /warmup
callers during a start).

Expected (What to build): /health/live (and /health) answer in under a second while such
connections are open, whatever the inference concurrency."""
import socket
import threading
import time
import uuid

import harness
from registry import case

PROBE_BOUND_S = 1.0
PROBE_TIMEOUT_S = 3.0  # a probe not answered by then counts as starved


class Trickle:
    """Connections kept open on purpose: 'slowloris' sends a header byte every 0.5 s and never
    ends its headers, 'bare_lf' the same with LF-only line ends, 'slow_body' sends complete headers
    announcing a body and then one body byte every 0.5 s, 'idle' connects and sends nothing."""

    def __init__(self, port, slowloris=0, bare_lf=0, slow_body=0, idle=0):
        self.socks = []
        self._stop = threading.Event()
        self._feeders = []
        for kind, count in (("slowloris", slowloris), ("bare_lf", bare_lf), ("slow_body", slow_body), ("idle", idle)):
            for _ in range(count):
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                if kind == "slowloris":
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: a\r\n")
                    self._feeders.append((s, b"X-a: b\r\n"))
                elif kind == "bare_lf":
                    s.sendall(b"GET /health HTTP/1.1\nHost: a\n")
                    self._feeders.append((s, b"X-a: b\n"))
                elif kind == "slow_body":
                    b = uuid.uuid4().hex
                    s.sendall((f"POST /remove-background HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n"
                               f"Content-Type: multipart/form-data; boundary={b}\r\n\r\n--{b}\r\n").encode())
                    self._feeders.append((s, b"x"))
                self.socks.append(s)
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def _feed(self):
        pos = 0
        while not self._stop.wait(0.5):
            for s, line in self._feeders:
                try:
                    s.send(line[pos % len(line):pos % len(line) + 1])
                except OSError:
                    pass
            pos += 1

    def close(self):
        self._stop.set()
        self._thread.join()
        for s in self.socks:
            s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _probe_round(v, port, paths, rounds):
    """Probes each path `rounds` times; a path that starves once is not probed again."""
    worst = {path: 0.0 for path in paths}
    for _ in range(rounds):
        for path in paths:
            if worst[path] is not None:
                s = harness.probe_latency(port, path, PROBE_TIMEOUT_S)
                worst[path] = None if s is None else max(worst[path], s)
        time.sleep(0.3)
    for path, s in worst.items():
        v.figures[f"worst {path}"] = harness.fmt_latency(s, PROBE_TIMEOUT_S)
        v.check(f"{path} answers 200 in < {PROBE_BOUND_S} s", harness.fmt_latency(s, PROBE_TIMEOUT_S),
                s is not None and s < PROBE_BOUND_S)


@case(4, "8 slowloris + 8 bare-LF + 8 slow-body connections open: /health/live and /health answer in < 1 s")
def slowloris_starves_probes(ctx):
    v = harness.Verdict()
    with harness.Server(ctx, ctx.model("tiny.pt"), name="slowloris") as srv:
        srv.ready()
        with Trickle(srv.port, slowloris=8, bare_lf=8, slow_body=8):
            time.sleep(1.0)  # let them take whatever they take
            _probe_round(v, srv.port, ["/health/live", "/health"], ctx.size(2, 5))
        v.figures["connections"] = "8 slowloris, 8 bare-LF, 8 slow-body"
    return v


@case(4, "64 idle connections open: /health/live answers in < 1 s")
def idle_connections_delay_probes(ctx):
    v = harness.Verdict()
    with harness.Server(ctx, ctx.model("tiny.pt"), name="idle") as srv:
        srv.ready()
        with Trickle(srv.port, idle=64):
            time.sleep(0.5)
            _probe_round(v, srv.port, ["/health/live"], ctx.size(2, 5))
        v.figures["connections"] = "64 idle"
    return v


@case(4, "8 /warmup callers during a slow start: /health answers in < 1 s")
def warmup_callers_block_health(ctx):
    v = harness.Verdict()
    with harness.Server(ctx, ctx.model("slow_start.pt"), "--warmup-runs", ctx.size(4, 10), name="warmup") as srv:
        srv.wait_port()
        callers = [threading.Thread(target=harness.probe, args=(srv.port, "/warmup", 60), daemon=True)
                   for _ in range(8)]
        for t in callers:
            t.start()
        time.sleep(0.5)
        worst = 0.0
        for _ in range(3):
            a = harness.probe(srv.port, "/health", PROBE_TIMEOUT_S)
            s = a.seconds if a.status in (200, 503) else None  # 503 "loading" is an answer
            worst = None if s is None or worst is None else max(worst, s)
            if worst is None:
                break
            time.sleep(0.2)
        v.figures["worst /health"] = harness.fmt_latency(worst, PROBE_TIMEOUT_S)
        v.check(f"/health answers in < {PROBE_BOUND_S} s while 8 /warmup callers wait",
                harness.fmt_latency(worst, PROBE_TIMEOUT_S), worst is not None and worst < PROBE_BOUND_S)
    for t in callers:  # the server is gone: their connections are closed
        t.join(10)
    return v
