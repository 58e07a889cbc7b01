#!/usr/bin/env python3
"""Make cutout-server model files: one subcommand per architecture.

    /usr/bin/python3 models/export.py inspyrenet --checkpoint ckpt_base.pth --size 1024 --out inspyrenet-base.pt
    /usr/bin/python3 models/export.py inspyrenet --random-init 0 --size 384 --out /tmp/random-384.pt
    /usr/bin/python3 models/export.py <model> --help

Each architecture lives in its own package models/<model>/ with a module ``export`` that provides
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> exit code``. To add one, create
that module and list it in SUBCOMMANDS below; this file stays a thin dispatcher.
"""
import argparse
import importlib
import os
import sys

# models/<name>/export.py modules, in --help order.
SUBCOMMANDS = ["inspyrenet", "isnet"]


class _Unavailable:
    """Stands in for a subcommand whose module fails to import: the others keep working."""

    def __init__(self, name, error):
        self.HELP = f"(unavailable: {error})"
        self._message = f"error: the {name} exporter cannot be imported: {error!r}"

    def add_arguments(self, parser):
        parser.add_argument("rest", nargs=argparse.REMAINDER)

    def run(self, args):
        print(self._message, file=sys.stderr)
        return 1


def _load(name):
    try:
        return importlib.import_module(f"models.{name}.export")
    except ModuleNotFoundError as e:
        if e.name in (f"models.{name}", f"models.{name}.export"):
            return None  # not written (yet)
        return _Unavailable(name, e)
    except Exception as e:  # noqa: BLE001 - reported when that subcommand is used
        return _Unavailable(name, e)


def main(argv=None):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)
    parser = argparse.ArgumentParser(
        prog="export.py", description="Export a background-removal model to a TorchScript file for cutout-server.")
    sub = parser.add_subparsers(dest="model", metavar="MODEL")
    sub.required = True
    for name in SUBCOMMANDS:
        mod = _load(name)
        if mod is None:
            continue
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    args = parser.parse_args(argv)
    return args._run(args)


if __name__ == "__main__":
    sys.exit(main())
