"""Ctrl-C bookkeeping shared by the command line's SIGINT handler and the atomic writers.

Python runs a signal handler between two bytecodes of the main thread. When that happens inside
a garbage-collector callback (JAX installs one), the ``KeyboardInterrupt`` the handler raises is
reported as "Exception ignored" and dropped, and the conversion would carry on and commit its
output. So the handler also records the signal here, and :func:`check` runs before an output is
renamed into place: a recorded Ctrl-C is raised again there, and nothing is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_seen: list[bool] = []


def record() -> None:
    """Note that a Ctrl-C arrived (called by the signal handler)."""
    _seen.append(True)


def pending() -> bool:
    """Whether a Ctrl-C arrived since the last :func:`clear`."""
    return bool(_seen)


def clear() -> None:
    _seen.clear()


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C arrived, even one a library swallowed."""
    if _seen:
        raise KeyboardInterrupt


def quiet_dropped_interrupts(previous: Callable[[Any], object]) -> Callable[[Any], None]:
    """An ``sys.unraisablehook`` that stays silent about a recorded Ctrl-C dropped by a callback
    (it is acted on later, by :func:`check`) and passes everything else to ``previous``."""

    def hook(unraisable: Any) -> None:
        if not (_seen and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            previous(unraisable)

    return hook
