#!/usr/bin/env python3
"""Random valid BVLC nets: convert each, compare Keras with the numpy reference and the reference
with OpenCV; count and classify every disagreement.

The nets come from ``tests/fuzz/random_nets.py`` (deterministic in their seed: net i of a run has
seed ``--seed + i``); ``tests/fuzz/random_check.py`` converts and compares one. Every
disagreement is printed with its class and explanation (``unexplained`` when no known class
fits: those are the findings).

    python benchmarks/random_nets.py --count 1000 --seed 0 [--jobs 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "fuzz"))

for _var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # small nets: threads only contend
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _one(args: tuple[int, bool]) -> dict:
    from random_check import check_net

    seed, opencv = args
    with tempfile.TemporaryDirectory(prefix="random_net_") as folder:
        start = time.perf_counter()
        result = check_net(seed, Path(folder), opencv=opencv)
    return {
        "seed": result.seed,
        "features": list(result.features),
        "keras": result.keras,
        "opencv": result.opencv,
        "detail": result.detail,
        "notes": list(result.notes),
        "seconds": round(time.perf_counter() - start, 3),
    }


def _explain(outcome: str) -> str:
    from random_check import KERAS_CLASSES, KNOWN_GAP, OPENCV_CLASSES

    if outcome == "known_gap":
        return KNOWN_GAP
    if outcome == "refused":
        return "UNEXPLAINED (Caffe accepts every generated net)"
    key = outcome.split(":", 1)[-1]
    return KERAS_CLASSES.get(outcome) or OPENCV_CLASSES.get(key) or "UNEXPLAINED"


def summarize(rows: list[dict]) -> dict:
    """Counts by outcome, and features seen, for the printout and the JSON."""
    keras = Counter(r["keras"] for r in rows)
    opencv = Counter(r["opencv"] for r in rows)
    features = Counter(f for r in rows for f in r["features"])
    return {
        "nets": len(rows),
        "keras_vs_reference": dict(keras),
        "reference_vs_opencv": dict(opencv),
        "features": dict(features),
        "explanations": {o: _explain(o) for o in {**keras, **opencv} if o not in ("agree",)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--no-opencv", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    work = [(args.seed + i, not args.no_opencv) for i in range(args.count)]
    rows = []
    partial = args.json.with_suffix(".partial.jsonl") if args.json else None
    with Pool(args.jobs, maxtasksperchild=250) as pool:
        pending = [(w[0], pool.apply_async(_one, (w,))) for w in work]
        for seed, task in pending:
            try:  # a worker killed by a signal loses its task: never wait for it forever
                row = task.get(timeout=900)
            except multiprocessing.TimeoutError:
                row = {
                    "seed": seed,
                    "features": [],
                    "keras": "lost",
                    "opencv": "lost",
                    "detail": {},
                    "notes": [],
                    "seconds": 900.0,
                }
            rows.append(row)
            if partial is not None:  # a long run that is stopped still leaves its nets
                with partial.open("a") as out:
                    out.write(json.dumps(row) + "\n")
            if row["keras"] != "agree" or row["opencv"] not in ("agree", "known_gap"):
                print(
                    f"seed {row['seed']}: keras {row['keras']}, opencv {row['opencv']} "
                    f"{row['detail']} features={row['features']}",
                    flush=True,
                )
    summary = summarize(rows)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps({k: v for k, v in summary.items()}, indent=1))
    disagree = sum(r["keras"] != "agree" for r in rows)
    unexplained = sum(
        any("UNEXPLAINED" in _explain(o) for o in (r["keras"], r["opencv"]) if o != "agree")
        for r in rows
        if r["keras"] != "agree" or r["opencv"] != "agree"
    )
    print(
        f"{len(rows)} nets: {disagree} Keras-vs-reference disagreements, "
        f"{sum(r['opencv'] not in ('agree', 'known_gap') for r in rows)} reference-vs-OpenCV, "
        f"{unexplained} unexplained"
    )
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "nets": rows}, indent=1))
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
