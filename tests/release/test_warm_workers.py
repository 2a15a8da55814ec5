"""``convert-all --jobs N``: warm workers convert many models each, yet a model that kills its
process fails alone (the worker is replaced), a fat worker retires, results keep the list's
order, outputs and reports equal one fresh process per model's, and Ctrl-C stops everything."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import shared_or_skip

from caffe2keras.convert_all.pool import Death, PoolOptions, Tasks, run_pool
from caffe2keras.convert_all.run import BatchOptions, run_all

from .pool_tasks import convert_or_die, die_or_echo, grow, spec

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"


def dead(item: str, death: Death) -> tuple[str, str]:
    return item, death.describe()


def test_a_worker_that_dies_fails_its_item_only_and_is_replaced() -> None:
    items = ["a", "kill", "b", "segv", "c", "exit", "d", "e"]
    results = run_pool(items, Tasks(task=die_or_echo), PoolOptions(jobs=2), on_death=dead)
    assert [r[0] for r in results] == items  # the list's order
    by_item = dict(results)
    assert "killed by SIGKILL (the kernel's out-of-memory killer sends it)" in by_item["kill"]
    assert "killed by SIGSEGV" in by_item["segv"]
    assert "exited with code 3 before reporting" in by_item["exit"]
    survivors = [by_item[i] for i in "abcde"]
    assert all(isinstance(pid, int) and pid != os.getpid() for pid in survivors)
    # three different workers died (two jobs): only replacements can have run the rest
    dead_pids = {int(by_item[i].split("(pid ")[1].split(")")[0]) for i in ("kill", "segv", "exit")}
    assert len(dead_pids) == 3 and os.getpid() not in dead_pids


def test_warm_workers_take_many_items_and_the_old_mode_one_each() -> None:
    items = [str(i) for i in range(6)]
    warm = run_pool(items, Tasks(task=die_or_echo), PoolOptions(jobs=2), on_death=dead)
    assert len({pid for _, pid in warm}) <= 2
    fresh = PoolOptions(jobs=2, max_tasks=1)
    old = run_pool(items, Tasks(task=die_or_echo), fresh, on_death=dead)
    assert len({pid for _, pid in old}) == len(items)


def test_a_worker_whose_memory_grew_past_the_limit_retires() -> None:
    items = [str(i) for i in range(4)]
    keep = run_pool(items, Tasks(task=grow), PoolOptions(jobs=1, max_rss_growth=None), dead)
    assert len({pid for _, pid in keep}) == 1  # no limit: one worker holds 256 MiB
    limited = PoolOptions(jobs=1, max_rss_growth=32 << 20)  # below the 64 MiB each item keeps
    recycled = run_pool(items, Tasks(task=grow), limited, dead)
    assert len({pid for _, pid in recycled}) == len(items)


def models(out: Path) -> list:
    """Four small nets of different kinds (one worker of two converts at least two of them)."""
    shared = shared_or_skip()
    layers, zoo = shared / "golden" / "layers", shared / "zoo"
    return [
        spec("tiny", TINY / "tiny.prototxt", TINY / "tiny.caffemodel", out, ["tiny.h5"]),
        spec(
            "lenet",
            zoo / "lenet.prototxt",
            zoo / "lenet_iter_10000.caffemodel",
            out,
            ["lenet.h5", "lenet.weights.h5"],
        ),
        *(
            spec(
                case,
                layers / case / "net.prototxt",
                layers / case / "weights.caffemodel",
                out,
                [f"{case}.h5"],
            )
            for case in ("conv_group", "lrn_across")
        ),
    ]


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.h5")}


def test_warm_outputs_and_reports_equal_one_process_per_model(tmp_path) -> None:
    runs = {}
    for mode, options in {
        "warm": BatchOptions(jobs=2),
        "cold": BatchOptions(jobs=2, process_per_model=True),
    }.items():
        out = tmp_path / mode
        out.mkdir()
        outcomes = run_all(models(out), options)
        assert [o.status for o in outcomes] == ["passed"] * 4, [o.error for o in outcomes]
        reports = [{k: v for k, v in o.report.items() if k != "seconds"} for o in outcomes]
        text = json.dumps(reports, sort_keys=True).replace(str(out), "OUT")
        runs[mode] = (digests(out), text)
    assert len(runs["warm"][0]) == 5
    # byte-identical .h5/.weights.h5, equal reports but for the time each conversion took
    assert runs["warm"] == runs["cold"]


def test_a_model_that_kills_its_worker_fails_alone(tmp_path) -> None:
    tiny = [TINY / "tiny.prototxt", TINY / "tiny.caffemodel"]
    specs = [
        spec("first", *tiny, tmp_path, ["first.h5"]),
        spec("die-here", *tiny, tmp_path, ["dead.h5"]),
        spec("after", *tiny, tmp_path, ["after.h5", "after.weights.h5"]),
    ]
    outcomes = run_all(specs, BatchOptions(jobs=2), task=convert_or_die)
    assert [o.name for o in outcomes] == ["first", "die-here", "after"]
    died = outcomes[1]
    assert died.exit_code == 70 and died.outputs == ()
    assert "model 'die-here' did not finish" in died.error and "SIGKILL" in died.error
    assert outcomes[0].passed and outcomes[2].passed
    # the killed writer's temporary file was removed; only the others' outputs exist
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["after.h5", "after.weights.h5", "first.h5"]


SCRIPT = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as a terminal job, even in a bg one
sys.path[:0] = {paths!r}
from pathlib import Path
from caffe2keras.cli.exits import run
from caffe2keras.convert_all.run import BatchOptions, run_all
from release.pool_tasks import block_in_write, spec
out, tiny = Path({out!r}), Path({tiny!r})
specs = [spec(n, tiny / "tiny.prototxt", tiny / "tiny.caffemodel", out, [n + ".h5"])
         for n in ("a", "b", "c")]
run(lambda: len(run_all(specs, BatchOptions(jobs=2), task=block_in_write)), False)
"""


@pytest.mark.parametrize("to_group", [True, False], ids=["terminal-ctrl-c", "parent-only"])
def test_ctrl_c_stops_the_batch_with_no_partial_outputs_and_no_workers(tmp_path, to_group):
    out, started = tmp_path / "out", tmp_path / "started"
    out.mkdir()
    started.mkdir()
    paths = [str(REPO / "tests"), str(REPO)]
    code = SCRIPT.format(paths=paths, out=str(out), tiny=str(TINY))
    child = subprocess.Popen(
        [sys.executable, "-c", code], start_new_session=True, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 600  # two workers importing TensorFlow on a loaded machine
    while len(list(started.iterdir())) < 2 and child.poll() is None:
        assert time.monotonic() < deadline, "the workers never started their models"
        time.sleep(0.1)  # waiting for a condition, not timing anything
    workers = [int(p.name) for p in started.iterdir()]
    assert len(workers) == 2 and child.pid not in workers
    assert len(list(out.iterdir())) == 2  # each worker holds a half-written output
    if to_group:
        os.killpg(child.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    else:
        child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=300)
    assert child.returncode == 130, stderr
    assert "interrupted; no output was written" in stderr
    assert list(out.iterdir()) == []  # no output, no temporary file
    for pid in workers:  # joined by the parent: neither running nor a zombie
        assert not Path(f"/proc/{pid}").exists()
    assert group_members(child.pid) == []  # nothing of the batch's process group is left


def group_members(pgid: int) -> list[str]:
    """Command lines of the live processes of a process group, less multiprocessing's resource
    tracker (it leaves by itself once its parent is gone: it reads the parent's pipe to EOF) and
    less processes already exiting (an empty command line: the kernel has released their memory;
    the tracker is one of them while it leaves)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue  # gone meanwhile
        exiting = fields[0] == "Z" or not cmdline.strip()
        if int(fields[2]) == pgid and not exiting and "resource_tracker" not in cmdline:
            found.append(cmdline)
    return found
