"""Detection blobs (DetectionOutput) in the golden sweeps: compared row by row, never element-wise.

Caffe's top is (1, 1, n, 7) with n data-dependent, the converter's (N, K, 7) padded with -1 rows;
both are matched one to one by ``caffe2keras/verify/detections.py`` (same image, label and order;
score within 1e-4 relative, or within the blob's rounding bound when that is larger; box IoU >=
0.999). The error of the matched rows is then held to the usual rounding bound.

How many rows must match: all of them on the layer cases (real Caffe keeps every row of those
under a 1e-4 relative input shake, ``../shared/README.md``), :data:`DEEP_SSD_ROWS` on a deep SSD
with random weights such as MobileNet-SSD (real Caffe keeps only 99% of its rows under a 1e-6
shake and 89% under 1e-5, and float32 implementations differ by ~1e-6 relative at that depth).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from bounds import assert_within

from caffe2keras.verify.detections import DETECTION_TYPES, RowMatch, caffe_rows, match_detections

DEEP_SSD_ROWS = 0.98


def is_detection(graph: Any, blob: str) -> bool:
    """Whether ``blob`` (a name of ``graph``) is the top of a detection layer."""
    producer = graph.producers().get(graph.resolve(blob))
    return producer is not None and producer.type in DETECTION_TYPES


def rows_error(found: RowMatch, want: Any) -> float:
    """The matched rows' largest error relative to max|Caffe rows|."""
    scale = float(np.max(np.abs(caffe_rows(want))))
    return found.max_abs / scale if scale > 0 else found.max_abs


def detection_spread(out32: Any, out64: Any) -> float:
    """The float32 spread of a detection blob: the matched rows' relative error."""
    return rows_error(match_detections(out32, out64), out64)


def assert_detections(
    what: str, got: Any, want: Any, bound: float, required: float = 1.0
) -> RowMatch:
    """At least ``required`` of the rows match one to one, the matched rows within ``bound``
    (relative to max|Caffe rows|). Scores match within max(1e-4, ``bound``): the blob's rounding
    bound, which on a deep net follows its measured float32 noise (``tests/bounds.py``)."""
    found = match_detections(got, want, bound)
    assert found.fraction >= required, (
        f"{what}: {found.matched} rows matched of {found.want_rows} Caffe rows and "
        f"{found.got_rows} rows here: {found.fraction:.2%} < {required:.0%}"
    )
    assert_within(f"{what} (matched rows)", rows_error(found, want), bound)
    return found
