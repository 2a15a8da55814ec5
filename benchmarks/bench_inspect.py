#!/usr/bin/env python3
"""Benchmark ``caffe2keras inspect`` start-to-exit on DenseNet-121 (issue 6: <= 0.3 s).

Each case runs ``--runs`` times in a fresh process (after one warm-up run that lets Python write
its bytecode caches, as ``pip install`` does); the report gives median, min and max wall time:

  python       ``python -c pass``: the interpreter and its site-packages ``.pth`` hooks alone
  --help       ``caffe2keras --help``
  inspect      ``caffe2keras inspect densenet121.prototxt`` (table to stdout, discarded)
  --json       the same with ``--json``

then one in-process breakdown of ``inspect`` (imports, parse, graph, analysis, render).
With ``--fresh-venv`` the cases also run in a new virtual environment holding a regular
(non-editable) install of this checkout plus click, protobuf and numpy, free of this machine's
``.pth`` hooks: what a user gets from ``pip install``.

    python benchmarks/bench_inspect.py [--prototxt PATH] [--runs N] [--fresh-venv]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import describe  # noqa: E402

REPO = HERE.parent
DEFAULT_NET = REPO.parent / "shared" / "zoo" / "densenet121.prototxt"
BOUND_S = 0.3

PHASES = r"""
import io, sys, time
from contextlib import redirect_stdout
t0 = time.perf_counter()
import click
t1 = time.perf_counter()
import caffe2keras.cli
from caffe2keras.frontend.load import LoadOptions, build_raw_graph, parse_prototxt
from caffe2keras.inspection import analyze, to_text
t2 = time.perf_counter()
parsed = parse_prototxt(sys.argv[1])
t3 = time.perf_counter()
raw = build_raw_graph(parsed.net, None, LoadOptions(), parsed.custom_fields)
t4 = time.perf_counter()
found = analyze.inspect_net(sys.argv[1])
t5 = time.perf_counter()
text = to_text(found)
t6 = time.perf_counter()
ms = lambda a, b: f"{(b - a) * 1000:.0f}"
print(f"import click {ms(t0, t1)} ms; import caffe2keras (cli, frontend, inspection, protobuf) "
      f"{ms(t1, t2)} ms; parse prototxt {ms(t2, t3)} ms; raw graph {ms(t3, t4)} ms; "
      f"inspect_net (parse + graph + passes + table rows) {ms(t4, t5)} ms; "
      f"render {ms(t5, t6)} ms; numpy imported: {'numpy' in sys.modules}")
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with bytecode caches, as installed
    return env


def _time(cmd: list[str], runs: int) -> tuple[float, float, float]:
    env = _env()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, env=env, check=True)  # warm-up, .pyc
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, env=env, check=False)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls), min(walls), max(walls)


def _cli(python: Path) -> list[str]:
    script = python.parent / "caffe2keras"
    return [str(script)] if script.exists() else [str(python), "-m", "caffe2keras.cli"]


def _table(python: Path, net: Path, runs: int) -> list[str]:
    cli = _cli(python)
    cases = [
        ("python -c pass", [str(python), "-c", "pass"]),
        ("caffe2keras --help", [*cli, "--help"]),
        (f"caffe2keras inspect {net.name}", [*cli, "inspect", str(net)]),
        (f"caffe2keras inspect {net.name} --json", [*cli, "inspect", str(net), "--json"]),
    ]
    lines = ["| case | median s | min s | max s | bound |", "|---|---:|---:|---:|---|"]
    for label, cmd in cases:
        median, low, high = _time(cmd, runs)
        bound = ""
        if "inspect" in label:
            bound = f"<= {BOUND_S} s: {'met' if median <= BOUND_S else 'MISSED'}"
        lines.append(f"| {label} | {median:.3f} | {low:.3f} | {high:.3f} | {bound} |")
    phases = subprocess.run(
        [str(python), "-c", PHASES, str(net)], capture_output=True, text=True, env=_env()
    )
    lines += ["", f"In-process breakdown: {phases.stdout.strip() or phases.stderr.strip()}"]
    return lines


def _fresh_venv(root: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    pip = [str(root / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "click", "protobuf>=7.35.1", "numpy"], check=True)
    subprocess.run([*pip, "--no-deps", str(REPO)], check=True)
    return root / "bin" / "python"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prototxt", type=Path, default=DEFAULT_NET)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--fresh-venv", action="store_true")
    args = ap.parse_args()
    if not args.prototxt.is_file():
        print(f"error: {args.prototxt} not found (pass --prototxt)", file=sys.stderr)
        return 2
    print(describe(), "\n")
    print(f"## This interpreter ({sys.executable}), {args.runs} runs per case\n")
    print("\n".join(_table(Path(sys.executable), args.prototxt, args.runs)))
    if args.fresh_venv:
        with tempfile.TemporaryDirectory() as tmp:
            python = _fresh_venv(Path(tmp) / "venv")
            print(f"\n## Fresh venv, regular install, {args.runs} runs per case\n")
            print("\n".join(_table(python, args.prototxt, args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
