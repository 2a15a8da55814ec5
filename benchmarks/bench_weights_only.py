#!/usr/bin/env python3
"""Issue 15's weights-only bound and the Keras build step, this checkout against another one.

Two measurements, every case a fresh interpreter, cases alternating round by round so a busy
machine slows them alike:

  weights   VGG-16 (553 MB) ``convert -o x.weights.h5 --no-verify -v`` of this checkout and of
            ``--old DIR`` (another checkout, put first on ``PYTHONPATH``), beside ``import
            keras`` and the baseline (read + np.frombuffer + h5py write of the same blobs,
            ``bench_convert.baseline``). Bound: (convert - import keras) / baseline <= 2.
  build     ``build_model`` of DenseNet-121 and ResNet-152 (zoo prototxts, weights from
            ``bench_convert_all.caffemodel``), built twice in one process: the second build is
            the one ``convert-all``'s warm workers pay per model.

Per case: median wall seconds, median CPU seconds (user + system of the child, all threads,
from ``wait4``: less sensitive to other jobs than wall time) and the largest peak RSS (VmHWM).

    python benchmarks/bench_weights_only.py --old /tmp/before [--rounds 3] [--skip-build]
        [--vgg16 FILE.caffemodel]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_convert import _report_peak_at_exit, baseline  # noqa: E402
from machine import describe  # noqa: E402

REPO = HERE.parent
ZOO = REPO.parent / "shared" / "golden" / "zoo"
BUILD_NETS = ("densenet121", "resnet152")
STEP_NAMES = ("read", "keras", "build", "write")


def worker(mode: str, args: list[str], peak_file: str) -> int:
    """One measured case in this process."""
    _report_peak_at_exit(peak_file)
    if mode == "cli":
        from caffe2keras.cli import main

        sys.argv = ["caffe2keras", *args]
        return main()
    if mode == "keras":
        import keras  # noqa: F401
    elif mode == "baseline":
        baseline(Path(args[0]), Path(args[1]))
    elif mode == "build":
        print(json.dumps(build_twice(args[0], args[1])))
    return 0


def build_twice(proto: str, model: str) -> dict[str, float]:
    """Wall and CPU seconds of a first and a second ``build_model`` of one net."""
    import keras

    from caffe2keras import api
    from caffe2keras.keras_model.model import build_model

    net = api.load(proto, model, api.ConvertOptions())
    out: dict[str, float] = {}
    for name in ("first", "second"):
        keras.backend.clear_session()
        start, cpu = time.perf_counter(), time.process_time()
        build_model(net.keras)
        out[name] = time.perf_counter() - start
        out[f"{name}_cpu"] = time.process_time() - cpu
    return out


def run(mode: str, args: list[str], tmp: Path, old: Path | None) -> dict[str, Any]:
    """One case in a fresh interpreter (``old``: that checkout's package first on the path)."""
    peak = tmp / "peak.txt"
    peak.unlink(missing_ok=True)
    env = dict(os.environ)
    if old is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(old), env.get("PYTHONPATH")]))
    cmd = [sys.executable, str(Path(__file__)), "--worker", mode, str(peak), "--", *args]
    before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp
    )
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    result: dict[str, Any] = {"wall": wall, "code": proc.returncode, "out": out, "err": err}
    result["cpu"] = _children_cpu() - before  # the one child that ran since
    result["rss"] = float(peak.read_text()) if peak.exists() else float("nan")
    if proc.returncode != 0:
        print(err[-2000:], file=sys.stderr)
    return result


def _children_cpu() -> float:
    """CPU seconds (user + system) of every child reaped so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def steps(text: str) -> dict[str, float]:
    """The step times ``convert -v`` prints ("write: 1.23 s")."""
    import re

    found = re.findall(rf"^({'|'.join(STEP_NAMES)}): ([0-9.]+) s", text, re.M)
    return {k: float(v) for k, v in found}


def measure_weights(model: Path, tmp: Path, old: Path | None, rounds: int) -> dict[str, list]:
    proto = HERE / "vgg16_deploy.prototxt"
    cases: dict[str, list] = {"baseline": [], "keras": [], "new": [], "old": []}
    for _ in range(rounds):
        cases["baseline"].append(run("baseline", [str(model), str(tmp / "b.h5")], tmp, None))
        cases["keras"].append(run("keras", [], tmp, None))
        for name, where in (("new", None), ("old", old)):
            if name == "old" and old is None:
                continue
            out = tmp / f"{name}.weights.h5"
            cmd = ["convert", str(proto), str(model), "-o", str(out), "--no-verify", "-v"]
            cases[name].append(run("cli", cmd, tmp, where))
            out.unlink(missing_ok=True)
        (tmp / "b.h5").unlink(missing_ok=True)
    return {k: v for k, v in cases.items() if v}


def measure_build(tmp: Path, old: Path | None, rounds: int) -> dict[str, dict[str, list]]:
    from bench_convert_all import caffemodel

    out: dict[str, dict[str, list]] = {}
    for net in BUILD_NETS:
        args = [str(ZOO / net / "net.prototxt"), str(caffemodel(net))]
        out[net] = {"new": [], "old": []}
        for _ in range(rounds):
            for name, where in (("new", None), ("old", old)):
                if name == "old" and old is None:
                    continue
                r = run("build", args, tmp, where)
                out[net][name].append(json.loads(r["out"].strip().splitlines()[-1]))
    return out


def med(rows: list[dict], key: str) -> float:
    return statistics.median(float(r[key]) for r in rows)


def weights_table(cases: dict[str, list]) -> str:
    lines = [
        "| case | wall s (median) | CPU s (median) | peak RSS MiB (max) | steps (median s) |",
        "|---|---:|---:|---:|---|",
    ]
    for name, rows in cases.items():
        found = [steps(r["err"] + r["out"]) for r in rows]
        keys = [k for k in STEP_NAMES if all(k in f for f in found)]
        text = ", ".join(f"{k} {statistics.median(f[k] for f in found):.2f}" for k in keys)
        rss = max(float(r["rss"]) for r in rows) / 2**20
        wall, cpu = med(rows, "wall"), med(rows, "cpu")
        lines.append(f"| {name} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {text} |")
    base, keras = med(cases["baseline"], "wall"), med(cases["keras"], "wall")
    base_cpu, keras_cpu = med(cases["baseline"], "cpu"), med(cases["keras"], "cpu")
    lines.append("")
    for name in ("new", "old"):
        if name in cases:
            wall = (med(cases[name], "wall") - keras) / base
            cpu = (med(cases[name], "cpu") - keras_cpu) / base_cpu
            lines.append(
                f"- {name}: (convert - import keras) / baseline = {wall:.2f} wall, {cpu:.2f} CPU "
                "(bound: 2)"
            )
    return "\n".join(lines)


def build_table(nets: dict[str, dict[str, list]]) -> str:
    lines = [
        "| net | code | first build s (wall / CPU) | second build s (wall / CPU) |",
        "|---|---|---:|---:|",
    ]
    for net, by_code in nets.items():
        for name, rows in by_code.items():
            if rows:
                first = f"{med(rows, 'first'):.2f} / {med(rows, 'first_cpu'):.2f}"
                second = f"{med(rows, 'second'):.2f} / {med(rows, 'second_cpu'):.2f}"
                lines.append(f"| {net} | {name} | {first} | {second} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, help="another checkout to measure side by side")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vgg16", type=Path, help="VGG-16 caffemodel (else made by synth.py)")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--skip-weights", action="store_true")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "PEAK_FILE"), help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker[0], args.args, args.worker[1])
    print(describe(), "\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-wonly-") as folder:
        tmp = Path(folder)
        old = args.old.resolve() if args.old else None
        if not args.skip_weights:
            model = args.vgg16
            if model is None:
                from synth import blob_plan, write_caffemodel

                model = tmp / "vgg16.caffemodel"
                write_caffemodel(model, blob_plan(HERE / "vgg16_deploy.prototxt"), "vgg16")
            print(weights_table(measure_weights(model, tmp, old, args.rounds)), "\n", flush=True)
        if not args.skip_build:
            print(build_table(measure_build(tmp, old, args.rounds)), flush=True)
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
