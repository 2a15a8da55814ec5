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


def _input_shape(rng: random.Random) -> tuple[str, ...]:
    """Sometimes an --input-shape override for the seeds' input 'data' (odd sizes stress the
    shape rules, pooling rounding and crops)."""
    if rng.random() >= 0.1:
        return ()
    rank = rng.choice((2, 4, 4, 4))
    dims = [rng.choice((1, 2))] + [rng.randint(1, 40) for _ in range(rank - 1)]
    return ("--input-shape", "data=" + ",".join(map(str, dims)))


def case_options(seed: int, index: int, verify_share: float) -> tuple[bool, tuple[str, ...]]:
    """Whether case ``index`` verifies, and its extra CLI arguments."""
    rng = random.Random(f"v{seed}:{index}")
    return rng.random() < verify_share, _input_shape(rng)


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


def _init() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def run_case(job: tuple[int, int, float, str]) -> tuple[int, str, Outcome]:
    """Run case ``index`` in this worker's folder under ``root`` (emptied after each case)."""
    seed, index, verify_share, root = job
    what, proto, model, suffix = make_case(seed, index)
    verify, extra = case_options(seed, index, verify_share)
    folder = Path(root) / f"worker{os.getpid()}"
    outcome = run_convert(folder, proto, model, suffix=suffix, verify=verify, extra=extra)
    return index, what, outcome


def family(message: str) -> str:
    """An error message with its specifics (paths, names, numbers) blanked, to group by cause."""
    line = next((x for x in message.splitlines() if "rror: " in x), message[:200])
    line = re.sub(r"'[^']*'|\"[^\"]*\"|/\S+|\d+", "_", line.split("rror: ", 1)[-1])
    return line[:90]


class Tally:
    """Outcome counts of a run, and the cases worth a look."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.by_what: Counter[str] = Counter()
        self.families: Counter[str] = Counter()
        self.mismatches: list[str] = []
        self.findings: list[dict] = []
        self.leftovers = 0

    def add(self, index: int, what: str, out: Outcome) -> None:
        self.kinds[out.kind] += 1
        self.by_what[f"{what.split('/')[1]}:{out.kind}"] += 1
        self.leftovers += bool(out.leftovers)
        if out.exit_code >= 2:
            self.families[family(out.message)] += 1
        if out.exit_code == 1 and "caffemodel" not in what:  # weights intact: worth a look
            self.mismatches.append(f"{index} {what}")
        if not out.ours or out.leftovers:
            self.findings.append({"case": index, "what": what, "exit": out.exit_code,
                                  "kind": out.kind, "leftovers": list(out.leftovers),
                                  "message": out.message[-2000:]})  # fmt: skip

    def summary(self, cases: int, seconds: float) -> dict:
        return {
            "cases": cases,
            "seconds": round(seconds, 1),
            "outcomes": dict(sorted(self.kinds.items())),
            "by_mutation": dict(sorted(self.by_what.items())),
            "not_our_errors": self.kinds["internal"] + self.kinds["uncaught"],
            "cases_with_leftover_files": self.leftovers,
            "top_error_families": dict(self.families.most_common(25)),
            "mismatches_with_intact_weights": self.mismatches[:50],
            "findings": self.findings[:50],
        }


def dump(seed: int, index: int, verify_share: float) -> None:
    """Write one case's files to a new folder and print the command that reproduces it."""
    what, proto, model, suffix = make_case(seed, index)
    folder = Path(tempfile.mkdtemp(prefix=f"c2k-case{index}-"))
    (folder / "net.prototxt").write_bytes(proto)
    (folder / "net.caffemodel").write_bytes(model)
    verify, extra = case_options(seed, index, verify_share)
    flags = " ".join([*extra, "" if verify else "--no-verify", "--debug"])
    print(f"{what}: caffe2keras convert {folder}/net.prototxt {folder}/net.caffemodel "
          f"-o {folder}/out{suffix} {flags}")  # fmt: skip


def fuzz(cases: int, jobs: int, seed: int, verify_share: float) -> dict:
    """Run the cases over ``jobs`` processes; the summary."""
    seed_nets()  # build the seeds once before forking
    start, tally = time.time(), Tally()
    with tempfile.TemporaryDirectory(prefix="c2k-fuzz-") as root:
        work = [(seed, i, verify_share, root) for i in range(cases)]
        with Pool(jobs, initializer=_init) as pool:
            for n, (index, what, out) in enumerate(pool.imap_unordered(run_case, work, 8), 1):
                tally.add(index, what, out)
                if n % 500 == 0:
                    print(f"  {n}/{cases} cases, {time.time() - start:.0f} s", flush=True)
    return tally.summary(cases, time.time() - start)


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
        dump(args.seed, args.dump, args.verify_share)
        return 0
    summary = fuzz(args.cases, args.jobs, args.seed, args.verify_share)
    for f in summary["findings"][:20]:
        print(f"case {f['case']} ({f['what']}): exit {f['exit']} {f['kind']} "
              f"leftovers={f['leftovers']}\n    {f['message'][-600:]}")  # fmt: skip
    print(json.dumps({k: v for k, v in summary.items() if k != "findings"}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0 if not summary["not_our_errors"] and not summary["cases_with_leftover_files"] else 1


if __name__ == "__main__":
    sys.exit(main())
