"""Stage an output (a file or a whole folder) beside its target; put it in place only when told.

A verified export is written, then run in its own runtime, and only then committed: the staged
output must survive the check and vanish when the check fails, on an error or on Ctrl-C. A
folder output (a SavedModel) appears whole or not at all: it is renamed into place in one step
(an existing SavedModel at the target is swapped out first, then removed).
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from caffe2keras.errors import OutputError, UsageError
from caffe2keras.runtime import interrupts

# Test hook: set to "staged" and the process sends itself SIGINT once the staged output exists
# (tests/export prove a Ctrl-C there leaves neither the output nor a temporary behind).
INTERRUPT_HOOK = "CAFFE2KERAS_TEST_INTERRUPT"


@dataclass
class Staged:
    """The temporary path to write; ``commit`` decides whether it replaces the target."""

    path: Path
    commit: bool = False


def staged_paths(target: Path) -> list[Path]:
    """The temporaries this process would leave beside ``target`` (for tests and clean-up)."""
    return sorted(target.parent.glob(f".{target.name}.*.partial*"))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _put_in_place(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; a folder target (an earlier export) is swapped out first."""
    if not target.is_dir():
        os.replace(tmp, target)
        return
    old = target.with_name(f".{target.name}.{os.getpid()}.partial-old")
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError:
        os.replace(old, target)  # put the earlier output back
        raise
    _remove(old)


def interrupt_hook() -> None:
    """Send this process SIGINT when the test hook asks for it (see :data:`INTERRUPT_HOOK`)."""
    if os.environ.get(INTERRUPT_HOOK) == "staged":
        os.kill(os.getpid(), signal.SIGINT)


@contextmanager
def staged(target: str | os.PathLike[str], suffix: str = "") -> Iterator[Staged]:
    """A temporary path beside ``target``; it replaces the target on exit only when the caller
    set ``commit``, and is removed in every other case (failure, error, Ctrl-C)."""
    target = Path(target)
    if not target.absolute().parent.is_dir():
        raise UsageError(f"the output folder '{target.parent}' does not exist")
    stage = Staged(target.with_name(f".{target.name}.{os.getpid()}.partial{suffix}"))
    try:
        yield stage
        if stage.commit:
            interrupts.check()  # a Ctrl-C dropped mid-write still keeps the output out
            _put_in_place(stage.path, target)
    except OSError as exc:  # a read-only folder, a full disk: the environment, not a bug
        raise OutputError(f"cannot write '{target}': {exc.strerror or exc}") from exc
    finally:
        _remove(stage.path)
