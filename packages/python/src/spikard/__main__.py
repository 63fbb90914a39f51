"""python -m spikard run module:app [--host H] [--port P] [--workers N]"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from .app import App


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m spikard")
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="serve an app")
    run.add_argument("target", help="module:attribute, e.g. myproject.main:app")
    run.add_argument("--host", default=None)
    run.add_argument("--port", type=int, default=None)
    run.add_argument("--workers", type=int, default=None)
    a = ap.parse_args(argv)
    mod_name, _, attr = a.target.partition(":")
    if not mod_name:
        ap.error(f"{a.target!r}: expected module:attribute, e.g. myproject.main:app")
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(mod_name)
    except ImportError as exc:  # the module itself, or something it imports
        ap.error(f"cannot import {mod_name!r}: {exc}")
    obj = getattr(module, attr or "app", None)
    if obj is None:
        ap.error(f"module {mod_name!r} ({module.__file__}) has no attribute {attr or 'app'!r}")
    if callable(obj) and not isinstance(obj, App):
        obj = obj()  # an app factory
    if not isinstance(obj, App):
        ap.error(f"{a.target} is {type(obj).__name__}, not a spikard.App")
    obj.run(host=a.host, port=a.port, workers=a.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
