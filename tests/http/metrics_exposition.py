#!/usr/bin/python3
"""/metrics of the real binary, read by a real Prometheus text parser (prometheus_client, Debian's
python3-prometheus-client): it parses, it moves with traffic, and it is not on the public port.

    metrics_exposition.py SERVER_BINARY FIXTURE_DIR
"""
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

SERVER = FIXTURES = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def png():
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def get(url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def samples(text):
    """{(name, frozenset(labels)): value} of every sample, through the Prometheus parser."""
    out = {}
    families = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = family.type
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out, families


class MetricsExposition(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            cls.start_server()
        except BaseException:
            # tearDownClass does not run after a failed setUpClass: a server left running would
            # hold the test until ctest's timeout instead of failing it at once.
            cls.proc.kill()
            raise

    @classmethod
    def start_server(cls):
        cls.metrics_port = free_port()
        cls.proc = subprocess.Popen(
            [SERVER, "--host", "127.0.0.1", "--port", "0", "--model", os.path.join(FIXTURES, "tiny.pt"),
             "--device", "cpu", "--log-format", "json", "--metrics-port", str(cls.metrics_port)],
            stdout=subprocess.PIPE, text=True)
        cls.lines = []
        ready = threading.Event()

        def read():
            for line in cls.proc.stdout:
                cls.lines.append(line)
                event = json.loads(line)
                if event.get("message") == "listening":
                    cls.port = event["port"]
                if event.get("message") == "metrics listening":
                    cls.metrics_listening = True
                # Both lines, in either order: the app opens the metrics port inside listen(),
                # before main logs the main port.
                if hasattr(cls, "port") and getattr(cls, "metrics_listening", False):
                    ready.set()
        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30):
            cls.proc.kill()
            raise RuntimeError("no 'listening' and 'metrics listening' lines: " + "".join(cls.lines))
        cls.base = f"http://127.0.0.1:{cls.port}"
        cls.metrics = f"http://127.0.0.1:{cls.metrics_port}/metrics"
        status, _, _ = get(cls.base + "/warmup?timeout_ms=60000")
        assert status == 200, status

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(30)

    def scrape(self):
        status, headers, body = get(self.metrics)
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers)
        return samples(body.decode())

    def test_parses_and_moves_with_traffic(self):
        before, families = self.scrape()
        for name, kind in (("cutout_http_requests", "counter"), ("cutout_http_request_duration_seconds", "histogram"),
                           ("cutout_inference_queue_depth", "gauge"), ("cutout_inference_queue_rejections", "counter"),
                           ("cutout_readiness_phase", "gauge"), ("cutout_startup_milestone_seconds", "gauge"),
                           ("cutout_model_info", "gauge"), ("process_resident_memory_bytes", "gauge"),
                           ("cutout_inference_queue_timeouts", "counter"), ("cutout_memory_budget_bytes", "gauge"),
                           ("cutout_memory_budget_in_use_bytes", "gauge"), ("cutout_memory_budget_rejections", "counter")):
            self.assertEqual(families.get(name), kind, name)

        ok = frozenset({("route", "/remove-background"), ("method", "POST"), ("status", "200")})
        unsupported = frozenset({("route", "/remove-background"), ("method", "POST"), ("status", "415")})
        status, _, _ = get(self.base + "/remove-background", png(), {"Content-Type": "image/png"})
        self.assertEqual(status, 200)
        status, _, _ = get(self.base + "/remove-background", png(), {"Content-Type": "image/png"})
        self.assertEqual(status, 200)
        status, _, _ = get(self.base + "/remove-background", b"hello", {"Content-Type": "text/plain"})
        self.assertEqual(status, 415)
        # The access hook runs after the answer is written, and each connection on its own thread:
        # the next answer can be counted before the last one's hook ran. Give all three a moment.
        deadline = time.time() + 10
        while True:
            after, _ = self.scrape()
            counted = (after.get(("cutout_http_requests_total", unsupported), 0) >= 1 and
                       after.get(("cutout_http_requests_total", ok), 0) - before.get(("cutout_http_requests_total", ok), 0) >= 2)
            if counted or time.time() > deadline:
                break
            time.sleep(0.05)

        def delta(key):
            return after.get(key, 0) - before.get(key, 0)
        self.assertEqual(delta(("cutout_http_requests_total", ok)), 2)
        self.assertEqual(delta(("cutout_http_requests_total", unsupported)), 1)
        route = frozenset({("route", "/remove-background")})
        self.assertEqual(delta(("cutout_http_request_duration_seconds_count", route)), 3)
        for stage in ("decode", "preprocess", "inference", "queue", "postprocess", "encode"):
            key = frozenset({("stage", stage)})
            self.assertEqual(delta(("cutout_stage_duration_seconds_count", key)), 2, stage)
            inf = frozenset({("stage", stage), ("le", "+Inf")})
            self.assertEqual(after[("cutout_stage_duration_seconds_bucket", inf)],
                             after[("cutout_stage_duration_seconds_count", key)], stage)
        self.assertEqual(after[("cutout_inference_queue_depth", frozenset())], 0)
        self.assertEqual(after[("cutout_inference_queue_capacity", frozenset())], 4)
        self.assertEqual(after[("cutout_inference_queue_timeouts_total", frozenset())], 0)
        # Sized at the first request (the machine's or the container's memory here), all given back.
        self.assertGreater(after[("cutout_memory_budget_bytes", frozenset())], 0)
        self.assertEqual(after[("cutout_memory_budget_in_use_bytes", frozenset())], 0)
        self.assertEqual(after[("cutout_memory_budget_rejections_total", frozenset())], 0)
        self.assertEqual(after[("cutout_readiness_phase", frozenset({("phase", "ready")}))], 1)
        self.assertEqual(after[("cutout_readiness_phase", frozenset({("phase", "starting")}))], 0)
        ready_at = after[("cutout_startup_milestone_seconds", frozenset({("milestone", "ready")}))]
        port_at = after[("cutout_startup_milestone_seconds", frozenset({("milestone", "port_open")}))]
        self.assertGreater(ready_at, port_at)
        info = [labels for (name, labels) in after if name == "cutout_model_info"]
        self.assertEqual(len(info), 1)
        self.assertIn(("device", "cpu"), info[0])
        self.assertGreater(after[("process_resident_memory_bytes", frozenset())], 10 * 2**20)
        # No GPU here: the GPU memory series are left out, not reported as 0.
        self.assertFalse([n for (n, _) in after if n.startswith("cutout_gpu_memory")])

    def test_not_on_the_public_port_by_default(self):
        status, _, body = get(self.base + "/metrics")
        self.assertEqual(status, 404, body)
        # And the metrics listener serves /metrics only.
        status, _, _ = get(f"http://127.0.0.1:{self.metrics_port}/remove-background", png(),
                           {"Content-Type": "image/png"})
        self.assertEqual(status, 404)


if __name__ == "__main__":
    SERVER = os.path.abspath(sys.argv.pop(1))
    FIXTURES = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
