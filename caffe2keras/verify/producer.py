"""An iterator run ahead in a background thread, a bounded queue in front of its consumer.

The streamed verification (``stream.py``) runs the float64 and float32 reference passes here
while the main thread walks the Keras model and compares: numpy releases the GIL in BLAS and in
its ufunc loops, so the passes use the second core while TensorFlow and the comparisons use the
first. The producer is never more than ``depth + 1`` items ahead of what the consumer has taken
(``depth`` waiting in the queue, one computed and waiting for room); with ``depth`` 0 it hands
each item over and computes the next one only once that item was taken, so at any time there is
the consumer's item and the one being computed: a pipeline one blob deep, which is what keeps
a verified VGG-16's peak memory within its bound (benchmarks/README.md).

Everything the producer raises (a ``ValidationError`` naming the layer and field, an assertion)
reaches the consumer at the point of the sequence where it happened, with its own traceback.
Leaving the ``with`` block early (an exception in the consumer, a Ctrl-C, a ``break``) stops the
producer after the item it is computing and joins its thread: no thread outlives the block.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

T = TypeVar("T")
QUEUE_DEPTH = 0
"""Items waiting in the queue at most (each a pair of float64 and float32 blobs); 0: none, the
producer waits for each item to be taken before computing the next."""
THREAD_NAME = "caffe2keras-reference"
_END = object()  # the producer's iterator is exhausted
_POLL = 0.05  # seconds between checks of the stop flag while the queue is full or on close


S = TypeVar("S", bound="ContextThread")


class ContextThread:
    """A daemon thread that runs in its creator's context (numpy's errstate lives in a context
    variable), started on entering a ``with`` block and stopped by :meth:`close` on leaving it."""

    thread: threading.Thread

    def _make_thread(self, target: Callable[[Any], None], arg: Any, name: str) -> None:
        context = contextvars.copy_context()
        self.thread = threading.Thread(
            target=context.run, args=(target, arg), name=name, daemon=True
        )

    def __enter__(self: S) -> S:
        self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the thread's work and wait for the thread to end."""
        raise NotImplementedError


class Ahead(ContextThread, Generic[T]):
    """The items of ``make()``, an iterator created and advanced in a background thread.

    Use as a context manager and iterate inside it. ``busy`` is the producer's time computing
    items, ``waited`` the consumer's time waiting for them (the producer's cost on the
    consumer's path); both in seconds."""

    def __init__(
        self, make: Callable[[], Iterator[T]], depth: int | None = None, name: str = THREAD_NAME
    ) -> None:
        depth = QUEUE_DEPTH if depth is None else depth
        self.depth = depth
        self.queue: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=max(depth, 1))
        self.stop = threading.Event()
        self.busy = self.waited = 0.0
        self._make_thread(self._run, make, name)

    def __iter__(self) -> Iterator[T]:
        while True:
            start = time.perf_counter()
            ok, value = self.queue.get()
            self.queue.task_done()
            self.waited += time.perf_counter() - start
            if ok:
                yield value
                del value  # not held while the next item is waited for: the consumer decides
            elif value is None:
                return
            else:
                raise value

    def close(self) -> None:
        """Stop the producer (after the item under way) and wait for its thread to end."""
        self.stop.set()
        with self.queue.all_tasks_done:  # a producer waiting for its last item to be taken
            self.queue.all_tasks_done.notify_all()
        join_draining(self.thread, self.queue)

    def _run(self, make: Callable[[], Iterator[T]]) -> None:
        items: Iterator[T] | None = None
        try:
            items = make()
            while not self.stop.is_set():
                start = time.perf_counter()
                item = next(items, _END)
                self.busy += time.perf_counter() - start
                if item is _END:
                    break
                self._put((True, item))
                del item
        except BaseException as error:  # handed to the consumer, raised there
            self._put((False, error))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator's finally blocks run here, in this thread
        self._put((False, None))

    def _put(self, entry: tuple[bool, Any]) -> None:
        """Queue ``entry``, waiting for room, unless the consumer has gone."""
        hand_over(self.queue, entry, self.depth, self.stop)


def hand_over(items: queue.Queue[Any], entry: Any, depth: int, gone: threading.Event) -> bool:
    """Put ``entry`` in ``items``, waiting for room and, with ``depth`` 0, until it has been
    taken (``task_done``); False, without queueing it, when ``gone`` is set first (the other
    side has left). Used by :class:`Ahead` and ``handover.Behind``."""
    while not gone.is_set():
        try:
            items.put(entry, timeout=_POLL)
        except queue.Full:
            continue
        if depth == 0:
            with items.all_tasks_done:
                while items.unfinished_tasks and not gone.is_set():
                    items.all_tasks_done.wait(_POLL)
        return True
    return False


def join_draining(thread: threading.Thread, items: queue.Queue[Any]) -> None:
    """Wait for ``thread`` to end, emptying ``items`` meanwhile (a thread blocked putting an
    item, or waiting for one to be taken, moves on) and once more after it has ended. Used by
    :class:`Ahead` and ``handover.Behind`` when they close."""
    while thread.is_alive():
        _drain(items)
        thread.join(_POLL)
    _drain(items)


def _drain(items: queue.Queue[Any]) -> None:
    while True:
        try:
            items.get_nowait()
        except queue.Empty:
            return
        items.task_done()
