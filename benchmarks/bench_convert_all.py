#!/usr/bin/env python3
"""Benchmark ``caffe2keras convert-all --jobs N``: warm workers against one process per model.

Makes the zoo weights of the 15 ``../shared/golden/zoo`` classification/FCN models (all but
mobilenet_ssd) with ``../shared/tools/make_caffemodel.py``, cached in a temporary folder that
later runs reuse, writes a convert-all list (each model verified into one ``.h5``, at its
golden's input shapes) and times, alternating in one run:

  warm      ``convert-all --jobs N``: N worker processes, each converts many models
  old       ``convert-all --jobs N --process-per-model``: a fresh process per model (``--no-old``:
            skipped)
  warm --threads T  (``--threads T``, repeatable) warm with T TensorFlow/BLAS threads per worker
  DIR name  (``--main DIR``, repeatable) the same list converted by another checkout's code, e.g.
            the pre-issue code (its ProcessPoolExecutor); the child runs in that folder (from
            this repository's root, ``python -m`` would put this checkout first on sys.path)

Each run is a fresh ``python -m caffe2keras.cli`` child. CPU seconds: user + system of the child
and its joined workers (``RUSAGE_CHILDREN``), less sensitive to a shared machine's load than wall
time, and what threads spinning against each other cost. Peak RSS of the process tree: the largest
sum of the tree's VmRSS, sampled every 0.2 s (a sample can miss a short peak). Checks that every
mode gave each model the same verdict and prints a Markdown table with warm / the first
``--main`` checkout (issue 15's bound, against the pre-issue code: <= 0.40), else warm / old.
Runs of this checkout pass ``--timeline``: each worker's start-up and each model's start, end
and step times are printed after the table.

    python benchmarks/bench_convert_all.py [--jobs 2] [--rounds 1] [--main /work/pre15] [--no-old]

``measure(jobs, old, workdir)`` is the library entry point (``bench_verify.py`` calls it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import describe  # noqa: E402

REPO = HERE.parent
SHARED = REPO.parent / "shared"
MIB = 2**20
BOUND = 0.40
CACHE = Path(tempfile.gettempdir()) / "caffe2keras-bench-zoo-weights"


def zoo_models() -> list[str]:
    """The 15 zoo goldens other than the detection model."""
    root = SHARED / "golden" / "zoo"
    return sorted(p.name for p in root.iterdir() if p.name != "mobilenet_ssd")


def caffemodel(name: str, cache: Path = CACHE) -> Path:
    """The zoo model's weights (made once, deterministic bytes; lenet's are given)."""
    meta = json.loads((SHARED / "golden" / "zoo" / name / "meta.json").read_text())
    if meta.get("weights") == "given":
        return SHARED / "zoo" / f"{name}_iter_10000.caffemodel"
    out = cache / f"{name}.caffemodel"
    if not out.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        tool = SHARED / "tools" / "make_caffemodel.py"
        manifest = SHARED / "golden" / "zoo" / name / "manifest.json"
        subprocess.run([sys.executable, str(tool), str(manifest), str(tmp)], check=True)
        tmp.replace(out)
    return out


def input_shapes(name: str) -> dict[str, list[int]]:
    import numpy as np

    with np.load(SHARED / "golden" / "zoo" / name / "golden.npz") as z:
        return {k[6:]: list(z[k].shape) for k in z.files if k.startswith("input/")}


def write_list(workdir: Path, models: list[str]) -> Path:
    """The convert-all list (JSON) of ``models``, one verified ``.h5`` each."""
    entries = [
        {
            "name": name,
            "prototxt": str(SHARED / "golden" / "zoo" / name / "net.prototxt"),
            "caffemodel": str(caffemodel(name)),
            "input_shapes": input_shapes(name),
            "outputs": [f"{name}.h5"],
        }
        for name in models
    ]
    path = workdir / "zoo.json"
    path.write_text(json.dumps({"models": entries}, indent=1))
    return path


def _tree_rss(root: int) -> int:
    """Sum of VmRSS over ``root`` and its descendants, in bytes (0 once it is gone)."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            total += next(
                int(line.split()[1]) * 1024 for line in status.splitlines() if line[:6] == "VmRSS:"
            )
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def _children_cpu() -> float:
    """User + system CPU seconds of this process's waited-for children and their descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    jobs: int,
    old: bool,
    workdir: str | os.PathLike[str],
    models: list[str] | None = None,
    checkout: str | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """One ``convert-all`` run of the zoo list in a fresh child: wall seconds, peak tree RSS,
    exit code and each model's status. ``old``: ``--process-per-model``; ``checkout``: run that
    checkout's code instead of this one's (its own convert-all, without the flag)."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    config = write_list(workdir, models or zoo_models())
    mode = Path(checkout).name if checkout else ("old" if old else "warm")
    mode += f" --threads {threads}" if threads else ""
    out = workdir / f"out-{mode}-{time.monotonic_ns()}"
    cmd = [sys.executable, "-m", "caffe2keras.cli", "convert-all", str(config), "--jobs", str(jobs)]
    cmd += ["--out-dir", str(out), "-q"] + (["--process-per-model"] if old and not checkout else [])
    timeline = workdir / f"timeline-{out.name}.json"  # its folder must exist beforehand
    cmd += [] if checkout else ["--timeline", str(timeline)]
    cmd += ["--threads", str(threads)] if threads else []
    # The child runs in the checkout: ``python -m`` puts its working folder first on sys.path,
    # ahead of PYTHONPATH, so from this repository's root another checkout would not be used.
    code = Path(checkout or REPO).resolve()
    env = dict(os.environ, PYTHONPATH=str(code))
    cpu_before = _children_cpu()
    start = time.perf_counter()
    child = subprocess.Popen(
        cmd, env=env, cwd=code, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    peak = [0]

    def sample() -> None:
        while child.poll() is None:
            peak[0] = max(peak[0], _tree_rss(child.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = child.communicate()[0].decode("utf-8", "replace")
    wall = time.perf_counter() - start
    sampler.join()
    cpu = _children_cpu() - cpu_before  # the tree's: the workers were joined by the child
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return {
        "mode": mode,
        "jobs": jobs,
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_tree_rss_mib": peak[0] / MIB,
        "exit_code": child.returncode,
        "verdicts": {m["name"]: m["status"] for m in report.get("models", [])},
        "timeline": json.loads(timeline.read_text()) if timeline.exists() else None,
        "output": output[-2000:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds of each mode")
    parser.add_argument(
        "--main",
        action="append",
        default=[],
        help="also run this checkout's code (e.g. /work/main; repeatable; named by its folder)",
    )
    parser.add_argument("--no-old", action="store_true", help="skip the --process-per-model run")
    parser.add_argument(
        "--threads",
        action="append",
        type=int,
        default=[],
        help="also run warm with --threads N (repeatable), e.g. 2 against the default",
    )
    parser.add_argument("--models", help="comma-separated subset of the zoo models")
    args = parser.parse_args()
    models = args.models.split(",") if args.models else zoo_models()
    print(f"{describe()}\n", flush=True)
    for name in models:
        caffemodel(name)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-convert-all-") as tmp:
        for _ in range(args.rounds):
            modes = [(False, None, None)] + ([] if args.no_old else [(True, None, None)])
            modes += [(False, None, n) for n in args.threads]
            modes += [(False, main, None) for main in args.main]
            for old, checkout, threads in modes:
                run = measure(args.jobs, old, tmp, models, checkout, threads)
                print(
                    f"{run['mode']}: {run['wall_s']:.1f} s, peak tree RSS "
                    f"{run['peak_tree_rss_mib']:.0f} MiB, exit {run['exit_code']}",
                    flush=True,
                )
                runs.append(run)
    base = Path(args.main[0]).name if args.main else "old"
    return report(runs, models, args.jobs, base)


def print_timeline(mode: str, doc: dict[str, Any]) -> None:
    """Per worker: its start-up, then each model's start, end and step seconds (from the
    batch's start; ``convert-all --timeline``)."""
    print(f"\n{mode}: per worker, seconds from the batch's start")
    by_pid: dict[int, list[dict[str, Any]]] = {}
    for m in doc["models"]:
        by_pid.setdefault(m.get("pid", 0), []).append(m)
    for pid, ms in by_pid.items():
        up = doc["workers"].get(str(pid))
        ready = f"start-up {up['start_up']:.1f}-{up['ready']:.1f}" if up else ""
        print(f"- worker {pid} {ready}")
        for m in sorted(ms, key=lambda m: m.get("start", 0)):
            steps = " ".join(f"{k} {v:.2f}" for k, v in m.get("steps", {}).items())
            print(f"  {m['name']:<16} {m.get('start', 0):6.1f} -> {m.get('end', 0):6.1f}  {steps}")


def report(runs: list[dict[str, Any]], models: list[str], jobs: int, base: str = "old") -> int:
    """The table; ratios against ``base`` (the first ``--main`` checkout, else ``old``)."""
    by_mode: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_mode.setdefault(run["mode"], []).append(run)
    best = {mode: min(r["wall_s"] for r in rs) for mode, rs in by_mode.items()}
    print(f"\n`convert-all --jobs {jobs}` of {len(models)} zoo models, load at end ", end="")
    print(" ".join(f"{x:.1f}" for x in os.getloadavg()) + "\n")
    print(
        f"| mode | runs | wall s (each) | best / {base} | CPU s (each) | peak tree RSS MiB "
        "| exit | verdicts |"
    )
    print("|---|---:|---|---:|---|---:|---:|---|")
    for mode, rs in by_mode.items():
        walls = ", ".join(f"{r['wall_s']:.1f}" for r in rs)
        cpus = ", ".join(f"{r['cpu_s']:.1f}" for r in rs)
        peak = max(r["peak_tree_rss_mib"] for r in rs)
        verdicts = sorted({s for r in rs for s in r["verdicts"].values()})
        codes = sorted({r["exit_code"] for r in rs})
        ratio = best[mode] / best[base] if base in best else float("nan")
        print(
            f"| {mode} | {len(rs)} | {walls} | {ratio:.2f} | {cpus} | {peak:.0f} | {codes} "
            f"| {verdicts} |"
        )
    same = len({json.dumps(r["verdicts"], sort_keys=True) for r in runs}) == 1
    complete = all(len(r["verdicts"]) == len(models) for r in runs)
    ratio = best.get("warm", 0) / best[base] if base in best else float("nan")
    print(
        f"\nsame verdicts in every run: {same and complete}; warm / {base} = {ratio:.2f} ", end=""
    )
    print(f"(bound <= {BOUND})")
    for run in runs:
        if run["timeline"]:
            print_timeline(run["mode"], run["timeline"])
    for run in runs:
        if run["exit_code"] != 0:
            print(f"\n{run['mode']} exit {run['exit_code']}:\n{run['output']}")
    return 0 if same and complete and ratio <= BOUND else 1


if __name__ == "__main__":
    sys.exit(main())
