"""The CLI's process skips the interpreter's last garbage collections (``exits.freeze_at_exit``)
and nothing else: the exit code is the command's, every atexit handler and
``weakref.finalize`` still runs (in order), streams are flushed. Only the CLI registers it."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from caffe2keras.cli import exits

# A command run through exits.run in a fresh interpreter: it registers an atexit handler and a
# finalizer, leaves a reference cycle and unflushed output, and returns exit code 5.
CHILD = """
import atexit, gc, sys, weakref
from caffe2keras.cli import exits

class Node:
    pass

def command():
    atexit.register(lambda: print("atexit handler ran", flush=True))
    held = Node()
    weakref.finalize(held, print, "finalizer ran", flush=True)
    sys.modules["__main__"].held = held  # alive until exit
    cycle = Node()
    cycle.self = cycle
    sys.stdout.write("unflushed output")
    return 5

atexit.register(lambda: print("frozen before this one:", gc.get_freeze_count() > 0, flush=True))
exits.run(command, debug=False)
"""


def test_process_exit_keeps_code_handlers_and_output():
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
    assert proc.returncode == 5, proc.stderr
    out = proc.stdout
    assert out.startswith("unflushed output"), out
    assert "finalizer ran\n" in out and "atexit handler ran\n" in out, out
    # atexit runs last-in first-out: the freeze ran before the handler registered before run()
    assert out.endswith("frozen before this one: True\n"), out


def test_registered_once_and_only_by_run(monkeypatch):
    registered: list[object] = []
    monkeypatch.setattr(exits.atexit, "register", registered.append)
    exits.freeze_at_exit.cache_clear()
    try:
        assert registered == []  # importing the CLI registers nothing
        for _ in range(2):
            with pytest.raises(SystemExit) as exit_info:
                exits.run(lambda: 0, debug=False)
            assert exit_info.value.code == 0
        assert registered == [gc.freeze]
    finally:
        exits.freeze_at_exit.cache_clear()
