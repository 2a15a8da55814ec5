#!/usr/bin/env python3
"""Benchmark verification (issue 15): verify step against a steady forward pass, peak RSS.

For DenseNet-121 and ResNet-50 (zoo prototxts, weights made by
``../shared/tools/make_caffemodel.py``) and VGG-16 (``vgg16_deploy.prototxt``, weights by
``synth.py``), every case in a fresh interpreter (peak RSS = the child's own VmHWM at exit, as
``bench_convert.py`` measures it):

  convert   ``caffe2keras convert -v -o x.h5`` (verified): the step times it prints, peak RSS
  predict   the same model built in a child: steady ``model.predict`` of the same batch-2 input
            (median of 5 after 2 warm-ups); then, in that child, ``verify_model`` streamed with
            its split (Keras walk / reference passes / comparisons) and the old full-trace path
            (``verify/traced.py``) on the same model and inputs, side by side
  VGG-16    ``.weights.h5 --no-verify``: (convert - ``import keras``) / baseline (read + h5py
            write, ``bench_convert.baseline``)
  convert-all  ``bench_convert_all.measure`` (warm workers vs ``--process-per-model``) when that
            script exists

Prints a Markdown table: each row's value, bound and verdict (bounds of issue 15: verify /
predict <= 8; verified DenseNet-121 ``.h5`` peak <= 1.2 GiB; verified VGG-16 ``.h5`` peak <= 1.2 x
caffemodel + 0.9 GiB; VGG-16 weights-only ratio <= 2; convert-all warm / old <= 0.40).

    python benchmarks/bench_verify.py [--nets densenet121,resnet50,vgg16] [--no-convert-all]
        [--no-traced] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
from synth import blob_plan, write_caffemodel  # noqa: E402

SHARED = HERE.parent.parent / "shared"
GIB, MIB = 2**30, 2**20
ZOO = ("densenet121", "resnet50")
STEPS = ("read", "keras", "build", "verify", "write")


def prototxt(name: str) -> Path:
    if name == "vgg16":
        return HERE / "vgg16_deploy.prototxt"
    return SHARED / "golden" / "zoo" / name / "net.prototxt"


def make_weights(name: str, folder: Path) -> Path:
    """The caffemodel of ``name`` in ``folder`` (made once)."""
    out = folder / f"{name}.caffemodel"
    if out.exists():
        return out
    if name == "vgg16":
        write_caffemodel(out, blob_plan(prototxt(name)), name)
    else:
        tool = SHARED / "tools" / "make_caffemodel.py"
        manifest = SHARED / "golden" / "zoo" / name / "manifest.json"
        subprocess.run([sys.executable, str(tool), str(manifest), str(out)], check=True)
    return out


def worker(mode: str, args: list[str], peak_file: str) -> int:
    """One measured case in this process; its peak RSS goes to ``peak_file`` at exit."""
    _report_peak_at_exit(peak_file)
    if mode == "cli":
        from caffe2keras.cli import main

        sys.argv = ["caffe2keras", *args]
        main()
    elif mode == "keras":
        import keras  # noqa: F401
    elif mode == "baseline":
        baseline(Path(args[0]), Path(args[1]))
    elif mode == "predict":
        print(json.dumps(predict_and_verify(args[0], args[1], traced=args[2] == "traced")))
    return 0


def predict_and_verify(proto: str, model_file: str, traced: bool) -> dict[str, float]:
    """Steady predict of the verification batch, then verify_model (streamed, then traced)."""
    from caffe2keras import api
    from caffe2keras.keras_model.model import build_model
    from caffe2keras.verify.compare import Tolerance
    from caffe2keras.verify.run import verify_model
    from caffe2keras.verify.walk import model_feed

    opts = api.ConvertOptions()
    net = api.load(proto, model_file, opts)
    built = build_model(net.keras)
    inputs, _ = api.make_inputs(net, opts)
    feed = model_feed(built.model, inputs, net.keras)
    x = feed[0] if len(feed) == 1 else feed
    times, cpu = [], []
    for i in range(7):
        start, cpu0 = time.perf_counter(), time.process_time()
        built.model.predict(x, verbose=0)
        if i >= 2:
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - cpu0)
    # CPU seconds (all threads of this process) beside wall: less sensitive to a busy machine
    out = {"predict": statistics.median(times), "predict_cpu": statistics.median(cpu)}
    args = (net, built.model, built.blob_layers, inputs)
    timings: dict[str, float] = {}
    start, cpu0 = time.perf_counter(), time.process_time()
    report = verify_model(*args, tolerance=Tolerance(), timings=timings)
    out["streamed"] = time.perf_counter() - start
    out["streamed_cpu"] = time.process_time() - cpu0
    out.update({f"streamed_{k}": v for k, v in timings.items()})
    out["passed"] = float(report.passed)
    if traced:
        from caffe2keras.verify.traced import verify_model_traced

        start, cpu0 = time.perf_counter(), time.process_time()
        old = verify_model_traced(*args, tolerance=Tolerance())
        out["traced"] = time.perf_counter() - start
        out["traced_cpu"] = time.process_time() - cpu0
        out["same_verdict"] = float(old.passed == report.passed)
    return out


def run(mode: str, args: list[str], tmp: Path) -> dict[str, Any]:
    """One case in a fresh interpreter: wall seconds, peak RSS bytes, exit code, output."""
    peak = tmp / "peak.txt"
    peak.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__)), "--worker", mode, str(peak), "--", *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    result: dict[str, Any] = {"wall": wall, "code": proc.returncode}
    result["rss"] = float(peak.read_text()) if peak.exists() else float("nan")
    result["out"], result["err"] = proc.stdout, proc.stderr
    if proc.returncode not in (0, 1):
        print(proc.stderr[-3000:], file=sys.stderr)
    return result


def steps(text: str) -> dict[str, float]:
    """The step times ``convert -v`` prints ("verify: 5.04 s")."""
    found = re.findall(rf"^({'|'.join(STEPS)}): ([0-9.]+) s", text, re.M)
    return {k: float(v) for k, v in found}


def measure_net(name: str, tmp: Path, traced: bool) -> dict[str, Any]:
    model = make_weights(name, tmp)
    proto = prototxt(name)
    out = tmp / "out.h5"
    conv = run("cli", ["convert", "-v", str(proto), str(model), "-o", str(out)], tmp)
    out.unlink(missing_ok=True)
    pred = run("predict", [str(proto), str(model), "traced" if traced else "-"], tmp)
    lines = pred["out"].strip().splitlines()
    return {
        "size": model.stat().st_size,
        "convert": conv,
        "steps": steps(conv["out"] + conv["err"]),
        "predict": json.loads(lines[-1]) if pred["code"] == 0 and lines else {},
    }


def weights_only(tmp: Path) -> dict[str, float]:
    """VGG-16 .weights.h5 --no-verify against the baseline and ``import keras``, one after the
    other (bench_convert's cases)."""
    model = make_weights("vgg16", tmp)
    base = run("baseline", [str(model), str(tmp / "b.h5")], tmp)
    keras = run("keras", [], tmp)
    out = tmp / "o.weights.h5"
    cmd = ["convert", str(prototxt("vgg16")), str(model), "-o", str(out), "--no-verify"]
    conv = run("cli", cmd, tmp)
    for leftover in (out, tmp / "b.h5"):
        leftover.unlink(missing_ok=True)
    return {"baseline": base["wall"], "keras": keras["wall"], "convert": conv["wall"]}


def convert_all() -> dict[str, float] | None:
    """warm / old of ``bench_convert_all.measure`` (--jobs 2), or None when absent."""
    if not (HERE / "bench_convert_all.py").exists():
        return None
    import bench_convert_all

    with tempfile.TemporaryDirectory(prefix="bench-verify-all-") as tmp:
        old = bench_convert_all.measure(2, True, tmp)
        warm = bench_convert_all.measure(2, False, tmp)
    return {"old": old["wall_s"], "warm": warm["wall_s"]}


def row(what: str, value: float, bound: float | None, text: str) -> str:
    verdict = "-" if bound is None else ("ok" if value <= bound else "**over**")
    shown = "-" if bound is None else f"{bound:.2f}"
    return f"| {what} | {value:.2f} | {shown} | {verdict} | {text} |"


def report(nets: dict[str, dict], weights: dict | None, everything: dict | None) -> str:
    lines = [
        "| net | case | value | bound | verdict | how |",
        "|---|---|---:|---:|---|---|",
    ]
    rss_bounds = {"densenet121": lambda size: 1.2 * GIB, "vgg16": lambda s: 1.2 * s + 0.9 * GIB}
    for name, m in nets.items():
        verify, p = m["steps"].get("verify", float("nan")), m["predict"]
        predict = p.get("predict", float("nan"))
        text = f"verify {verify:.2f} s / predict {predict:.3f} s"
        lines.append(row(f"{name} | verify / steady predict", verify / predict, 8, text))
        if "streamed_cpu" in p:
            ratio = p["streamed_cpu"] / p["predict_cpu"]
            text = f"CPU s in one child: verify_model {p['streamed_cpu']:.2f} / predict "
            text += f"{p['predict_cpu']:.3f} (old path: {p.get('traced_cpu', float('nan')):.2f})"
            lines.append(row(f"{name} | verify / predict, CPU time", ratio, 8, text))
        rss = m["convert"]["rss"]
        bound = rss_bounds[name](m["size"]) / GIB if name in rss_bounds else None
        text = f"verified .h5, {m['size'] / 1e6:.0f} MB caffemodel; exit {m['convert']['code']}"
        lines.append(row(f"{name} | peak RSS GiB", rss / GIB, bound, text))
    if weights:
        ratio = (weights["convert"] - weights["keras"]) / weights["baseline"]
        text = (
            f"({weights['convert']:.2f} - {weights['keras']:.2f}) s / {weights['baseline']:.2f} s"
        )
        lines.append(row("vgg16 | .weights.h5 --no-verify / baseline", ratio, 2, text))
    if everything is None:
        lines.append(
            "| zoo | convert-all warm / old | - | 0.40 | - | bench_convert_all.py absent |"
        )
    elif everything:
        text = f"--jobs 2: {everything['warm']:.1f} s / {everything['old']:.1f} s"
        lines.append(
            row("zoo | convert-all warm / old", everything["warm"] / everything["old"], 0.4, text)
        )
    lines += [
        "",
        "| net | " + " | ".join(STEPS) + " | walk | reference | compare | streamed "
        "| traced | predict |",
        "|---|" + "---:|" * (len(STEPS) + 6),
    ]
    for name, m in nets.items():
        p = m["predict"]
        cells = [f"{m['steps'].get(s, float('nan')):.2f}" for s in STEPS]
        cells += [
            f"{p.get(k, float('nan')):.2f}"
            for k in (
                "streamed_keras",
                "streamed_reference",
                "streamed_compare",
                "streamed",
                "traced",
            )
        ]
        cells.append(f"{p.get('predict', float('nan')):.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default="densenet121,resnet50,vgg16")
    parser.add_argument("--no-convert-all", action="store_true")
    parser.add_argument("--no-weights-only", action="store_true")
    parser.add_argument("--no-traced", action="store_true", help="skip the old path's timing")
    parser.add_argument("--keep", type=Path, help="work (and cache weights) in this folder")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "PEAK_FILE"), help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker[0], args.args, args.worker[1])
    print(describe(), "\n", flush=True)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.keep) as folder:
        tmp = args.keep or Path(folder)
        nets = {}
        for name in args.nets.split(","):
            nets[name] = measure_net(name, tmp, not args.no_traced)
            print(f"{name}: {json.dumps(nets[name]['steps'])} {nets[name]['predict']}", flush=True)
        weights = None if args.no_weights_only else weights_only(tmp)
        everything = {} if args.no_convert_all else convert_all()
        print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
        print(report(nets, weights, everything))
    return 0


if __name__ == "__main__":
    sys.exit(main())
