#!/usr/bin/env python3
"""Checks what each layer's object files really included, from the build's own dependency records.

The layers' include roots (src/<layer>/include, linked PRIVATE where only a layer uses another)
already make a wrong `#include "cutout/..."` fail to compile. Third-party headers in /usr/include
(LibTorch, cpp-httplib, spdlog, CLI11) are visible to every target, so this test holds the line
for them: e.g. the HTTP and configuration layers must compile without a single LibTorch header.

Reads `ninja -t deps` (Ninja) or the compiler's .o.d files (Makefiles). Fails when a layer's
objects are missing (nothing checked is no pass) or include what their layer must not.

    check_header_deps.py BUILD_DIR
"""
import glob
import os
import re
import subprocess
import sys

TORCH = re.compile(r"/(torch|ATen|c10|caffe2)/")
HTTPLIB = re.compile(r"/httplib\.h$")
OPENCV = re.compile(r"/opencv2?/|/opencv4/")
SPDLOG = re.compile(r"/spdlog/")
CLI11 = re.compile(r"/CLI/")

# target -> (pattern, why) pairs it must not include
RULES = {
    "cutout_core": [(TORCH, "LibTorch"), (HTTPLIB, "cpp-httplib"), (OPENCV, "OpenCV"), (SPDLOG, "spdlog")],
    "cutout_engine": [(HTTPLIB, "cpp-httplib"), (OPENCV, "OpenCV"), (SPDLOG, "spdlog"), (CLI11, "CLI11")],
    "cutout_logging": [(TORCH, "LibTorch"), (HTTPLIB, "cpp-httplib"), (OPENCV, "OpenCV")],
    "cutout_imaging": [(TORCH, "LibTorch"), (HTTPLIB, "cpp-httplib"), (CLI11, "CLI11")],
    "cutout_service": [(HTTPLIB, "cpp-httplib"), (CLI11, "CLI11")],
    "cutout_http": [(TORCH, "LibTorch"), (CLI11, "CLI11")],
    "cutout_config": [(TORCH, "LibTorch"), (HTTPLIB, "cpp-httplib"), (OPENCV, "OpenCV")],
    "cutout_app": [(TORCH, "LibTorch"), (CLI11, "CLI11")],
    "cutout-server": [(TORCH, "LibTorch"), (HTTPLIB, "cpp-httplib"), (CLI11, "CLI11")],
}
OBJECT = re.compile(r"CMakeFiles/([^/]+)\.dir/.*\.o$")


def ninja_deps(build_dir):
    out = subprocess.run(["ninja", "-C", build_dir, "-t", "deps"], check=True,
                         capture_output=True, text=True).stdout
    deps, current = {}, None
    for line in out.splitlines():
        if line and not line.startswith(" "):
            current = line.split(":", 1)[0]
            deps[current] = []
        elif line.strip() and current is not None:
            deps[current].append(line.strip())
    return deps


def make_deps(build_dir):
    deps = {}
    for path in glob.glob(os.path.join(build_dir, "**", "*.o.d"), recursive=True):
        text = open(path, encoding="utf-8", errors="replace").read().replace("\\\n", " ")
        _, _, rest = text.partition(":")
        deps[os.path.relpath(path[:-2], build_dir)] = rest.split()
    return deps


def main():
    build_dir = sys.argv[1]
    deps = ninja_deps(build_dir) if os.path.exists(os.path.join(build_dir, "build.ninja")) else make_deps(build_dir)
    by_target = {}
    for obj, headers in deps.items():
        match = OBJECT.search(obj)
        if match and match.group(1) in RULES:
            by_target.setdefault(match.group(1), []).append((obj, headers))
    failures = []
    for target, rules in RULES.items():
        objects = by_target.get(target, [])
        if not objects:
            failures.append(f"{target}: no dependency records (build it first)")
            continue
        for obj, headers in objects:
            for pattern, what in rules:
                hits = [h for h in headers if pattern.search(h)]
                if hits:
                    failures.append(f"{target}: {obj} includes {what} ({len(hits)} headers, e.g. {hits[0]})")
        total = sum(len(h) for _, h in objects)
        torch_free = all(not TORCH.search(h) for _, hs in objects for h in hs)
        print(f"{target}: {len(objects)} objects, {total} header dependencies, "
              f"LibTorch headers: {'none' if torch_free else 'yes'}")
    for line in failures:
        print("layering:", line)
    if failures:
        return 1
    print("layering: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
