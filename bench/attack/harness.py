"""The attack suite's machinery: the real server as a child process, its memory sampled while a
case runs, raw HTTP over sockets (so a case sends exactly the bytes it means), and the verdict.

A case returns a Verdict: named checks (each an expectation from issue 14's "What to build", the
figure observed, and whether it held) plus the figures measured. A case passes when every check
holds.
"""
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import benchutil  # noqa: E402

MIB = 1024 * 1024


class Verdict:
    """Checks and figures of one case run."""

    def __init__(self):
        self.checks = []  # (expectation, observed, held)
        self.figures = {}

    def check(self, expectation, observed, held):
        self.checks.append({"expect": expectation, "observed": str(observed), "held": bool(held)})
        return held

    @property
    def passed(self):
        return bool(self.checks) and all(c["held"] for c in self.checks)


class Server:
    """cutout-server on a free loopback port with the given extra flags; its log (stdout and
    stderr together) goes to a file so that cases can read the access lines."""

    def __init__(self, ctx, model, *flags, name="server"):
        self.ctx = ctx
        self.port = benchutil.free_port()
        self.log_path = os.path.join(ctx.work, f"{name}-{self.port}.log")
        cmd = [ctx.server, "--model", model, "--host", "127.0.0.1", "--port", str(self.port),
               "--device", "cpu"] + [str(f) for f in flags]
        if not any(str(f).startswith("--warmup-runs") for f in flags):
            cmd += ["--warmup-runs", "1"]
        self.cmd = cmd
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        self.started = time.monotonic()

    @property
    def pid(self):
        return self.proc.pid

    def wait_port(self, deadline_s=60):
        benchutil.wait_port(self.port, self.proc, deadline_s)
        return self

    def wait_settled(self, deadline_s=60):
        """Polls /health until it says ready or failed; returns (status, body dict)."""
        self.wait_port(deadline_s)
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            r = http(self.port, b"GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", timeout=5)
            doc = r.json() or {}
            if doc.get("status") in ("ready", "failed"):
                return r.status, doc
            time.sleep(0.05)
        raise TimeoutError("server neither ready nor failed")

    def ready(self, deadline_s=60):
        status, doc = self.wait_settled(deadline_s)
        if doc.get("status") != "ready":
            raise RuntimeError(f"server did not become ready: {status} {doc}")
        return self

    def alive(self):
        return self.proc.poll() is None

    def memory(self):
        """(VmRSS, VmHWM) in MiB, or (None, None) once the process is gone."""
        try:
            return benchutil.memory_mib(self.pid)
        except OSError:
            return None, None

    def sample(self):
        return MemorySampler(self)

    def log_lines(self):
        self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace").splitlines()

    def access_lines(self):
        """The JSON access lines (those with httpRequest) logged so far."""
        out = []
        for line in self.log_lines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict) and "httpRequest" in doc:
                out.append(doc)
        return out

    def terminate(self, timeout_s=20):
        """SIGTERM, then wait; returns (exit code or None if it had to be killed, seconds)."""
        t = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        return code, time.monotonic() - t

    def wait_exit(self, timeout_s):
        """The exit code once the process ends by itself within timeout_s, else None."""
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class MemorySampler:
    """Samples the server's VmRSS every 10 ms while a case runs (the peak of a brief allocation is
    what matters; VmHWM alone would carry the peaks of earlier cases on a shared server)."""

    def __init__(self, server):
        self.server = server
        self.before, _ = server.memory()
        self.peak = self.before or 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            rss, _ = self.server.memory()
            if rss is None:
                return
            self.peak = max(self.peak, rss)
            time.sleep(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def growth_mib(self):
        return round(self.peak - (self.before or 0.0), 1)


class Answer:
    """One raw HTTP exchange: status (None if none came), headers (lower-case), the body bytes read
    (at most the cap), the announced length, seconds, and what went wrong on the socket."""

    def __init__(self):
        self.status = None
        self.headers = {}
        self.body = b""
        self.length = None
        self.seconds = None
        self.error = None
        self.sent = 0

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def error_type(self):
        doc = self.json()
        if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
            return doc["error"].get("type")
        return None

    def is_json_error(self):
        return self.error_type() is not None

    def __repr__(self):
        what = f"{self.status}" if self.status else f"no answer ({self.error})"
        if self.error_type():
            what += f" {self.error_type()}"
        return what


def read_answer(sock, answer, timeout, cap):
    """Reads one HTTP answer from sock into answer; stops at cap body bytes."""
    sock.settimeout(timeout)
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                answer.error = answer.error or "closed before an answer"
                return answer
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        answer.status = int(lines[0].split()[1])
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                answer.headers[k.strip().lower()] = v.strip()
        if "content-length" in answer.headers:
            answer.length = int(answer.headers["content-length"])
        body = rest
        want = answer.length if answer.length is not None else cap
        while len(body) < min(want, cap):
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            body += chunk
        answer.body = body[:cap]
    except socket.timeout:
        answer.error = answer.error or f"no answer within {timeout} s"
    except OSError as e:
        answer.error = answer.error or f"{type(e).__name__}"
    return answer


def http(port, head, body=b"", timeout=10.0, cap=1 << 20, pieces=None, early_s=0.1):
    """Sends head + body (or the byte strings of the iterable pieces) on a fresh connection and
    reads the answer. A server that stops reading and answers early is fine: the answer is read.
    Like curl with a large body, the client waits early_s after the head and sends no body if an
    answer has come by then (so a refusal before the body is seen, not lost to a reset)."""
    answer = Answer()
    t = time.monotonic()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        answer.error = f"connect: {type(e).__name__}"
        return answer
    with sock:
        try:
            sock.settimeout(timeout)
            sock.sendall(head)
            answer.sent += len(head)
            has_body = bool(body) or pieces is not None
            if has_body and early_s and select.select([sock], [], [], early_s)[0]:
                pieces, body = [], b""  # answered (or closed) before the body: send none
            for piece in (pieces if pieces is not None else [body]):
                if piece:
                    sock.sendall(piece)
                    answer.sent += len(piece)
        except OSError as e:
            answer.error = f"send stopped: {type(e).__name__}"  # the server closed: read its answer
        read_answer(sock, answer, timeout, cap)
    answer.seconds = round(time.monotonic() - t, 3)
    return answer


def request_head(method, path, headers=None, length=None):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def upload(port, image, query="", headers=None, timeout=60.0, cap=1 << 20):
    """POST /remove-background with the image as a multipart part named image."""
    body, h = benchutil.multipart(image)
    h.update(headers or {})
    return http(port, request_head("POST", "/remove-background" + query, h, len(body)), body, timeout, cap)


def probe(port, path="/health/live", timeout=5.0):
    return http(port, request_head("GET", path), timeout=timeout)


def probe_latency(port, path="/health/live", timeout=5.0):
    """Seconds until the probe answered 200, or None if it did not within timeout."""
    a = probe(port, path, timeout)
    return a.seconds if a.status == 200 else None


def fmt_latency(seconds, timeout):
    return f"{seconds:.3f} s" if seconds is not None else f"none within {timeout} s"


def json_4xx(answer):
    """The property used where the fix parts have not fixed the exact code: a 4xx with our JSON
    error body."""
    return answer.status is not None and 400 <= answer.status < 500 and answer.is_json_error()


def has_flag(ctx, flag):
    """Whether the server's --help names flag."""
    out = subprocess.run([ctx.server, "--help"], capture_output=True, text=True, timeout=30).stdout
    return flag in out
