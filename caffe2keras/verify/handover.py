"""A consumer run in a background thread, fed item by item by the calling thread.

The streamed verification (``stream.py``) walks the Keras model in the main thread (TensorFlow
releases the GIL in its kernels) and hands each Keras value it yields to the comparisons, which
run here in a thread of their own (numpy releases the GIL in its loops), beside the reference
passes' threads (``producer.py``). The caller is never more than ``depth`` items ahead of what
the worker has taken: a queued Keras value keeps its tensor alive (it is a view of it), so the
bound is what keeps memory a forward pass's live set.

What the caller's source raises (``feed``) is handed on in the sequence, so the worker raises it
at the point where the inline loop would have met it: an earlier error of the worker's own (a
reference op's ``ValidationError`` naming layer and field) still wins. What the worker raises
reaches the caller, with its traceback, from :meth:`Behind.feed`. Leaving the ``with`` block early
(an exception or Ctrl-C in the caller) makes the worker stop at its next take and joins its
thread: no thread outlives the block.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from caffe2keras.verify.producer import ContextThread, hand_over, join_draining

T = TypeVar("T")
R = TypeVar("R")
THREAD_NAME = "caffe2keras-judge"
_POLL = 0.05  # seconds between checks of the other side's state while waiting


class Abandoned(Exception):
    """Raised in the worker when the caller has left: the worker's work unwinds and ends."""


class Behind(ContextThread, Generic[T, R]):
    """``work(items)`` run in a background thread on the items the caller feeds it.

    Use as a context manager; call :meth:`feed` once inside it. ``waited`` is the caller's time
    waiting for the worker (for room in the queue, then for the result), in seconds."""

    def __init__(
        self, work: Callable[[Iterator[T]], R], depth: int, name: str = THREAD_NAME
    ) -> None:
        self.depth = depth
        self.queue: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=max(depth, 1))
        self.stop = threading.Event()  # the caller has left: the worker ends at its next take
        self.done = threading.Event()  # the worker has ended
        self.outcome: tuple[bool, Any] = (False, None)
        self.waited = 0.0
        self._make_thread(self._run, work, name)

    def feed(self, source: Iterator[T]) -> R:
        """Hand every item of ``source`` (advanced in this thread) to the worker, then its end
        (or the ``Exception`` it raised); the worker's result, or what the worker raised. The
        source is not advanced further once the worker has ended."""
        end: tuple[bool, Any] = (False, None)
        try:
            for item in source:
                if not self._put((True, item)):
                    break
                del item
        except Exception as error:  # the worker raises it where it reaches it
            end = (False, error)
        self._put(end)
        start = time.perf_counter()
        while not self.done.wait(_POLL):
            pass
        self.waited += time.perf_counter() - start
        ok, value = self.outcome
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        """Make the worker stop (at its next take) and wait for its thread to end."""
        self.stop.set()
        join_draining(self.thread, self.queue)

    def _put(self, entry: tuple[bool, Any]) -> bool:
        """Queue ``entry``, waiting for room; False when the worker has ended."""
        start = time.perf_counter()
        try:
            return hand_over(self.queue, entry, self.depth, self.done)
        finally:
            self.waited += time.perf_counter() - start

    def _items(self) -> Iterator[T]:
        """The caller's items, in the worker's thread."""
        while True:
            try:
                ok, value = self.queue.get(timeout=_POLL)
                self.queue.task_done()
            except queue.Empty:
                if self.stop.is_set():
                    raise Abandoned() from None
                continue
            if ok:
                yield value
                del value  # the worker holds what it still needs
            elif value is None:
                return
            else:
                raise value

    def _run(self, work: Callable[[Iterator[T]], R]) -> None:
        try:
            self.outcome = (True, work(self._items()))
        except BaseException as error:  # handed to the caller, raised there
            self.outcome = (False, error)
        finally:
            self.done.set()
            with self.queue.all_tasks_done:  # a caller waiting for an item to be taken
                self.queue.all_tasks_done.notify_all()


class Timed(Generic[T]):
    """An iterator, and the time spent advancing it (``seconds``); as a context, closes it."""

    def __init__(self, items: Iterator[T]) -> None:
        self.items, self.seconds = items, 0.0

    def __enter__(self) -> Timed[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        close = getattr(self.items, "close", None)
        if close is not None:
            close()

    def __iter__(self) -> Iterator[T]:
        end = object()
        while True:
            start = time.perf_counter()
            item = next(self.items, end)
            self.seconds += time.perf_counter() - start
            if item is end:
                return
            yield item  # type: ignore[misc]
            del item
