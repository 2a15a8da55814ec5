#!/usr/bin/env python3
"""Issue 15's weights-only bound and the Keras build step, this checkout against another one.

Two measurements, every case a fresh interpreter, cases alternating round by round so a busy
machine slows them alike:

  weights   VGG-16 (553 MB) ``caffe2keras convert -o x.weights.h5 --no-verify -v`` of this
            checkout (``new``) and of ``--old DIR`` (another checkout, put first on
            ``PYTHONPATH``), beside ``import keras`` and the baseline (read + np.frombuffer + h5py
            write of the same blobs, ``bench_convert.baseline``). Bound: (convert - import keras)
            / baseline <= 2, wall seconds on a quiet machine.
  build     ``build_model`` of DenseNet-121 and ResNet-152 (zoo prototxts, weights from
            ``bench_convert_all.caffemodel``), built twice in one process: the second build is
            the one ``convert-all``'s warm workers pay per model.

Each weights case runs under a small probe (``python -c PROBE``: no import of its own before the
measured code) that stamps the clock when the script starts, after the measured import, and in
the last atexit handler (registered first, so it runs last); the parent stamps the launch and
the exit. So each process's wall time splits into interpreter (launch -> the script runs),
import (of ``caffe2keras.cli``, of ``keras``, or of the baseline's module), the work (``-v``
steps for convert, the rest as "other"), and teardown (the last atexit handler -> the process
gone: the interpreter's finalization). Per case: median and
range (min-max) of wall, CPU seconds (user + system of the child, all threads) and each part;
the ratio is given per round (paired cases) and from the medians, with and without teardown.

    python benchmarks/bench_weights_only.py --old /tmp/before [--rounds 5] [--skip-build]
        [--vgg16 FILE.caffemodel]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

REPO = HERE.parent
ZOO = REPO.parent / "shared" / "golden" / "zoo"
BUILD_NETS = ("densenet121", "resnet152")
STEP_NAMES = ("read", "keras", "build", "write")
CASES = ("baseline", "keras", "new", "old")

# The measured process: stamps on stderr, nothing imported before the measured code but time.
PROBE = r"""
import atexit, sys, time
def _stamp(what):
    sys.stderr.write(f"\nPROBE {what} {time.time():.6f}\n"); sys.stderr.flush()
_stamp("start")
atexit.register(_stamp, "atexit")  # registered first: runs last
mode, args = sys.argv[1], sys.argv[2:]
if mode == "cli":
    from caffe2keras.cli import main
    _stamp("imported")
    sys.argv = ["caffe2keras", *args]
    main()
elif mode == "keras":
    import keras
    _stamp("imported")
else:
    sys.path.insert(0, args[0])
    from bench_convert import baseline
    from pathlib import Path
    _stamp("imported")
    baseline(Path(args[1]), Path(args[2]))
"""


def worker(mode: str, args: list[str], peak_file: str) -> int:
    """One measured build case in this process."""
    from bench_convert import _report_peak_at_exit

    _report_peak_at_exit(peak_file)
    if mode == "build":
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
    """One build case in a fresh interpreter (``old``: that checkout's package first on the
    path)."""
    peak = tmp / "peak.txt"
    peak.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__)), "--worker", mode, str(peak), "--", *args]
    result = _spawn(cmd, tmp, old)
    result["rss"] = float(peak.read_text()) if peak.exists() else float("nan")
    return result


def _spawn(cmd: list[str], tmp: Path, old: Path | None) -> dict[str, Any]:
    """Run ``cmd``: its wall and CPU seconds, output, exit code and the launch/exit clocks."""
    env = dict(os.environ)
    if old is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(old), env.get("PYTHONPATH")]))
    before = _children_cpu()
    launch, start = time.time(), time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp
    )
    out, err = proc.communicate()
    wall, end = time.perf_counter() - start, time.time()
    result: dict[str, Any] = {"wall": wall, "code": proc.returncode, "out": out, "err": err}
    result.update(cpu=_children_cpu() - before, launch=launch, end=end)  # the one child since
    if proc.returncode != 0:
        print(err[-2000:], file=sys.stderr)
    return result


def _children_cpu() -> float:
    """CPU seconds (user + system) of every child reaped so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def steps(text: str) -> dict[str, float]:
    """The step times ``convert -v`` prints ("write: 1.23 s")."""
    found = re.findall(rf"^({'|'.join(STEP_NAMES)}): ([0-9.]+) s", text, re.M)
    return {k: float(v) for k, v in found}


def probed(mode: str, args: list[str], tmp: Path, old: Path | None) -> dict[str, float]:
    """One weights case under the probe, split into its parts (seconds)."""
    r = _spawn([sys.executable, "-c", PROBE, mode, *args], tmp, old)
    if r["code"] != 0:
        raise SystemExit(f"{mode} failed with exit code {r['code']}")
    stamps = dict((k, float(v)) for k, v in re.findall(r"^PROBE (\w+) ([0-9.]+)$", r["err"], re.M))
    parts = {"wall": r["wall"], "cpu": r["cpu"]}
    parts["interpreter"] = stamps["start"] - r["launch"]
    parts["import"] = stamps["imported"] - stamps["start"]  # caffe2keras.cli, keras, h5py
    parts["teardown"] = r["end"] - stamps["atexit"]
    parts["work"] = stamps["atexit"] - stamps["imported"]  # to the last atexit handler
    parts["wall_to_atexit"] = r["wall"] - parts["teardown"]
    found = steps(r["err"])
    parts.update(found)
    if found:
        parts["other"] = parts["work"] - sum(found.values())
    return parts


def measure_weights(model: Path, tmp: Path, old: Path | None, rounds: int) -> dict[str, list]:
    """Every case once per round, in the order of ``CASES``."""
    proto = HERE / "vgg16_deploy.prototxt"
    cases: dict[str, list] = {name: [] for name in CASES}
    for _ in range(rounds):
        cases["baseline"].append(
            probed("baseline", [str(HERE), str(model), str(tmp / "b.h5")], tmp, None)
        )
        cases["keras"].append(probed("keras", [], tmp, None))
        for name, where in (("new", None), ("old", old)):
            if name == "old" and old is None:
                continue
            out = tmp / f"{name}.weights.h5"
            cmd = ["convert", str(proto), str(model), "-o", str(out), "--no-verify", "-v"]
            cases[name].append(probed("cli", cmd, tmp, where))
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


PARTS = ("wall", "cpu", "interpreter", "import", "work", *STEP_NAMES, "other", "teardown")


def _cell(rows: list[dict], key: str) -> str:
    values = [r[key] for r in rows if key in r]
    if not values:
        return ""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def _ratios(cases: dict[str, list], name: str, part: str) -> str:
    """(case - import keras) / baseline of ``part``: per round (median, range), and of medians."""
    rows, keras, base = cases[name], cases["keras"], cases["baseline"]
    per = [(r[part] - k[part]) / b["wall"] for r, k, b in zip(rows, keras, base)]
    of_medians = (med(rows, part) - med(keras, part)) / med(base, "wall")
    fastest = [min(r[part] for r in case) for case in (rows, keras)]  # the least disturbed run
    of_minima = (fastest[0] - fastest[1]) / min(b["wall"] for b in base)
    return (
        f"{of_medians:.2f} from the medians, {of_minima:.2f} from the minima; per round "
        f"{statistics.median(per):.2f} ({min(per):.2f}-{max(per):.2f})"
    )


def weights_table(cases: dict[str, list]) -> str:
    lines = [
        "Seconds, median (min-max) of the rounds; CPU: user + system of the process.",
        "",
        "| part | " + " | ".join(cases) + " |",
        "|---|" + "---:|" * len(cases),
    ]
    for part in PARTS:
        lines.append(
            f"| {part} | " + " | ".join(_cell(rows, part) for rows in cases.values()) + " |"
        )
    lines.append("")
    for name in ("new", "old"):
        if name in cases:
            wall = _ratios(cases, name, "wall")
            work = _ratios(cases, name, "wall_to_atexit")
            cpu = (med(cases[name], "cpu") - med(cases["keras"], "cpu")) / med(
                cases["baseline"], "cpu"
            )
            lines.append(
                f"- {name}: (convert - import keras) / baseline = {wall} (bound: 2); without "
                f"either process's teardown: {work}; CPU seconds: {cpu:.2f}"
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
    from machine import describe

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
