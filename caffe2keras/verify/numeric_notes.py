"""numpy's RuntimeWarnings during a verification, turned into report notes instead of stderr.

Caffe's own arithmetic is float32: a net whose values pass float32's range (e.g. the -FLT_MAX of
an empty pooling window summed by a later layer) makes numpy warn ("overflow encountered in
reduce") while the reference runs. The warning says nothing about which blob; the note says
which precision warned and the first blob that is non-finite in float32 but finite in float64.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

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
        if a is None or b is None or np.shape(a) != np.shape(b):
            continue
        lost = ~np.isfinite(a) & np.isfinite(b)
        if lost.any():
            return (
                f"blob '{blob}' (layer '{layer}', {ltype}) overflows float32, Caffe's precision, "
                f"at {int(lost.sum())} of {lost.size} values (finite in float64): the float64 "
                f"reference and the float32 Keras model part from there"
            )
    return None
