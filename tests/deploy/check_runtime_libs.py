#!/usr/bin/python3
"""The runtime stages provide every shared library the built server loads.

    check_runtime_libs.py REPO_ROOT SERVER_BINARY

The binary is the one this checkout built (Debian 12, the CPU image's build stage's toolchain).

CPU image: every library `ldd` lists is mapped to its Debian package (deploy/docker/runtime-packages.sh,
dpkg -S); each package must be installed by the runtime stage's apt-get line or be a dependency of
one (closure over the Depends/Pre-Depends of the packages installed here), or belong to the base
image (Essential/required packages and apt). The packages of the binary's own NEEDED libraries must
be named explicitly, not arrive by accident through another package.

CUDA image: the LibTorch libraries the binary needs are provided by the copy of LibTorch's lib/
(the binary's torch sonames must be ones the official archive ships), and everything else by the
packages that deploy/docker/runtime-packages.sh derives in the build stage: here, that script must
resolve every non-torch library of this binary to a package, or the CUDA build stage would fail.
"""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dockerfile as df  # noqa: E402

ROOT = SERVER = None
# Shipped in lib/ of libtorch-cxx11-abi-shared-with-deps (CUDA): the ones a LibTorch program links.
LIBTORCH_LIBS = {"libtorch", "libtorch_cpu", "libtorch_cuda", "libc10", "libc10_cuda"}


def soname_stem(soname):
    return soname.split(".so")[0]


def needed(binary):
    out = subprocess.run(["readelf", "-d", binary], check=True, capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def package_pairs(binary, *skip_dirs):
    script = os.path.join(ROOT, "deploy/docker/runtime-packages.sh")
    proc = subprocess.run([script, "--pairs", binary, *skip_dirs], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"runtime-packages.sh failed:\n{proc.stderr}")
    pairs = {}
    for line in proc.stdout.splitlines():
        soname, path, pkg = line.split(" ")
        pairs[soname] = (path, pkg)
    return pairs


def installed_packages():
    """Installed packages: name -> (list of dependency alternatives groups, provides, base?)."""
    fmt = "${Package}\t${Status}\t${Essential}\t${Priority}\t${Depends}\t${Pre-Depends}\t${Provides}\n"
    out = subprocess.run(["dpkg-query", "-W", "-f", fmt], check=True, capture_output=True, text=True).stdout
    pkgs, provides = {}, {}
    for line in out.splitlines():
        name, status, essential, priority, deps, predeps, prov = line.split("\t")
        if not status.endswith("installed"):
            continue
        groups = []
        for field in (deps, predeps):
            for group in filter(None, (g.strip() for g in field.split(","))):
                groups.append([re.split(r"[\s(:]", alt.strip())[0] for alt in group.split("|")])
        pkgs[name] = (groups, essential == "yes" or priority == "required")
        for p in filter(None, (x.strip() for x in prov.split(","))):
            provides.setdefault(re.split(r"[\s(]", p)[0], []).append(name)
    return pkgs, provides


def closure(roots, pkgs, provides):
    """Packages apt would install for roots (each alternative group: the installed choices)."""
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for group in pkgs.get(name, ([], False))[0]:
            for alt in group:
                for real in [alt] + provides.get(alt, []):
                    if real in pkgs:
                        todo.append(real)
    return seen


def stage_apt_packages(stage):
    for run in stage.runs():
        m = re.search(r"apt-get install (.*?)(?:&&|$)", run)
        if m:
            return [w for w in m.group(1).split() if not w.startswith("-")]
    return []


class RuntimeLibraries(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ROOT, "Dockerfile")) as f:
            cls.d = df.Dockerfile(f.read())
        cls.pairs = package_pairs(SERVER)
        cls.pkgs, cls.provides = installed_packages()

    def test_cpu_stage_provides_every_library(self):
        listed = stage_apt_packages(self.d.stage("cpu"))
        self.assertTrue(listed, "the cpu stage installs packages")
        base = {n for n, (_, b) in self.pkgs.items() if b} | {"apt"}
        provided = closure(listed, self.pkgs, self.provides) | closure(base, self.pkgs, self.provides)
        missing = {f"{so} ({pkg})" for so, (_, pkg) in self.pairs.items() if pkg not in provided}
        self.assertFalse(missing, f"libraries the cpu stage does not install: {sorted(missing)}")
        print(f"cpu stage: {len(self.pairs)} libraries from {len({p for _, p in self.pairs.values()})} "
              f"packages, all provided by {len(listed)} listed packages and the base image")

    def test_cpu_stage_names_the_direct_dependencies(self):
        listed = set(stage_apt_packages(self.d.stage("cpu")))
        base = {n for n, (_, b) in self.pkgs.items() if b} | {"apt"}
        base_closure = closure(base, self.pkgs, self.provides)
        for soname in needed(SERVER):
            pkg = self.pairs[soname][1]
            if pkg in base_closure:
                continue   # libc6, libstdc++6, libgcc-s1: in every Debian image
            self.assertIn(pkg, listed, f"{soname} comes from {pkg}, which the cpu stage should name")

    def test_cpu_stage_lists_nothing_unneeded(self):
        listed = stage_apt_packages(self.d.stage("cpu"))
        needed_pkgs = {pkg for _, pkg in self.pairs.values()}
        for pkg in listed:
            self.assertIn(pkg, needed_pkgs, f"the cpu stage installs {pkg}, which the binary does not load")

    def test_cuda_stage_torch_libraries_come_from_libtorch(self):
        torch = [s for s in needed(SERVER) if soname_stem(s) in LIBTORCH_LIBS]
        self.assertTrue(torch, "the binary links LibTorch")
        for soname in torch:
            self.assertIn(soname_stem(soname), LIBTORCH_LIBS)

    def test_cuda_stage_can_derive_the_other_packages(self):
        # What the CUDA build stage does (LibTorch's lib/ skipped): runtime-packages.sh resolved every
        # library to a package in setUpClass; here, each non-torch NEEDED library is among them.
        for soname in needed(SERVER):
            if soname_stem(soname) not in LIBTORCH_LIBS:
                self.assertIn(soname, self.pairs, f"{soname}: no package found for it")
                self.assertTrue(self.pairs[soname][1], soname)


if __name__ == "__main__":
    ROOT = os.path.abspath(sys.argv.pop(1))
    SERVER = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
