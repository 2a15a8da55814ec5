#!/usr/bin/env python3
"""Benchmark ``caffe2keras convert`` on VGG-16-sized and > 2 GiB caffemodels.

Synthesises two caffemodels (``synth.py``: VGG-16, 553 MB; VGG-16 with fc6/fc7 widened to 13568,
2.21 GB), then measures on each, every case in a fresh subprocess and in one run:

  baseline   read the file's bytes, np.frombuffer each blob, write them all with h5py
  keras      ``import keras`` alone (the start-up any conversion pays)
  convert    ``caffe2keras convert`` to .weights.h5 and .h5, with --no-verify and with verification
  protobuf   protobuf's full parse + np.asarray of every blob (fails past 2 GiB)

Peak RSS is the child's own VmHWM read as it exits (getrusage's children figure is polluted by the
parent: Linux's ru_maxrss survives fork + exec). Also times ``caffe2keras --help`` (median of 5).
Prints a Markdown report; temporary files live in a temporary folder that is deleted.

    python benchmarks/bench_convert.py [--skip-big] [--skip-verify] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import describe  # noqa: E402
from synth import blob_plan, write_caffemodel  # noqa: E402

REPO = HERE.parent
GIB = 2**30
PYTHON = [sys.executable]  # the measured runs' interpreter (--python)
CPU_SEEN = [0.0]  # children's CPU seconds already attributed to a row
NETS = {"vgg16": HERE / "vgg16_deploy.prototxt", "vgg16_wide": HERE / "vgg16_wide_deploy.prototxt"}


def vm_hwm() -> int:
    """This process's peak resident set size in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _report_peak_at_exit(path: str) -> None:
    import atexit

    atexit.register(lambda: Path(path).write_text(str(vm_hwm())))


def worker(mode: str, args: list[str], peak_file: str) -> int:
    """Run one measured case in this process; its peak RSS goes to ``peak_file`` at exit."""
    _report_peak_at_exit(peak_file)
    if mode == "cli":
        from caffe2keras.cli import main

        sys.argv = ["caffe2keras", *args]
        main()
    elif mode == "keras":
        import keras  # noqa: F401
    elif mode == "baseline":
        baseline(Path(args[0]), Path(args[1]))
    return 0


def baseline(model: Path, out: Path) -> None:
    """Read the bytes, take every blob as np.frombuffer (the wire scan), write them with h5py."""
    import h5py

    from caffe2keras.frontend.blobs import parse_caffemodel_bytes

    data = model.read_bytes()
    net = parse_caffemodel_bytes(data, str(model))
    with h5py.File(out, "w") as f:
        for layer in net.layers:
            for i, blob in enumerate(layer.blobs):
                f.create_dataset(f"{layer.name}/{i}", data=blob)


def run(mode: str, args: list[str], tmp: Path) -> dict[str, float | str]:
    """One case in a fresh interpreter: wall seconds, CPU seconds (user + system, all threads),
    peak RSS bytes, exit code."""
    peak = tmp / "peak.txt"
    peak.unlink(missing_ok=True)
    cmd = [PYTHON[0], str(Path(__file__)), "--worker", mode, str(peak), "--", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - CPU_SEEN[0]
    CPU_SEEN[0] += cpu
    result: dict[str, float | str] = {"wall": wall, "cpu": cpu, "code": proc.returncode}
    result["rss"] = float(peak.read_text()) if peak.exists() else float("nan")
    if proc.returncode not in (0, 1):
        result["error"] = (err.strip().splitlines() or ["?"])[-1][:160]
    return result


def protobuf(model: Path) -> dict[str, float | str]:
    """bench_reader's protobuf worker: full parse + every blob as an array."""
    cmd = [PYTHON[0], str(HERE / "bench_reader.py"), "--worker", "protobuf", str(model)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SEEN[0] = usage.ru_utime + usage.ru_stime
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    row: dict[str, float | str] = {"wall": wall, "rss": out["rss_mb"] * 2**20, "code": 0}
    if "error" in out:
        row["error"] = out["error"]
    return row


def median_wall(cmd: list[str], n: int = 5) -> float:
    """Median wall time of ``cmd`` over ``n`` runs."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, cwd="/")
        times.append(time.perf_counter() - start)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SEEN[0] = usage.ru_utime + usage.ru_stime
    return statistics.median(times)


def startup() -> str:
    """``caffe2keras --help`` (the installed console script) next to a bare interpreter start."""
    script = Path(PYTHON[0]).with_name("caffe2keras")
    cmd = [str(script)] if script.exists() else [PYTHON[0], "-m", "caffe2keras.cli"]
    help_s = median_wall([*cmd, "--help"])
    bare = median_wall([PYTHON[0], "-c", "pass"])
    return (
        f"`caffe2keras --help`: median of 5 = {help_s:.3f} s (`python -c pass`, median of 5, "
        f"at the same time: {bare:.3f} s)"
    )


def cases(verify: bool) -> list[tuple[str, str, list[str]]]:
    """(label, output suffix, extra flags) of the convert runs."""
    out = [("convert -> .weights.h5 --no-verify", ".weights.h5", ["--no-verify"])]
    out.append(("convert -> .h5 --no-verify", ".h5", ["--no-verify"]))
    if verify:
        out.append(("convert -> .weights.h5 (verified)", ".weights.h5", []))
        out.append(("convert -> .h5 (verified)", ".h5", []))
    return out


def measure(name: str, tmp: Path, verify: bool, full: bool) -> tuple[int, dict[str, dict]]:
    """Synthesise one model and run every case on it."""
    proto = NETS[name]
    model = tmp / f"{name}.caffemodel"
    size = write_caffemodel(model, blob_plan(proto), name)
    rows: dict[str, dict] = {}
    base_args = [str(model), str(tmp / "b.h5")]
    rows["baseline: read + frombuffer + h5py"] = run("baseline", base_args, tmp)
    rows["import keras"] = run("keras", [], tmp)
    for label, suffix, flags in cases(verify) if full else cases(False)[:1]:
        out = tmp / f"out{suffix}"
        rows[label] = run("cli", ["convert", str(proto), str(model), "-o", str(out), *flags], tmp)
        out.unlink(missing_ok=True)
    rows["protobuf ParseFromString + arrays"] = protobuf(model)
    for leftover in (model, tmp / "b.h5"):
        leftover.unlink(missing_ok=True)
    return size, rows


def table(name: str, size: int, rows: dict[str, dict]) -> str:
    """A Markdown table with the issue's two bounds checked on the --no-verify weights run."""
    base, keras = rows["baseline: read + frombuffer + h5py"], rows["import keras"]
    wall_bound = 2 * base["wall"] + keras["wall"]
    rss_bound = 1.2 * size + 0.7 * GIB
    lines = [
        f"**{name}**: {size / 1e6:.1f} MB caffemodel ({size / GIB:.2f} GiB). Bounds: wall <= 2 x "
        f"baseline + import keras = {wall_bound:.1f} s; peak RSS <= 1.2 x size + 0.7 GiB = "
        f"{rss_bound / 2**20:.0f} MiB.",
        "",
        "| case | wall s | CPU s | peak RSS MiB | wall / bound | RSS / bound | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for label, r in rows.items():
        note = f"FAILED: {r['error']}" if "error" in r else ""
        if r.get("code") == 1:
            note = "verification failed (exit 1)"
        lines.append(
            f"| {label} | {r['wall']:.2f} | {r.get('cpu', float('nan')):.2f} | "
            f"{r['rss'] / 2**20:.0f} | "
            f"{r['wall'] / wall_bound:.2f} | {r['rss'] / rss_bound:.2f} | {note} |"
        )
    return "\n".join(lines + issue15(size, rows))


def issue15(size: int, rows: dict[str, dict]) -> list[str]:
    """Issue 15's two bounds: weights-only speed and the verified .h5's peak RSS."""
    base, keras = rows["baseline: read + frombuffer + h5py"], rows["import keras"]
    out = [""]
    fast = rows.get("convert -> .weights.h5 --no-verify")
    if fast and "error" not in fast:
        wall = (fast["wall"] - keras["wall"]) / base["wall"]
        cpu = (fast["cpu"] - keras["cpu"]) / base["cpu"]
        out.append(
            f"Weights-only, unverified: (convert - import keras) / baseline = {wall:.2f} (wall), "
            f"{cpu:.2f} (CPU seconds); issue 15: <= 2."
        )
    bound = 1.2 * size + 0.9 * GIB
    for label in ("convert -> .h5 --no-verify", "convert -> .h5 (verified)"):
        if label in rows:
            rss = rows[label]["rss"]
            out.append(
                f"{label}: peak RSS {rss / GIB:.2f} GiB = {rss / bound:.2f} x (1.2 x size + "
                f"0.9 GiB = {bound / GIB:.2f} GiB); issue 15: <= 1."
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-big", action="store_true", help="only the 553 MB model")
    parser.add_argument("--skip-verify", action="store_true", help="no verified conversions")
    parser.add_argument("--keep", type=Path, help="work in this folder instead of a temp one")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter of the measured runs (another checkout's venv: a side-by-side run)",
    )
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "PEAK_FILE"), help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker[0], args.args, args.worker[1])
    PYTHON[0] = args.python
    print(describe(), "\n")
    where = subprocess.run(
        [PYTHON[0], "-c", "import caffe2keras; print(caffe2keras.__file__)"],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",  # not this checkout: -c puts the working folder first on sys.path
    ).stdout.strip()
    print(f"Measured: `{PYTHON[0]}` with caffe2keras from `{where}`.\n")
    print(startup(), "\n")
    with tempfile.TemporaryDirectory(dir=args.keep) as tmp:
        names = ["vgg16"] if args.skip_big else ["vgg16", "vgg16_wide"]
        for name in names:
            size, rows = measure(name, Path(tmp), not args.skip_verify, full=name == "vgg16")
            print(table(name, size, rows), "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
