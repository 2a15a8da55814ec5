#!/usr/bin/env python3
"""Fuzz ``caffe2keras convert`` with mutated prototxts and caffemodels; report every outcome.

Each case takes a seed net (the bundled fixture or a small hand-written one, see
``tests/fuzz/seeds.py``), mutates its prototxt text, its caffemodel bytes, or both (truncation, bit
flips, corrupted length fields, duplicated/missing/swapped layers, changed numbers and names,
NaN/Inf weights), sometimes swaps or empties the files, and runs the CLI in-process. Outcomes are
counted by kind; the goal is zero runs ending in anything but our own errors (exit 0-4 with one
``error:`` line) and zero files left behind. Cases are deterministic in (--seed, case index).

    python benchmarks/fuzz.py [--cases 10000] [--jobs 2] [--seed 0] [--verify-share 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "fuzz"))

from harness import Outcome, run_convert  # noqa: E402
from mutations import CAFFEMODEL_MUTATORS, PROTOTXT_MUTATORS, mutate  # noqa: E402
from seeds import seed_nets  # noqa: E402

SUFFIXES = (".h5", ".keras", ".weights.h5")


def make_case(seed: int, index: int) -> tuple[str, bytes, bytes, str]:
    """(description, prototxt, caffemodel, output suffix) of case ``index``."""
    rng = random.Random(f"{seed}:{index}")
    name, proto, model = rng.choice(seed_nets())
    roll = rng.random()
    rounds = rng.choice((1, 1, 1, 2, 3))
    if roll < 0.45:
        what, proto = "prototxt", mutate(proto, rng, PROTOTXT_MUTATORS, rounds)
    elif roll < 0.9:
        what, model = "caffemodel", mutate(model, rng, CAFFEMODEL_MUTATORS, rounds)
    elif roll < 0.96:
        what = "both"
        proto = mutate(proto, rng, PROTOTXT_MUTATORS, rounds)
        model = mutate(model, rng, CAFFEMODEL_MUTATORS, rounds)
    elif roll < 0.98:
        what, proto, model = "swapped", model, proto
    else:
        what = "empty"
        proto, model = (b"", model) if rng.random() < 0.5 else (proto, b"")
    return f"{name}/{what}", proto, model, rng.choice(SUFFIXES)


_FOLDER: Path | None = None


def _init() -> None:
    global _FOLDER
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _FOLDER = Path(tempfile.mkdtemp(prefix=f"c2k-fuzz-{os.getpid()}-"))


def run_case(job: tuple[int, int, float]) -> tuple[int, str, Outcome]:
    seed, index, verify_share = job
    what, proto, model, suffix = make_case(seed, index)
    verify = random.Random(f"v{seed}:{index}").random() < verify_share
    assert _FOLDER is not None
    outcome = run_convert(_FOLDER / "case", proto, model, suffix=suffix, verify=verify)
    return index, what, outcome


def family(message: str) -> str:
    """An error message with its specifics (paths, names, numbers) blanked, to group by cause."""
    line = next((x for x in message.splitlines() if "rror: " in x), message[:200])
    line = re.sub(r"'[^']*'|\"[^\"]*\"|/\S+|\d+", "_", line.split("rror: ", 1)[-1])
    return line[:90]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verify-share", type=float, default=0.5, help="share of cases verified")
    ap.add_argument("--json", help="also write the summary as JSON here")
    ap.add_argument("--dump", type=int, metavar="CASE", help="write one case's files and exit")
    args = ap.parse_args()
    if args.dump is not None:
        what, proto, model, suffix = make_case(args.seed, args.dump)
        folder = Path(tempfile.mkdtemp(prefix=f"c2k-case{args.dump}-"))
        (folder / "net.prototxt").write_bytes(proto)
        (folder / "net.caffemodel").write_bytes(model)
        print(f"{what}: caffe2keras convert {folder}/net.prototxt {folder}/net.caffemodel "
              f"-o {folder}/out{suffix} --debug")  # fmt: skip
        return 0
    seed_nets()  # build the seeds once before forking
    start = time.time()
    kinds: Counter[str] = Counter()
    families: Counter[str] = Counter()
    mismatches: list[str] = []
    by_what: Counter[str] = Counter()
    findings: list[dict] = []
    leftovers = 0
    jobs = [(args.seed, i, args.verify_share) for i in range(args.cases)]
    with Pool(args.jobs, initializer=_init) as pool:
        for n, (index, what, out) in enumerate(pool.imap_unordered(run_case, jobs, 8), 1):
            kinds[out.kind] += 1
            by_what[f"{what.split('/')[1]}:{out.kind}"] += 1
            leftovers += bool(out.leftovers)
            if out.exit_code >= 2:
                families[family(out.message)] += 1
            if out.exit_code == 1 and "caffemodel" not in what:  # weights intact: worth a look
                mismatches.append(f"{index} {what}")
            if not out.ours or out.leftovers:
                findings.append({"case": index, "what": what, "exit": out.exit_code,
                                 "kind": out.kind, "leftovers": list(out.leftovers),
                                 "message": out.message[-2000:]})  # fmt: skip
            if n % 500 == 0:
                print(f"  {n}/{args.cases} cases, {time.time() - start:.0f} s", flush=True)
    elapsed = time.time() - start
    not_ours = sum(v for k, v in kinds.items() if k in ("internal", "uncaught"))
    summary = {
        "cases": args.cases,
        "seconds": round(elapsed, 1),
        "outcomes": dict(sorted(kinds.items())),
        "by_mutation": dict(sorted(by_what.items())),
        "not_our_errors": not_ours,
        "cases_with_leftover_files": leftovers,
        "top_error_families": dict(families.most_common(25)),
        "mismatches_with_intact_weights": mismatches[:50],
        "findings": findings[:50],
    }
    for f in findings[:20]:
        print(f"case {f['case']} ({f['what']}): exit {f['exit']} {f['kind']} "
              f"leftovers={f['leftovers']}\n    {f['message'][-600:]}")  # fmt: skip
    print(json.dumps({k: v for k, v in summary.items() if k != "findings"}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0 if not not_ours and not leftovers else 1


if __name__ == "__main__":
    sys.exit(main())
