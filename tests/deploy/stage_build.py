#!/usr/bin/python3
"""Builds a Dockerfile build stage from exactly what it would see, without a Docker engine.

    stage_build.py REPO_ROOT WORK_DIR STAGE [--configure-only]

1. The build context twice: after .dockerignore (`docker build .`), and after .gcloudignore then
   .dockerignore (`gcloud builds submit`, what deploy/deploy.sh runs). Both must give the stage
   the same files.
2. Only what the stage's COPY lines bring in under its WORKDIR (/src) is put in
   WORK_DIR/STAGE/src (kept between runs: unchanged files keep their time stamps, so the build
   there is incremental; with ccache a first build reuses the main build's objects).
3. The stage's own `cmake` commands, as written in its RUN lines, run there (ccache added as the
   compiler launcher when installed). --configure-only stops after the configure: the CUDA stage,
   whose CUDA parts (below) this machine cannot have.

Exit 1 with the reason when a COPY source is missing from the context or a command fails.
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_context as bc  # noqa: E402
import dockerfile as df  # noqa: E402

# What the CUDA build stage has and this machine has not; its configure here uses Debian's CPU
# LibTorch in place of /opt/libtorch (the same CMake package, Torch, found the same way).
CUDA_PARTS = ("the CUDA toolkit image (nvcc, which LibTorch's CMake package calls at configure time)",
              "the official CUDA LibTorch in /opt/libtorch (Debian's CPU LibTorch 1.13 stands in)",
              "the compile and link against it, strip, and runtime-packages.sh on the result")


def sync(placed, root, dest):
    """Makes dest hold exactly `placed` (plus build/); copies only files whose bytes changed."""
    os.makedirs(dest, exist_ok=True)
    for rel, src in placed.items():
        target = os.path.join(dest, rel)
        source = os.path.join(root, src)
        if os.path.exists(target):
            with open(target, "rb") as a, open(source, "rb") as b:
                if a.read() == b.read():
                    continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target)
    for dirpath, dirnames, filenames in os.walk(dest, topdown=True):
        if dirpath == dest:
            dirnames[:] = [d for d in dirnames if d != "build"]
        for name in filenames:
            rel = os.path.relpath(os.path.join(dirpath, name), dest)
            if rel not in placed:
                os.remove(os.path.join(dirpath, name))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    configure_only = "--configure-only" in sys.argv
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    root, work, name = (os.path.abspath(args[0]), os.path.abspath(args[1]), args[2])
    with open(os.path.join(root, "Dockerfile")) as f:
        d = df.Dockerfile(f.read())
    stage = d.stage(name)
    files = bc.repository_files(root)
    try:
        docker_set = bc.stage_source_set(d, stage, bc.context_files(root, gcloud=False, files=files))
        gcloud_set = bc.stage_source_set(d, stage, bc.context_files(root, gcloud=True, files=files))
    except ValueError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    if docker_set != gcloud_set:
        only = sorted(set(docker_set) ^ set(gcloud_set))
        print(f"FAIL: {name}: `docker build` and Cloud Build give the stage different files: {only[:10]}",
              file=sys.stderr)
        return 1
    dest = os.path.join(work, name, "src")
    sync(docker_set, root, dest)
    print(f"{name}: {len(docker_set)} files from its COPY lines in {dest}")

    commands = bc.stage_cmake_commands(stage)
    if not commands:
        print(f"FAIL: {name} runs no cmake command", file=sys.stderr)
        return 1
    env = dict(os.environ)
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", "2")
    # Paths relative to the repository in ccache's hashes: the stage's copy of a source then hits
    # what the main build (scripts/setup.sh sets the same base) compiled from the original.
    env.setdefault("CCACHE_BASEDIR", root)
    launcher = shutil.which("ccache")
    for words in commands:
        configure = "-S" in words
        if not configure and configure_only:
            print(f"{name}: not run here: {' '.join(words)}")
            continue
        if configure and launcher:
            words = words + [f"-DCMAKE_CXX_COMPILER_LAUNCHER={launcher}"]
        started = time.monotonic()
        print(f"{name}$ {' '.join(words)}", flush=True)
        result = subprocess.run(words, cwd=dest, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        took = time.monotonic() - started
        if result.returncode != 0:
            print(result.stdout[-8000:])
            print(f"FAIL: {name}: `{' '.join(words)}` exited {result.returncode} after {took:.1f} s "
                  f"with only the stage's COPY sources", file=sys.stderr)
            return 1
        print(f"{name}: ok in {took:.1f} s")
    if configure_only:
        print(f"{name}: configured with the stage's options; what it cannot have here:")
        for part in CUDA_PARTS:
            print(f"  - {part}")
    else:
        built = os.path.join(dest, "build", "cutout-server")
        if not os.access(built, os.X_OK):
            print(f"FAIL: {name}: no build/cutout-server after the build", file=sys.stderr)
            return 1
        print(f"{name}: built {built}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
