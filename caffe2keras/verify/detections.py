"""Detection blobs (SSD's DetectionOutput): the one place that knows how to compare them.

Caffe's top is (1, 1, n, 7) with n data-dependent; the converter's is (N, K, 7) padded with -1
rows (``caffe2keras/families/detection_output.py``). Both are turned into Caffe's list of rows
``[image, label, score, xmin, ymin, xmax, ymax]`` and matched one to one, in order: a row matches
when image and label are equal, the scores agree within ``SCORE_RTOL`` and the boxes overlap with
IoU >= ``MIN_IOU``. The fraction of rows matched (of the larger row count) is the verdict's
number: 1 for an exact conversion.

A deep SSD's rows are ill-conditioned (a 1e-6 shake of the input moves a few scores across a
threshold or an NMS overlap), so float32 Keras and the float64 reference disagree on a row or two
although both are right. The verdict therefore checks the layer on **Keras' own bottoms**
(:func:`own_input_references`: the reference op run on the Keras model's loc/conf/prior blobs,
which are themselves compared with the reference like every other blob), where an exact conversion
matches every row; the end-to-end fraction (Keras against the reference's whole forward pass) is
reported beside it. ``Tolerance.detection_rows`` is the fraction the verdict requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from caffe2keras.ir.graph import Graph

DETECTION_TYPES = frozenset({"DetectionOutput"})
SCORE_RTOL = 1e-4
MIN_IOU = 0.999


def caffe_rows(blob: np.ndarray) -> np.ndarray:
    """(n, 7) rows as Caffe writes them, from Caffe's (1, 1, n, 7) top or the converter's (N, K, 7)
    (rows with a label >= 0; when no sample has one, Caffe's single [i, -1, ...] row per sample)."""
    a = np.asarray(blob, dtype=np.float64)
    if a.ndim != 3:
        return a.reshape(-1, 7)
    rows = a.reshape(-1, 7)
    found = rows[rows[:, 1] >= 0]
    if len(found):
        return found
    empty = np.full((a.shape[0], 7), -1.0)
    empty[:, 0] = np.arange(a.shape[0])
    return empty


def from_opencv(blob: np.ndarray, num: int) -> np.ndarray:
    """OpenCV dnn's DetectionOutput top as Caffe's (1, 1, n, 7): OpenCV writes each image's rows
    by decreasing score over all labels and fills the rest of its (1, 1, keep_top_k x N, 7) with
    zeros; Caffe orders them by image, then label (stable: scores stay decreasing), and writes
    [i, -1, ...] per image when the batch has no detection."""
    rows = np.asarray(blob, dtype=np.float64).reshape(-1, 7)
    rows = rows[np.any(rows != 0, axis=1)]
    if not len(rows):
        return caffe_rows(-np.ones((num, 1, 7)))[None, None]
    order = np.lexsort((np.arange(len(rows)), rows[:, 1], rows[:, 0]))
    return rows[order][None, None]


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Plain IoU of two [xmin, ymin, xmax, ymax] boxes (1 for two identical empty boxes)."""
    if np.array_equal(a, b):
        return 1.0
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def rows_match(got: np.ndarray, want: np.ndarray, score_rtol: float = SCORE_RTOL) -> bool:
    """One row against another: same image and label, score within ``score_rtol`` (relative),
    IoU >= MIN_IOU."""
    if got[0] != want[0] or got[1] != want[1]:
        return False
    if abs(got[2] - want[2]) > score_rtol * max(abs(want[2]), 1e-30):
        return False
    return box_iou(got[3:], want[3:]) >= MIN_IOU


@dataclass(frozen=True)
class RowMatch:
    """How two detection blobs' rows correspond."""

    got_rows: int
    want_rows: int
    matched: int  # rows matched one to one, in order
    max_abs: float  # largest |difference| of score and coordinates over the matched rows

    @property
    def fraction(self) -> float:
        """Matched rows over the larger row count (1.0 when both are empty)."""
        most = max(self.got_rows, self.want_rows)
        return self.matched / most if most else 1.0


def match_detections(got: np.ndarray, want: np.ndarray, score_rtol: float = SCORE_RTOL) -> RowMatch:
    """Match the rows of ``got`` to those of ``want`` one to one, keeping the order: each wanted
    row takes the first matching row after the previous match (a row missing on one side, as an
    ill-conditioned score crossing a threshold makes, costs that row only). ``score_rtol``: at
    least SCORE_RTOL; more for a deep net whose float32 noise is larger."""
    g, w = caffe_rows(got), caffe_rows(want)
    start, matched, worst = 0, 0, 0.0
    for row in w:
        for j in range(start, len(g)):
            if rows_match(g[j], row, max(score_rtol, SCORE_RTOL)):
                worst = max(worst, float(np.max(np.abs(g[j] - row))))
                matched, start = matched + 1, j + 1
                break
    return RowMatch(got_rows=len(g), want_rows=len(w), matched=matched, max_abs=worst)


def own_input_references(
    graph: Graph, keras_blobs: Mapping[str, np.ndarray], dtype: np.dtype
) -> dict[str, np.ndarray]:
    """Per detection top of ``graph``: the reference op run on the Keras model's own bottoms
    (Caffe layout; a batch-broadcast PriorBox blob is read from its first sample, as Caffe's
    GetPriorBBoxes reads the first 2 x 4P values). Layers whose bottoms Keras does not show are
    left out (their blobs are compared end to end only)."""
    from caffe2keras.reference.registry import lookup_reference_op

    out = {}
    for layer in graph.layers:
        op = lookup_reference_op(layer.type)
        if layer.type not in DETECTION_TYPES or op is None:
            continue
        if all(b in keras_blobs for b in layer.bottoms):
            bottoms = [np.asarray(keras_blobs[b], dtype=dtype) for b in layer.bottoms]
            out[layer.tops[0]] = op(layer, bottoms, dtype)[0]
    return out
