#!/usr/bin/env python3
"""What cpp-httplib 0.11.4 reads before any cutout hook can refuse it: the worst case, measured.

Starts cutout-server (the tiny fixture model, CPU) and sends, each on its own connection:
  headers     N header lines of 8,000 bytes (the library bounds a line at 8 KiB, not their number)
  chunk_ext   a chunked upload whose first chunk-size line carries M bytes of chunk extension
              (the library's line reader grows without bound until the line ends)
  range       one Range header of 8,000 bytes of "0-," (parsed with std::regex before any hook)
For each: the status, seconds until the answer, and the server's peak RSS (VmHWM) before and after.
Prints one JSON object; --out writes it too. Usage:
  bench/refuse/library_reads.py --server build/cutout-server --model build/tests/fixtures/tiny.pt
"""
import argparse
import json
import re
import socket
import subprocess
import sys
import time


def vm(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def start(server, model):
    proc = subprocess.Popen([server, "--model", model, "--device", "cpu", "--port", "0", "--host", "127.0.0.1",
                             "--log-format", "json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        m = re.search(r'"port":\s*(\d+)', line)
        if m:
            return proc, int(m.group(1))
    raise SystemExit("server did not report its port")


def send(port, head_parts, timeout=120):
    """Sends the parts in order (generators of bytes), then reads the answer's status line."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sent = 0
    try:
        for part in head_parts:
            s.sendall(part)
            sent += len(part)
    except OSError:
        pass  # the server answered and closed before taking everything
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    s.close()
    status = int(data[9:12]) if data.startswith(b"HTTP/1.1 ") else None
    return {"status": status, "seconds": round(time.monotonic() - t0, 3), "bytes_sent": sent}


def header_flood(lines):
    yield b"GET /health/live HTTP/1.1\r\nHost: x\r\n"
    line = b"X-Flood: " + b"a" * 7989 + b"\r\n"  # 8,000 bytes with its CRLF
    batch = line * 100
    for _ in range(lines // 100):
        yield batch
    yield b"Connection: close\r\n\r\n"


def chunk_extension(size):
    yield (b"POST /remove-background HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n1;ext=")
    block = b"a" * (1 << 20)
    for _ in range(size >> 20):
        yield block
    yield b"\r\nx\r\n0\r\n\r\n"


def long_range():
    value = b"bytes=0-" + b",0-" * 2664  # 8,000 bytes
    yield b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: " + value + b"\r\n\r\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--header-lines", type=int, default=20000)
    ap.add_argument("--chunk-extension-mib", type=int, default=256)
    ap.add_argument("--out")
    args = ap.parse_args()
    results = {}
    cases = [("headers", lambda: header_flood(args.header_lines)),
             ("chunk_extension", lambda: chunk_extension(args.chunk_extension_mib << 20)),
             ("range_8000_bytes", long_range)]
    for name, parts in cases:
        proc, port = start(args.server, args.model)  # a fresh process: its peak is this case's
        try:
            time.sleep(0.5)
            before = vm(proc.pid, "VmHWM")
            r = send(port, parts())
            time.sleep(0.2)
            r["peak_rss_before_mib"] = round(before / 2**20, 1)
            r["peak_rss_after_mib"] = round(vm(proc.pid, "VmHWM") / 2**20, 1)
            r["rss_after_mib"] = round(vm(proc.pid, "VmRSS") / 2**20, 1)
            results[name] = r
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    results["params"] = {"header_lines": args.header_lines, "header_line_bytes": 8000,
                         "chunk_extension_mib": args.chunk_extension_mib}
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
