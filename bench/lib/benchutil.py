"""Shared pieces of the side-by-side benchmarks (bench/coldstart, bench/latency): starting the
contenders, talking HTTP to them, reading a process's memory, describing the machine."""
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = "/usr/bin/python3"  # the interpreter with torch (the first python3 on PATH has none)
PEER = os.path.join(ROOT, "bench", "baseline", "peer_server.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(contender, port, server, pt, pth=None, size=None, warmup_runs=1):
    """The exec line of one contender: cutout, peer-jit or peer-eager, all on the CPU in fp32."""
    if contender == "cutout":
        cmd = [server, "--model", pt, "--device", "cpu", "--host", "127.0.0.1", "--port", str(port),
               "--log-format", "json", "--warmup-runs", str(warmup_runs)]
        if size:
            cmd += ["--input-size", str(size)]
        return cmd
    kind = contender.split("-", 1)[1]
    cmd = [PYTHON, PEER, "--kind", kind, "--model", pth if kind == "eager" else pt, "--device", "cpu",
           "--host", "127.0.0.1", "--port", str(port), "--warmup-runs", str(warmup_runs)]
    if size or kind == "eager":
        cmd += ["--size", str(size or 1024)]
    return cmd


def wait_port(port, proc, deadline_s=600.0, step_s=0.002):
    """Poll connect() until the port accepts; returns time.monotonic() of the first success."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before opening port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return time.monotonic()
        except OSError:
            time.sleep(step_s)
    raise TimeoutError(f"port {port} not open after {deadline_s} s")


def request(port, method, path, body=None, headers=None, timeout=1800):
    """One HTTP request on a fresh connection. Returns (status, headers dict lower-case, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def multipart(image_bytes, filename="image.jpg", content_type="image/jpeg"):
    """(body, headers) of a multipart/form-data upload with the image in part 'image'."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode() + image_bytes + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def remove_background(port, image_bytes, output="rgba"):
    """POST /remove-background; returns (seconds, status, server-timing dict, body length)."""
    body, headers = multipart(image_bytes)
    t = time.monotonic()
    status, h, data = request(port, "POST", f"/remove-background?output={output}", body, headers)
    return time.monotonic() - t, status, parse_server_timing(h.get("server-timing", "")), len(data)


def parse_server_timing(text):
    """'decode;dur=1.0, inference;dur=2;desc="x"' -> {'decode': 1.0, 'inference': 2.0}"""
    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        parts = item.split(";")
        for p in parts[1:]:
            if p.strip().startswith("dur="):
                out[parts[0].strip()] = float(p.strip()[4:])
    return out


def memory_mib(pid):
    """(VmRSS, VmHWM) of a live process in MiB: resident now, and the peak resident so far."""
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":", 1)
                vals[k] = int(v.split()[0]) / 1024.0
    return vals.get("VmRSS"), vals.get("VmHWM")


def stop(proc, timeout=20):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def machine(server=None):
    """Where and with what the numbers were taken."""
    info = {"date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "hostname": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), None)
        with open("/proc/meminfo") as f:
            info["mem_total_mib"] = int(next(l for l in f if l.startswith("MemTotal")).split()[1]) // 1024
    except (OSError, StopIteration):
        pass
    info["git_commit"] = _run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    versions = _run([PYTHON, "-c", "import json,sys,torch,PIL,numpy,fastapi,uvicorn;"
                     "print(json.dumps({'python':sys.version.split()[0],'torch':torch.__version__,"
                     "'torch_threads':torch.get_num_threads(),'pillow':PIL.__version__,'numpy':numpy.__version__,"
                     "'fastapi':fastapi.__version__,'uvicorn':uvicorn.__version__}))"])
    info["versions"] = json.loads(versions) if versions else None
    if server:
        info["cutout_server"] = os.path.relpath(server, ROOT) if os.path.isabs(server) else server
    return info


def summary(values):
    """median, min, max and n of a list of numbers (None when empty)."""
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    n = len(vals)
    med = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
    return {"median": round(med, 4), "min": round(vals[0], 4), "max": round(vals[-1], 4), "n": n}


def percentile(values, q):
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    vals = sorted(values)
    k = max(0, min(len(vals) - 1, int(-(-q * len(vals) // 100)) - 1))
    return vals[k]


def write_json(path, data):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".partial", "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    os.replace(path + ".partial", path)
    print(f"wrote {path}", file=sys.stderr)
