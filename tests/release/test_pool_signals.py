"""The worker pool's Ctrl-C windows, provoked deterministically in a child batch: a SIGINT whose
KeyboardInterrupt a finalizer drops just before the parent waits, and a SIGINT that lands in
the middle of a worker's spawn. Either way the batch must stop (exit 130) and leave no worker.
The hooks send the signal themselves at the chosen point: nothing depends on timing. A batch
started with SIGINT ignored (a background job of a script, ``nohup``) ignores it in its workers
too, as in its parent: a Ctrl-C test run that way used to hang, the parent ignoring the signal
and its workers not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .test_warm_workers import group_members

REPO = Path(__file__).resolve().parents[2]

PRELUDE = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as a terminal job, even in a bg one
sys.path[:0] = {paths!r}
from pathlib import Path
from caffe2keras.cli.exits import run
from caffe2keras.convert_all import pool
from caffe2keras.convert_all.pool import PoolOptions, Tasks, run_pool
from release.pool_tasks import wait_for_ctrl_c
marker = Path({marker!r})

def let_the_handler_run():
    for _ in range(1000):  # backward jumps: the interpreter runs pending signal handlers here
        pass

def batch():
    items = ["a", "b"]
    tasks = Tasks(task=wait_for_ctrl_c)
    return len(run_pool(items, tasks, PoolOptions(jobs={jobs}), on_death=lambda i, d: None))
"""

# The parent's first wait is preceded by a SIGINT raised inside a finalizer: Python reports the
# KeyboardInterrupt as "Exception ignored" and drops it. The workers block until they get
# SIGINT, so only the parent noticing the signal can end the batch.
DROPPED = """
class Dropper:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        let_the_handler_run()

real_wait = pool.wait

def wait_after_a_dropped_ctrl_c(objects, timeout=None):
    if not marker.exists():
        Dropper()  # collected at once: __del__ runs, the handler's exception is dropped
        marker.write_text("dropped")  # reached: the KeyboardInterrupt did not propagate
    return real_wait(objects, timeout)

pool.wait = wait_after_a_dropped_ctrl_c
run(batch, False)
"""

# SIGINT right after the worker process exists, before the parent has recorded it (inside
# multiprocessing's Popen): the KeyboardInterrupt must not leave that process untracked.
MID_SPAWN = """
import multiprocessing.util as mp_util

real_spawn = mp_util.spawnv_passfds

def spawn_then_ctrl_c(path, args, passfds):
    pid = real_spawn(path, args, passfds)
    if "spawn_main" in " ".join(map(str, args)) and not marker.exists():
        marker.write_text(str(pid))
        os.kill(os.getpid(), signal.SIGINT)
        let_the_handler_run()
    return pid

mp_util.spawnv_passfds = spawn_then_ctrl_c
run(batch, False)
"""


@pytest.mark.parametrize(
    ("script", "jobs"), [(DROPPED, 2), (MID_SPAWN, 1)], ids=["dropped-interrupt", "mid-spawn"]
)
def test_ctrl_c_in_the_pools_windows_stops_the_batch(tmp_path, script, jobs) -> None:
    marker = tmp_path / "provoked"
    paths = [str(REPO / "tests"), str(REPO)]
    code = PRELUDE.format(paths=paths, marker=str(marker), jobs=jobs) + script
    child = subprocess.Popen(
        [sys.executable, "-c", code], start_new_session=True, stderr=subprocess.PIPE, text=True
    )
    try:
        _, stderr = child.communicate(timeout=240)  # a guard: the batch hangs without the fix
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        pytest.fail("the batch never acted on the Ctrl-C")
    assert marker.exists(), "the hook never provoked the window"
    assert child.returncode == 130, stderr
    assert "interrupted; no output was written" in stderr
    assert "Traceback" not in stderr  # no worker left to die of a broken spawn
    assert group_members(child.pid) == []


IGNORED = """
signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a background job of a script starts
from release.pool_tasks import ctrl_c_to_my_group
tasks = Tasks(task=ctrl_c_to_my_group)
pids = run_pool(["a", "b", "c"], tasks, PoolOptions(jobs=2), on_death=lambda i, d: d.describe())
marker.write_text(repr(pids))
"""


def test_a_batch_started_with_ctrl_c_ignored_ignores_it_in_its_workers_too(tmp_path) -> None:
    marker = tmp_path / "pids"
    paths = [str(REPO / "tests"), str(REPO)]
    code = PRELUDE.format(paths=paths, marker=str(marker), jobs=2) + IGNORED
    child = subprocess.run(
        [sys.executable, "-c", code], start_new_session=True, capture_output=True, text=True
    )
    assert child.returncode == 0, child.stderr
    pids = eval(marker.read_text())  # noqa: S307  (our own repr of a list of ints)
    assert all(isinstance(p, int) for p in pids), pids  # no item's worker died of the SIGINT
