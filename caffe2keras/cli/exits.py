"""The one place where errors become messages and exit codes, and Ctrl-C becomes exit 130.

Every command runs its work through :func:`run`. Nothing here imports TensorFlow or Keras.

A command's process also ends without the interpreter's last garbage collections
(:func:`freeze_at_exit`): with TensorFlow and Keras loaded, Python's finalization spent 1-2 s
tracing their ~400,000 objects for cycles after the output was already written.
"""

from __future__ import annotations

import atexit
import functools
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from caffe2keras.errors import Caffe2KerasError
from caffe2keras.runtime import interrupts, quiet

EXIT_INTERNAL = 70
EXIT_OUT_OF_MEMORY = 71


def parse_shape(text: str) -> tuple[str, tuple[int, ...]]:
    name, sep, dims = text.rpartition("=")
    try:
        shape = tuple(int(d) for d in dims.split(","))
    except ValueError:
        shape = ()
    if not sep or not name or not shape or any(d <= 0 for d in shape):
        raise click.BadParameter(f"expected NAME=N,C,H,W with positive integers, got '{text}'")
    return name, shape


def parse_shapes(values: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    return dict(parse_shape(v) for v in values)


def parse_npy(values: tuple[str, ...], inputs: list[str] | None = None) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, path = v.rpartition("=")
        out[name if sep else ""] = path
    return out


def _interrupted() -> NoReturn:
    click.echo("interrupted; no output was written", err=True)
    sys.exit(130)


@contextmanager
def _sigint_seen() -> Iterator[None]:
    """Record a Ctrl-C (still raising KeyboardInterrupt, like Python's own handler): a library
    may turn the KeyboardInterrupt into another exception (h5py does, mid-write), or drop it when
    it lands in a garbage-collector callback; :mod:`caffe2keras.runtime.interrupts` keeps the
    record."""
    interrupts.clear()  # a record left by an earlier call in this process is not this run's
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        interrupts.record()
        raise KeyboardInterrupt

    previous_hook = sys.unraisablehook
    signal.signal(signal.SIGINT, handler)
    sys.unraisablehook = interrupts.quiet_dropped_interrupts(previous_hook)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.unraisablehook = previous_hook


def _out_of_memory(exc: BaseException) -> bool:
    """Python's MemoryError, or TensorFlow's ResourceExhaustedError (without importing it)."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError"


@functools.cache  # once per process
def freeze_at_exit() -> None:
    """At interpreter exit, move every object still alive out of the garbage collector's sight
    (``gc.freeze``) before Python's finalization runs its collections.

    Those collections trace every live object for cycles to free memory the process is about to
    give back anyway; with TensorFlow and Keras loaded that is most of the exit's time. Nothing
    else changes: the handler runs after the atexit handlers registered later (TensorFlow's,
    h5py's, ``weakref.finalize``), and before those registered earlier; every one still runs,
    standard streams are still flushed, modules are still torn down and objects freed by their
    reference counts. Only objects kept alive by a reference cycle alone at exit are not
    finalized, which Python never promised (and every output was closed and renamed by then).
    Registered by the CLI only: a library caller's process is its own.
    """
    atexit.register(gc.freeze)


def run(fn: Callable[[], int], debug: bool) -> None:
    """Call ``fn``; our errors become one clear line and their exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    quiet.install()  # and what it logs before reading that (absl, oneDNN)
    freeze_at_exit()
    with _sigint_seen():
        _call(fn, debug)


def _call(fn: Callable[[], int], debug: bool) -> None:
    try:
        code = fn()
        interrupts.check()  # a Ctrl-C some library dropped: still an interruption
    except Caffe2KerasError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException:  # a bad option value found late: still a usage error (2)
        raise
    except KeyboardInterrupt:
        _interrupted()
    except Exception as exc:  # an internal bug: say so plainly, traceback only with --debug
        if interrupts.pending():  # the Ctrl-C surfaced as another exception
            _interrupted()
        if debug:
            raise
        if _out_of_memory(exc):
            click.echo(
                f"error: out of memory ({type(exc).__name__}); nothing was written. A verified "
                "conversion holds the Keras model, the reference and both sets of activations: "
                "try smaller --input-shape values (batch 1), or --no-verify",
                err=True,
            )
            sys.exit(EXIT_OUT_OF_MEMORY)
        click.echo(
            f"internal error ({type(exc).__name__}): {exc}. Re-run with --debug for the "
            "traceback and please report it.",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(code)
