"""The reference blobs of the streamed verification, computed ahead in background threads.

``stream.py`` compares each blob as its float64 and float32 reference values arrive. Those come
from ``iter_reference`` passes run by :class:`~caffe2keras.verify.producer.Ahead`, one thread
per precision (:data:`SPLIT_PASSES`), each a hand-over ahead of the comparisons' thread
(``handover.py``; the main thread walks the Keras model): with numpy's BLAS held to one
thread, the passes use the cores the walk leaves. The order of
the blobs, the values and the notes are those of the passes run inline.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from caffe2keras.ir.graph import Graph
from caffe2keras.verify.numeric_notes import WarningNotes

SPLIT_PASSES = True
"""One thread per precision (True) or one thread running both passes in lockstep (False).
With the comparisons in their own thread (``handover.py``), split passes take VGG-16's float32
pass off the float64 pass's critical path within its memory bound; benchmarks/README.md quotes
both on the 2-core machine."""


@dataclass(frozen=True)
class Passes:
    """The reference passes a streamed verification needs."""

    graph: Graph
    inputs: Mapping[str, np.ndarray]
    dtype: np.dtype  # the reference's precision
    other: np.dtype | None  # the noise twin's precision, None without noise
    needed: frozenset[str]  # the blobs handed on (the others are computed and dropped)
    warn: WarningNotes


def reference_ahead(
    passes: Passes, clock: dict[str, float]
) -> Generator[tuple[str, np.ndarray, np.ndarray]]:
    """(blob, value, twin value) of each needed blob in the reference's order, the twin being
    the other precision's value (the value itself without a twin), computed in background
    threads. The threads end with this generator: at its end, or when it is closed, as when an
    exception leaves the caller's loop (CPython frees the loop's iterator as the exception
    unwinds the frame; tests/verify/test_producer.py checks). numpy's warnings are routed per
    thread (``WarningNotes.routed``). ``clock`` receives ``reference`` (the caller's waits) and
    ``producer`` (the passes' own time)."""
    from contextlib import ExitStack

    from caffe2keras.verify.producer import Ahead

    with ExitStack() as stack:
        stack.enter_context(passes.warn.routed())
        if SPLIT_PASSES and passes.other is not None:
            main = stack.enter_context(Ahead(partial(one_pass, passes, passes.dtype)))
            twin = stack.enter_context(Ahead(partial(one_pass, passes, passes.other)))
            threads: list[Ahead[Any]] = [main, twin]
            items = _lockstep(iter(main), iter(twin))
        else:
            both = stack.enter_context(Ahead(partial(both_passes, passes)))
            threads, items = [both], iter(both)
        try:
            yield from items
        finally:
            clock["reference"] += sum(t.waited for t in threads)
            clock["producer"] = clock.get("producer", 0.0) + sum(t.busy for t in threads)


def both_passes(passes: Passes) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """:func:`reference_ahead`'s items, both passes in one thread."""
    main = one_pass(passes, passes.dtype)
    twin = one_pass(passes, passes.other) if passes.other is not None else None
    return _lockstep(main, twin)


def one_pass(passes: Passes, dtype: np.dtype) -> Iterator[tuple[str, np.ndarray]]:
    """(blob, value) of each needed blob of the ``dtype`` pass, numpy's warnings noted under
    "the numpy-<dtype> reference"."""
    from caffe2keras.reference.executor import iter_reference

    items = iter_reference(passes.graph, passes.inputs, dtype)
    where = f"the numpy-{dtype.name} reference"
    while True:
        with passes.warn.during(where):
            item = next(items, None)
        if item is None:
            return
        if item[0] in passes.needed:
            yield item
        del item


def _lockstep(
    main: Iterator[tuple[str, np.ndarray]], twin: Iterator[tuple[str, np.ndarray]] | None
) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    for name, value in main:
        twin_name, twin_value = next(twin) if twin is not None else (name, value)
        assert twin_name == name, (twin_name, name)
        yield name, value, twin_value
        del value, twin_value
