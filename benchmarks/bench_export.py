#!/usr/bin/env python3
"""Export time and peak RSS of VGG-16 (553 MB, synth.py) to TFLite and SavedModel, side by side
with ``.weights.h5``.

Every case is ``caffe2keras convert`` in a fresh interpreter (bench_convert.py's ``run``: wall
seconds and the converting process's own VmHWM). Cases: each format with ``--no-verify`` (the
write alone) and verified (the Keras model against the numpy reference, then, for the exports,
the artifact in its own runtime: a fresh child process that loads it and runs the verification
inputs; the child's memory is its own and is not in the VmHWM column). Prints a Markdown table.

    python benchmarks/bench_export.py [--skip-verify] [--only .tflite SavedModel] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_convert import NETS, run, worker  # noqa: E402
from machine import describe  # noqa: E402
from synth import blob_plan, write_caffemodel  # noqa: E402

OUTPUTS = {
    ".weights.h5": ("out.weights.h5", []),
    ".tflite": ("out.tflite", []),
    "SavedModel": ("out_savedmodel", ["--format", "savedmodel"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-verify", action="store_true", help="only the --no-verify cases")
    parser.add_argument("--keep", type=Path, help="work in this folder instead of a temp one")
    parser.add_argument("--only", nargs="*", choices=list(OUTPUTS), help="only these outputs")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "PEAK_FILE"), help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker[0], args.args, args.worker[1])
    print(describe(), "\n")
    with tempfile.TemporaryDirectory(dir=args.keep) as folder:
        tmp = Path(folder)
        proto = NETS["vgg16"]
        model = tmp / "vgg16.caffemodel"
        size = write_caffemodel(model, blob_plan(proto), "vgg16")
        print(f"**vgg16**: {size / 1e6:.1f} MB caffemodel\n")
        print("| output | verified | wall s | peak RSS MiB | output MB | exit |")
        print("|---|---|---:|---:|---:|---:|")
        modes = [["--no-verify"]] + ([] if args.skip_verify else [[]])
        for flags in modes:
            for label, (name, extra) in OUTPUTS.items():
                if args.only and label not in args.only:
                    continue
                out = tmp / name
                argv_ = ["convert", str(proto), str(model), "-o", str(out), *extra, *flags, "-q"]
                r = run("cli", argv_, tmp)
                files = [out] if out.is_file() else list(out.rglob("*")) if out.exists() else []
                mb = sum(p.stat().st_size for p in files if p.is_file()) / 1e6
                note = f" {r['error']}" if "error" in r else ""
                print(
                    f"| {label} | {'no' if flags else 'yes'} | {r['wall']:.1f} | "
                    f"{r['rss'] / 2**20:.0f} | {mb:.0f} | {r['code']}{note} |",
                    flush=True,
                )
                shutil.rmtree(out) if out.is_dir() else out.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
