"""Compute the next items of an iterator in a background thread while the caller uses this one.

The streamed weights writer alternates two kinds of work: the layout transpose of a block
(numpy, which releases the GIL while it copies) and the HDF5 write of the block before (h5py
releases it during the write). Run one after the other they add up; with the transposes one
block ahead on another thread they overlap, on a second core. ``depth`` bounds how many items
wait (their memory: one 32 MiB block each).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
_END = object()


def _put(
    slot: queue.Queue[Any], entry: tuple[Any, BaseException | None], stop: threading.Event
) -> bool:
    """Put ``entry`` unless the consumer stopped; False when it did."""
    while not stop.is_set():
        try:
            slot.put(entry, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


@contextmanager
def ahead(items: Iterable[T], depth: int = 1) -> Iterator[Iterator[T]]:
    """The items of ``items`` in order, produced by a background thread up to ``depth`` ahead.

    An exception raised while producing is raised in the consumer, at the item it replaced.
    Leaving the block (normally, by an error or Ctrl-C) stops the producer and waits for it, so
    no thread outlives the call.
    """
    slot: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(slot, (item, None), stop):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            _put(slot, (_END, exc), stop)
            return
        _put(slot, (_END, None), stop)

    def consume() -> Iterator[T]:
        while True:
            item, error = slot.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item

    thread = threading.Thread(target=produce, name="caffe2keras-ahead", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()
