#!/usr/bin/env python3
"""deploy/nginx/cutout-front.conf in front of the real cutout-server: what it stops and what it passes.

Skipped (exit 77, with the reason) when nginx is not installed: `apt-get install nginx-light`
(scripts/setup.sh --for-tests installs it). Usage: nginx_front_test.py SOURCE_DIR SERVER FIXTURE_DIR
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SKIP = 77
SOURCE, SERVER, FIXTURES = sys.argv[1:4] if len(sys.argv) >= 4 else (None, None, None)


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "lib"))
from benchutil import free_port  # noqa: E402


def exchange(port, parts, timeout=20):
    """Sends the byte strings in order (stopping if the peer closes), returns (status, head, body, seconds)."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        for part in parts:
            s.sendall(part)
    except OSError:
        pass
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head[9:12]) if head.startswith(b"HTTP/1.1 ") else None
    return status, head.decode("latin-1"), body, time.monotonic() - t0


def wait_ready(port, deadline_s=60):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            status, _, _, _ = exchange(port, [b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"], 2)
            if status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


class NginxFront(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cutout-nginx-")
        os.chmod(cls.tmp, 0o755)
        cls.front, cls.back = free_port(), free_port()
        cls.log_file = open(os.path.join(cls.tmp, "server.log"), "w")
        cls.server = subprocess.Popen(
            [SERVER, "--model", os.path.join(FIXTURES, "tiny.pt"), "--device", "cpu", "--host", "127.0.0.1",
             "--port", str(cls.back), "--trusted-proxy-hops", "1"],
            stdout=cls.log_file, stderr=subprocess.STDOUT)
        with open(os.path.join(SOURCE, "deploy/nginx/cutout-front.conf")) as f:
            site = f.read()
        site = site.replace("listen 8080;", f"listen 127.0.0.1:{cls.front};")
        site = site.replace("127.0.0.1:8081", f"127.0.0.1:{cls.back}")
        for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(cls.tmp, d), exist_ok=True)
            os.chmod(os.path.join(cls.tmp, d), 0o777)  # the workers may run as another user
        conf = os.path.join(cls.tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
pid {cls.tmp}/nginx.pid;
error_log {cls.tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {cls.tmp}/body;
  proxy_temp_path {cls.tmp}/proxy;
  fastcgi_temp_path {cls.tmp}/fastcgi;
  uwsgi_temp_path {cls.tmp}/uwsgi;
  scgi_temp_path {cls.tmp}/scgi;
{site}
}}
""")
        cls.nginx = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-p", cls.tmp, "-c", conf,
                                      "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not wait_ready(cls.back):
            raise RuntimeError("cutout-server did not become ready: " + open(os.path.join(cls.tmp, "server.log")).read())
        if not wait_ready(cls.front, 20):
            raise RuntimeError("nginx did not answer: " + open(os.path.join(cls.tmp, "error.log")).read())

    @classmethod
    def tearDownClass(cls):
        for proc in (cls.nginx, cls.server):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        cls.log_file.close()
        cls.nginx.stderr.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def server_log(self):
        with open(os.path.join(self.tmp, "server.log")) as f:
            return f.read()

    def test_a_header_flood_stops_at_the_front(self):
        # 20,000 lines of 8,000 bytes: cutout alone reads all 160 MB (+233 MiB peak) before its 431.
        line = b"X-Flood: " + b"a" * 7989 + b"\r\n"
        parts = [b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Marker: flood\r\n"] + [line * 100] * 200 + [b"\r\n"]
        status, head, body, seconds = exchange(self.front, parts)
        self.assertEqual(status, 400, head)
        self.assertLess(seconds, 10)
        time.sleep(0.3)
        self.assertNotIn("flood", self.server_log())  # never forwarded

    def test_a_chunked_upload_arrives_dechunked(self):
        # A 16x16 PNG written here with zlib (no image library needed).
        import struct
        import zlib
        raw = b"".join(b"\x00" + b"\xff\x00\x00" * 16 for _ in range(16))
        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)) + \
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
        body = b"".join(b"%x\r\n%s\r\n" % (len(png[i:i + 50]), png[i:i + 50]) for i in range(0, len(png), 50))
        status, head, out, _ = exchange(self.front, [
            b"POST /remove-background HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: image/png\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + body + b"0\r\n\r\n"])
        self.assertEqual(status, 200, head)
        self.assertTrue(out.startswith(b"\x89PNG"))

    def test_a_huge_chunk_extension_never_reaches_cutout(self):
        # cutout alone grows one line buffer to the extension's size (+480 MiB peak for 256 MiB).
        parts = [b"POST /remove-background HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nConnection: close\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n1;ext="] + [b"a" * (1 << 20)] * 16 + [b"\r\nx\r\n0\r\n\r\n"]
        status, head, body, seconds = exchange(self.front, parts)
        # nginx skips the extension as it reads (no buffer grows) and passes the 1-byte body on with a
        # Content-Length; cutout answers that it is not an image.
        self.assertEqual(status, 415, head)
        self.assertIn(b"unsupported_media_type", body)
        self.assertLess(seconds, 10)
        time.sleep(0.3)
        lines = [l for l in self.server_log().splitlines() if '"POST /remove-background 415"' in l]
        self.assertTrue(lines and '"requestSize":"1"' in lines[-1], lines)

    def test_cutout_still_screens_what_passes(self):
        status, head, body, _ = exchange(self.front, [
            b"POST /warmup HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: 4\r\n\r\nabcd"])
        self.assertEqual(status, 415, head)
        self.assertIn(b"unsupported_content_encoding", body)
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(70))
        status, head, body, _ = exchange(self.front, [
            b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + many + b"\r\n"])
        self.assertEqual(status, 431, head)

    def test_range_is_not_served_by_either(self):
        ranges = b"bytes=0-" + b",0-" * 500
        status, head, body, _ = exchange(self.front, [
            b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: " + ranges + b"\r\n\r\n"])
        self.assertEqual(status, 200, head)
        self.assertNotIn("multipart/byteranges", head)
        self.assertTrue(body.startswith(b"{"))


if __name__ == "__main__":
    if not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
        print("SKIP: nginx is not installed (apt-get install nginx-light; scripts/setup.sh --for-tests "
              "installs it), so deploy/nginx/cutout-front.conf was not tested")
        sys.exit(SKIP)
    unittest.main(argv=[sys.argv[0], "-v"])
