"""numpy's RuntimeWarnings during a verification, turned into report notes instead of stderr.

Caffe's own arithmetic is float32: a net whose values pass float32's range (e.g. the -FLT_MAX of
an empty pooling window summed by a later layer) makes numpy warn ("overflow encountered in
reduce") while the reference runs. The warning says nothing about which blob; the note says
which precision warned and the first blob that is non-finite in float32 but finite in float64.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np


@contextmanager
def numpy_warnings(where: str, notes: list[str]) -> Iterator[None]:
    """Collect numpy's RuntimeWarnings raised inside as notes ("numpy warned during <where>:
    <message>", each message once) instead of letting them reach stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        yield
    seen: list[str] = []
    for w in caught:
        if issubclass(w.category, RuntimeWarning) and str(w.message) not in seen:
            seen.append(str(w.message))
        elif not issubclass(w.category, RuntimeWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    notes += [f"numpy warned during {where}: {message}" for message in seen]


class WarningNotes:
    """:func:`numpy_warnings` for work that is entered many times (a streamed pass, one blob at a
    time): each ``during(where)`` collects numpy's RuntimeWarnings, each message once per
    ``where`` over all entries; :meth:`notes` lists them in the order the ``where`` were given.

    ``warnings.catch_warnings`` swaps process-wide state, so it cannot be entered by two threads
    at once. Inside :meth:`routed` (entered once, by the main thread, around all the threads'
    work) the filters are set once and every warning is routed by the *calling thread's* current
    ``where``: the reference passes' thread and the main thread each collect their own."""

    def __init__(self) -> None:
        self.seen: dict[str, list[str]] = {}
        self._where = threading.local()
        self._routing = False

    @contextmanager
    def routed(self) -> Iterator[None]:
        """Collect, in every thread, the RuntimeWarnings raised inside a ``during``; anything
        else goes on to the warnings display in force before. Entered again inside (by another
        thread's work, e.g. ``reference_feed``), it changes nothing."""
        if self._routing:
            yield
            return
        with warnings.catch_warnings():
            warnings.simplefilter("always", RuntimeWarning)
            shown = warnings.showwarning

            def show(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
                where = getattr(self._where, "name", None)
                if where is None or not issubclass(category, RuntimeWarning):
                    shown(message, category, *args, **kwargs)
                else:
                    self._add(where, str(message))

            warnings.showwarning = show
            self._routing = True
            try:
                yield
            finally:
                self._routing = False

    @contextmanager
    def during(self, where: str) -> Iterator[None]:
        """Collect the warnings raised inside under ``where`` (in this thread, when routed)."""
        if self._routing:
            outer = getattr(self._where, "name", None)
            self._where.name = where
            try:
                yield
            finally:
                self._where.name = outer
            return
        found: list[str] = []
        with numpy_warnings(where, found):
            yield
        prefix = f"numpy warned during {where}: "
        for message in found:
            self._add(where, message[len(prefix) :])

    def _add(self, where: str, message: str) -> None:
        messages = self.seen.setdefault(where, [])
        if message not in messages:
            messages.append(message)

    def notes(self, where: str) -> list[str]:
        """The notes collected under ``where`` (as :func:`numpy_warnings` words them)."""
        return [f"numpy warned during {where}: {m}" for m in self.seen.get(where, [])]


def overflow_note(blob: str, layer: str, ltype: str, a: np.ndarray, b: np.ndarray) -> str | None:
    """The note for one blob holding +-Inf or NaN in the float32 run (``a``) where the float64
    run (``b``) is finite, else None."""
    if np.shape(a) != np.shape(b) or not np.size(a):
        return None
    if np.isfinite(np.max(a)) and np.isfinite(np.min(a)):
        return None  # all finite: nothing lost (one pass each, no mask)
    lost = ~np.isfinite(a) & np.isfinite(b)
    if not lost.any():
        return None
    return (
        f"blob '{blob}' (layer '{layer}', {ltype}) overflows float32, Caffe's precision, "
        f"at {int(lost.sum())} of {lost.size} values (finite in float64): the float64 "
        f"reference and the float32 Keras model part from there"
    )


def float32_overflow_note(
    f32: Mapping[str, np.ndarray],
    f64: Mapping[str, np.ndarray],
    order: Sequence[tuple[str, str, str]],
) -> str | None:
    """The first blob (topological ``order`` of (blob, layer, type)) holding +-Inf or NaN in the
    float32 run where the float64 run is finite: where float32's range ran out (an overflowed
    sum turns into NaN one operation later, e.g. MVN's ``x - mean``)."""
    for blob, layer, ltype in order:
        a, b = f32.get(blob), f64.get(blob)
        if a is not None and b is not None:
            note = overflow_note(blob, layer, ltype, a, b)
            if note:
                return note
    return None
