"""Rerun the numeric tests under several BLAS settings and print the worst error/bound ratios.

float32 sums in numpy depend on OpenBLAS's kernel (chosen by CPU, or ``OPENBLAS_CORETYPE``) and
thread count, so a bound that holds on one machine may not hold on another (issue 11). This
script runs the numeric tests once per setting, with ``C2K_BOUNDS_LOG`` set so that every bound
checked through ``tests/bounds.py`` logs its (error, bound) pair, and prints one row per setting:
the OpenBLAS kernel actually loaded (threadpoolctl), pytest's counts, and the worst ratio with
the check it came from. A ratio below 1 passes; the margin is how far below.

    python benchmarks/numeric_settings.py                      # the five settings of issue 11
    python benchmarks/numeric_settings.py --only default,threads1 -- -m "not slow"

Needs ``threadpoolctl`` (a dependency of the package). CI itself stays one run; this is for people.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SETTINGS: dict[str, dict[str, str]] = {
    "default": {},
    "threads1": {"OPENBLAS_NUM_THREADS": "1"},
    "threads2": {"OPENBLAS_NUM_THREADS": "2"},
    "haswell": {"OPENBLAS_CORETYPE": "Haswell"},
    "prescott": {"OPENBLAS_CORETYPE": "Prescott"},
    "sandybridge": {"OPENBLAS_CORETYPE": "Sandybridge"},
}
DEFAULT_SETTINGS = ("default", "threads1", "threads2", "haswell", "prescott")

NUMERIC_TESTS = (
    "tests/reference",
    "tests/test_zoo.py",
    "tests/test_layer_goldens.py",
    "tests/test_bounds.py",
    "tests/builders/test_extra_goldens.py",
    "tests/frontend/test_v1_format.py",
    "tests/verify",
    "tests/release/test_backends.py",
)

KERNEL_PROBE = (
    "import json, numpy, threadpoolctl\n"
    "print(json.dumps([{k: i.get(k) for k in ('internal_api', 'architecture', 'num_threads',"
    " 'version')} for i in threadpoolctl.threadpool_info()]))\n"
)


def blas_kernel(env: dict[str, str]) -> str:
    """The BLAS libraries numpy loads under ``env``: kernel and thread count."""
    out = subprocess.run(
        [sys.executable, "-c", KERNEL_PROBE], env=env, capture_output=True, text=True, check=True
    )
    libs = json.loads(out.stdout)
    return ", ".join(f"{i['internal_api']} {i['architecture']} x{i['num_threads']}" for i in libs)


def counts(output: str) -> str:
    """pytest's closing line, e.g. '412 passed, 3 skipped in 301.2s'."""
    lines = [ln for ln in output.splitlines() if re.search(r"\b(passed|failed|error)", ln)]
    return lines[-1].strip("= ") if lines else "no summary (see the log)"


def worst(log: Path) -> tuple[int, dict | None]:
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return len(rows), max(rows, key=lambda r: r["ratio"], default=None)


def run(name: str, tests: list[str], pytest_args: list[str], out_dir: Path) -> dict:
    env = {**os.environ, **SETTINGS[name]}
    log = out_dir / f"{name}.jsonl"
    log.unlink(missing_ok=True)
    env["C2K_BOUNDS_LOG"] = str(log)
    kernel = blas_kernel(env)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args, *tests],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    (out_dir / f"{name}.out").write_text(proc.stdout + proc.stderr)
    checked, top = worst(log)
    return {
        "setting": name,
        "env": " ".join(f"{k}={v}" for k, v in SETTINGS[name].items()) or "(none)",
        "kernel": kernel,
        "exit": proc.returncode,
        "counts": counts(proc.stdout),
        "seconds": round(time.monotonic() - start),
        "bounds_checked": checked,
        "worst_ratio": top["ratio"] if top else None,
        "worst_check": f"{top['test']} :: {top['what']}" if top else "",
    }


def table(results: list[dict]) -> str:
    head = "| setting | env | BLAS kernel | pytest | bounds checked | worst err/bound | where |"
    lines = [head, "|---|---|---|---|---:|---:|---|"]
    for r in results:
        ratio = "-" if r["worst_ratio"] is None else f"{r['worst_ratio']:.3f}"
        lines.append(
            f"| {r['setting']} | {r['env']} | {r['kernel']} | {r['counts']} (exit {r['exit']}) "
            f"| {r['bounds_checked']} | {ratio} | {r['worst_check']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help=f"comma-separated settings of {', '.join(SETTINGS)}")
    parser.add_argument("--tests", nargs="+", default=list(NUMERIC_TESTS))
    parser.add_argument("--out", type=Path, help="folder for logs (default: a temporary one)")
    parser.add_argument("pytest_args", nargs="*", help="after --: extra pytest arguments")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(DEFAULT_SETTINGS)
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        parser.error(f"unknown settings {unknown}; choose from {list(SETTINGS)}")
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="numeric_settings_"))
    out_dir.mkdir(parents=True, exist_ok=True)
    pytest_args = args.pytest_args or ["-n", "2"]
    results = []
    for name in names:
        result = run(name, args.tests, pytest_args, out_dir)
        results.append(result)
        print(json.dumps(result), flush=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1))
    print(table(results))
    print(f"logs: {out_dir}")
    return 0 if all(r["exit"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
