"""Progress of long steps (reading, building, verifying, writing) without a dependency.

The library reports through a :class:`Reporter`; it never prints. :class:`NullReporter` (the
default) ignores everything. The CLI passes a :class:`TerminalReporter`, which draws a one-line bar
on stderr when stderr is a terminal and, with ``verbose``, prints each step's time and details.
A redraw thread keeps the elapsed time moving during steps that cannot count (a Keras save).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import IO, Protocol

BAR_WIDTH = 24
REDRAW_SECONDS = 0.2


class Step(Protocol):
    """A running step: count units of work, attach a note for the verbose summary."""

    def advance(self, n: int = 1) -> None: ...

    def note(self, text: str) -> None: ...


class Reporter(Protocol):
    """What the library calls; implementations decide what (if anything) is shown."""

    def step(self, name: str, total: int | None = None) -> AbstractContextManager[Step]: ...

    def detail(self, message: str) -> None: ...


class _NullStep:
    def advance(self, n: int = 1) -> None:
        pass

    def note(self, text: str) -> None:
        pass


class NullReporter:
    """Reports nothing."""

    @contextmanager
    def step(self, name: str, total: int | None = None) -> Iterator[Step]:
        yield _NullStep()

    def detail(self, message: str) -> None:
        pass


class _TerminalStep:
    def __init__(self, owner: TerminalReporter, name: str, total: int | None) -> None:
        self.owner, self.name, self.total = owner, name, total
        self.done = 0
        self.notes: list[str] = []
        self.start = time.perf_counter()

    def advance(self, n: int = 1) -> None:
        self.done += n
        self.owner.redraw(throttle=True)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        if not self.total:
            return f"{self.name:<9} ... {elapsed:5.1f}s"
        frac = min(1.0, self.done / self.total)
        filled = int(frac * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return f"{self.name:<9} [{bar}] {self.done}/{self.total} {elapsed:5.1f}s"


class TerminalReporter:
    """A bar on a terminal (``bar``) and, with ``verbose``, one line per step and its details."""

    def __init__(self, stream: IO[str], bar: bool, verbose: bool) -> None:
        self.stream, self.bar, self.verbose = stream, bar, verbose
        self.current: _TerminalStep | None = None
        self.drawn_at = 0.0
        self.lock = threading.Lock()

    @contextmanager
    def step(self, name: str, total: int | None = None) -> Iterator[Step]:
        step = _TerminalStep(self, name, total)
        self.current = step
        stop = threading.Event()
        ticker = threading.Thread(target=self._tick, args=(stop,), daemon=True)
        if self.bar:
            self.redraw()
            ticker.start()
        try:
            yield step
        finally:
            stop.set()
            if ticker.is_alive():
                ticker.join()
            self.current = None
            self._clear()
        if self.verbose:
            elapsed = time.perf_counter() - step.start
            notes = f" ({'; '.join(step.notes)})" if step.notes else ""
            self._print(f"{name}: {elapsed:.2f} s{notes}")

    def detail(self, message: str) -> None:
        if self.verbose:
            self._print(message)

    def redraw(self, throttle: bool = False) -> None:
        """Draw the current step's line (at most every REDRAW_SECONDS when throttled)."""
        now = time.perf_counter()
        step = self.current
        if not self.bar or step is None or (throttle and now - self.drawn_at < REDRAW_SECONDS):
            return
        with self.lock:
            self.drawn_at = now
            self.stream.write("\r\x1b[K" + step.line())
            self.stream.flush()

    def _tick(self, stop: threading.Event) -> None:
        while not stop.wait(REDRAW_SECONDS):
            self.redraw()

    def _clear(self) -> None:
        if self.bar:
            with self.lock:
                self.stream.write("\r\x1b[K")
                self.stream.flush()

    def _print(self, message: str) -> None:
        with self.lock:
            if self.bar:
                self.stream.write("\r\x1b[K")
            self.stream.write(message + "\n")
            self.stream.flush()


def make_reporter(
    quiet: bool = False, verbose: bool = False, stream: IO[str] | None = None
) -> NullReporter | TerminalReporter:
    """The CLI's reporter: a bar only on a terminal, details with ``verbose``, nothing if quiet."""
    stream = stream if stream is not None else sys.stderr
    if quiet:
        return NullReporter()
    isatty = getattr(stream, "isatty", None)
    bar = bool(isatty and isatty())
    if not bar and not verbose:
        return NullReporter()
    return TerminalReporter(stream, bar=bar, verbose=verbose)
