#!/usr/bin/python3
"""Peak memory and time of each decoder bomb against a cutout-server binary: one fresh server per
file (tiny model, CPU), the file POSTed as a raw body, then the answer, the wall time and the
process's peak RSS (VmHWM) minus its RSS before the request. For the before/after figures in
docs/security.md; not run by ctest (one server start per file).

  measure.py --server build/cutout-server --model build/tests/fixtures/tiny.pt \\
             --bombs build/tests/decoder_bombs [--as-limit-gb 12] [FILE ...]
"""
import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "bench", "lib"))
import benchutil  # noqa: E402  (free_port, memory_mib)

TYPES = {".jpg": "image/jpeg", ".tif": "image/tiff", ".png": "image/png"}


def measure(args, path):
    port = benchutil.free_port()
    limit = int(args.as_limit_gb * (1 << 30))

    def cap():  # a guard for the machine: a bomb that goes further fails instead of swapping
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = subprocess.Popen([args.server, "--model", args.model, "--device", "cpu", "--host", "127.0.0.1",
                             "--port", str(port), "--http-threads", "2"] + args.extra,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=cap)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        before, _ = benchutil.memory_mib(proc.pid)
        with open(path, "rb") as f:
            body = f.read()
        ctype = TYPES.get(os.path.splitext(path)[1], "application/octet-stream")
        req = urllib.request.Request(f"http://127.0.0.1:{port}/remove-background", data=body,
                                     headers={"Content-Type": ctype}, method="POST")
        start = time.time()
        try:
            with urllib.request.urlopen(req, timeout=args.timeout) as r:
                status, answer = r.status, r.headers.get("Server-Timing", "")
        except urllib.error.HTTPError as e:
            status, answer = e.code, json.loads(e.read() or b"{}").get("error", {}).get("type", "")
        except Exception as e:  # noqa: BLE001 - a crash or a timeout is a result too
            status, answer = 0, type(e).__name__
        took = time.time() - start
        alive = proc.poll() is None
        peak = benchutil.memory_mib(proc.pid)[1] if alive else 0
        return {"file": os.path.basename(path), "bytes": len(body), "status": status, "type": answer,
                "seconds": round(took, 3), "peak_rss_delta_mb": round(peak - before, 1) if alive else None,
                "server_alive": alive}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--bombs", required=True)
    parser.add_argument("--as-limit-gb", type=float, default=12)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--extra", nargs="*", default=[], help="more server flags")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    files = args.files or sorted(f for f in os.listdir(args.bombs) if not f.endswith(".stamp"))
    for name in files:
        print(json.dumps(measure(args, os.path.join(args.bombs, name))), flush=True)


if __name__ == "__main__":
    main()
