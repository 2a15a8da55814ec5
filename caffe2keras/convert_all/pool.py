"""Warm worker processes for ``convert-all --jobs N``: each imports TensorFlow once and converts
many models, yet a model that kills its process fails that model only.

The parent imports nothing heavy. It starts ``jobs`` spawned workers (TensorFlow and fork do not
mix), hands them the items over one pipe each, in list order or in a given ``order`` (longest
first, for the makespan), and waits on every pipe and process sentinel at once. A worker that
dies while it holds an item (a segfault, ``os._exit``, SIGKILL from the OOM killer) gives that
item the ``on_death`` outcome, naming how it died, and a new worker takes its place for the
items still waiting. Memory policy: after each item the worker runs ``reset`` (Keras state
cleared, garbage collected, freed heap returned to the system) and retires when its resident
memory is still more than ``max_rss_growth`` bytes above what it had after start-up, so one
large model cannot keep a worker fat for the rest of the batch; a fresh worker replaces it.
What ``init`` imported is frozen out of the garbage collector's sight (``gc.freeze``): with
TensorFlow loaded a full collection otherwise scans ~400,000 objects, a second or more per item.
``max_tasks=1`` is the old isolation mode: one fresh process per item.

Ctrl-C: every worker gets SIGINT (a terminal already sends it to the whole process group) and
unwinds, so the atomic writers remove their temporary files; the parent waits for them, kills
any that do not stop within ``grace`` seconds, calls ``on_abandon`` for the items they held
(to remove what a killed writer left) and re-raises ``KeyboardInterrupt``: no orphan workers.
Two windows are closed (:mod:`caffe2keras.convert_all.signals`): SIGINT is blocked while a
worker is spawned and recorded (so it lands after the worker is tracked, and the worker inherits
the block until its own handler is in place), and the parent's ``wait`` also watches a wake-up
socket that the signal writes to, so a Ctrl-C whose ``KeyboardInterrupt`` a finalizer or
garbage-collector callback dropped still stops the batch instead of leaving it waiting on
workers that will never report.
"""

from __future__ import annotations

import gc
import os
import signal
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import get_context, resource_tracker
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from caffe2keras.convert_all import signals

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class PoolOptions:
    """How many workers, how many items each may take, when one retires."""

    jobs: int
    max_tasks: int | None = None  # None: as many as come; 1: a fresh process per item
    max_rss_growth: int | None = 1 << 30  # bytes above the post-start-up RSS; None: never
    grace: float = 30.0  # seconds a worker gets to unwind after Ctrl-C before SIGKILL


@dataclass(frozen=True)
class Death:
    """How a worker process ended while it held an item."""

    pid: int
    exitcode: int | None

    def describe(self) -> str:
        code = self.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            why = " (the kernel's out-of-memory killer sends it)" if -code == signal.SIGKILL else ""
            return f"its worker process (pid {self.pid}) was killed by {name}{why}"
        return f"its worker process (pid {self.pid}) exited with code {code} before reporting"


@dataclass(frozen=True)
class Tasks(Generic[T, R]):
    """What the workers run: ``init()`` once per process, ``task(item)`` and ``reset()`` per
    item (all picklable by reference: module-level functions)."""

    task: Callable[[T], R]
    init: Callable[[], None] | None = None
    reset: Callable[[], None] | None = None


def current_rss() -> int | None:
    """This process's resident set size in bytes (Linux ``/proc``; None elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _interrupt_once() -> None:
    """SIGINT raises KeyboardInterrupt once: a second one (the terminal's and the parent's)
    must not cut short the clean-up the first started. A batch started with SIGINT ignored
    (``nohup``, a background job of a script: the worker inherits that) keeps ignoring it, as
    its parent does."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return
    seen: list[bool] = []

    def handler(signum: int, frame: Any) -> None:
        from caffe2keras.runtime import interrupts

        interrupts.record()
        if not seen:
            seen.append(True)
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)


def _worker(conn: Connection, tasks: Tasks[Any, Any], options: PoolOptions) -> None:
    _interrupt_once()
    try:
        signals.unblock_sigint()  # blocked by the parent while it spawned this process
        if tasks.init is not None:
            tasks.init()
        # What start-up imported lives as long as the process: out of the collector's sight,
        # each collection (one per item, and Python's own) scans only what the items made.
        gc.collect()
        gc.freeze()
        baseline = current_rss()
        done = 0
        while True:
            message = conn.recv()
            if message is None:
                return
            index, item = message
            result = tasks.task(item)
            if tasks.reset is not None:
                tasks.reset()  # it collects garbage itself
            else:
                gc.collect()
            done += 1
            rss = current_rss()
            grown = rss is not None and baseline is not None and rss - baseline
            retire = (options.max_tasks is not None and done >= options.max_tasks) or bool(
                options.max_rss_growth is not None and grown and grown > options.max_rss_growth
            )
            conn.send((index, result, retire))
            if retire:
                return
    except (KeyboardInterrupt, EOFError):  # Ctrl-C, or the parent went away
        os._exit(130)


class _Slot:
    """One live worker and the item it holds (``None`` when idle)."""

    def __init__(self, tasks: Tasks[Any, Any], options: PoolOptions, started: list[Any]) -> None:
        ctx = get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, tasks, options))
        # Python 3.11's resource tracker unblocks SIGINT after spawning itself: start it first.
        resource_tracker.ensure_running()
        with signals.sigint_blocked():  # a Ctrl-C lands after the worker is tracked
            started.append(self.process)
            self.process.start()
            child.close()
        self.item: tuple[int, Any] | None = None
        self.retiring = False

    def give(self, index: int, item: Any) -> None:
        self.item = (index, item)
        self.conn.send((index, item))


def run_pool(
    items: Sequence[T],
    tasks: Tasks[T, R],
    options: PoolOptions,
    on_death: Callable[[T, Death], R],
    on_abandon: Callable[[T, int], None] | None = None,
    order: Sequence[int] | None = None,
) -> list[R]:
    """Every item's result, in the items' order. ``on_death(item, death)`` is the result of an
    item whose worker died; ``on_abandon(item, pid)`` cleans up after an item whose worker died
    or was stopped by Ctrl-C. ``order``: the item indices in the order workers take them
    (default: the items' order)."""
    indices = range(len(items)) if order is None else order
    if sorted(indices) != list(range(len(items))):
        raise ValueError("order must be a permutation of the item indices")
    waiting = deque((i, items[i]) for i in indices)
    results: dict[int, R] = {}
    slots: list[_Slot] = []
    started: list[Any] = []  # every worker process, even one whose slot a Ctrl-C cut short
    wakeup = signals.SigintWakeup()
    try:
        while len(results) < len(items):
            while waiting and len(slots) < min(options.jobs, len(waiting) + _busy(slots)):
                slots.append(_Slot(tasks, options, started))
            for slot in slots:
                if slot.item is None and not slot.retiring and waiting:
                    slot.give(*waiting.popleft())
            watched: list[Any] = [s.conn for s in slots] + [s.process.sentinel for s in slots]
            ready = wait(watched + wakeup.fds)
            wakeup.check(ready)  # a Ctrl-C whose KeyboardInterrupt was dropped on the way
            for slot in [s for s in slots if s.conn in ready or s.process.sentinel in ready]:
                _collect(slot, slots, results, on_death, on_abandon)
        return [results[i] for i in range(len(items))]
    finally:
        with signals.sigint_blocked():  # a second Ctrl-C must not cut the clean-up short
            wakeup.close()
            _stop(slots, options, on_abandon)
            for process in started:  # a worker started but never given a slot: nothing to unwind
                if process.is_alive():
                    process.kill()
                    process.join()


def _busy(slots: list[_Slot]) -> int:
    return sum(1 for s in slots if s.item is not None)


def _collect(
    slot: _Slot,
    slots: list[_Slot],
    results: dict[int, Any],
    on_death: Callable[[Any, Death], Any],
    on_abandon: Callable[[Any, int], None] | None,
) -> None:
    try:
        if slot.conn.poll():
            index, result, retire = slot.conn.recv()
            results[index] = result
            slot.item, slot.retiring = None, retire
            if not retire:
                return
    except (EOFError, OSError):
        pass  # the worker is gone: its sentinel says how
    slot.process.join()
    slots.remove(slot)
    slot.conn.close()
    if slot.item is not None:
        index, item = slot.item
        if on_abandon is not None:
            on_abandon(item, slot.process.pid or 0)
        results[index] = on_death(item, Death(slot.process.pid or 0, slot.process.exitcode))


def _stop(
    slots: list[_Slot], options: PoolOptions, on_abandon: Callable[[Any, int], None] | None
) -> None:
    """Idle workers are told to finish; busy ones (only after an exception: Ctrl-C) get SIGINT,
    time to unwind, then SIGKILL. Every worker is joined: none outlives the batch."""
    for slot in slots:
        try:
            if slot.item is None:
                slot.conn.send(None)
            elif slot.process.pid is not None:
                os.kill(slot.process.pid, signal.SIGINT)
        except (OSError, ValueError):
            pass  # already gone
    for slot in slots:
        slot.process.join(options.grace)
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join()
        slot.conn.close()
        if slot.item is not None and on_abandon is not None:
            on_abandon(slot.item[1], slot.process.pid or 0)
