"""Helpers for tests that drive background threads (tests/verify/test_producer.py,
test_handover.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable


def wait_for(condition: Callable[[], bool], what: str = "the other thread") -> None:
    """Until ``condition()`` holds (a thread's progress, not a timing: 30 s means it hung)."""
    done = threading.Event()
    for _ in range(30_000):
        if condition():
            return
        done.wait(0.001)
    raise AssertionError(f"{what} never got there")
