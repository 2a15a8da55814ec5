"""The detection comparator: Caffe's rows from either layout, rows matched one to one in order,
and the verdict of compare_blob for DetectionOutput blobs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from caffe2keras.verify.compare import Tolerance, compare_blob
from caffe2keras.verify.detections import (
    MIN_IOU,
    SCORE_RTOL,
    caffe_rows,
    from_opencv,
    match_detections,
)

ROWS = np.asarray(
    [
        [0, 1, 0.9, 0.1, 0.1, 0.5, 0.5],
        [0, 1, 0.8, 0.6, 0.6, 0.9, 0.9],
        [0, 2, 0.7, 0.2, 0.2, 0.4, 0.4],
        [1, 1, 0.95, 0.0, 0.0, 0.3, 0.3],
    ]
)


def caffe(rows: np.ndarray) -> np.ndarray:
    return rows.reshape(1, 1, -1, 7)


def keras(rows: np.ndarray, samples: int = 2, k: int = 4) -> np.ndarray:
    """The converter's (N, K, 7): each sample's rows, then -1 rows."""
    out = -np.ones((samples, k, 7))
    for i in range(samples):
        mine = rows[rows[:, 0] == i]
        out[i, : len(mine)] = mine
    return out


def test_caffe_rows_of_the_keras_layout() -> None:
    np.testing.assert_array_equal(caffe_rows(keras(ROWS)), ROWS)
    np.testing.assert_array_equal(caffe_rows(caffe(ROWS)), ROWS)


def test_no_detection_is_one_row_per_sample() -> None:
    want = np.asarray([[0, -1, -1, -1, -1, -1, -1], [1, -1, -1, -1, -1, -1, -1]], float)
    np.testing.assert_array_equal(caffe_rows(-np.ones((2, 3, 7))), want)


def test_identical_rows_match_fully() -> None:
    found = match_detections(keras(ROWS), caffe(ROWS))
    assert (found.matched, found.got_rows, found.want_rows, found.fraction) == (4, 4, 4, 1.0)
    assert found.max_abs == 0.0


def change(row: int, column: int, value: float) -> np.ndarray:
    rows = ROWS.copy()
    rows[row, column] = value
    return rows


@pytest.mark.parametrize(
    "rows, why",
    [
        (change(0, 0, 1), "image"),
        (change(0, 1, 2), "label"),
        (change(0, 2, 0.9 * (1 + 3 * SCORE_RTOL)), "score"),
        (change(0, 5, 0.5 - 0.4 * (1 - MIN_IOU) * 3), "box"),  # IoU ~ 1 - 3 (1 - MIN_IOU)
    ],
)
def test_a_row_differing_in_one_respect_does_not_match(rows, why) -> None:
    found = match_detections(caffe(rows), caffe(ROWS))
    assert found.matched == 3, why
    assert math.isclose(found.fraction, 0.75, rel_tol=1e-12)


def test_within_the_tolerances_rows_match() -> None:
    rows = change(0, 2, 0.9 * (1 + SCORE_RTOL / 2))
    found = match_detections(caffe(rows), caffe(ROWS))
    assert found.matched == 4 and math.isclose(found.max_abs, 0.9 * SCORE_RTOL / 2, rel_tol=1e-6)


def test_order_matters() -> None:
    swapped = ROWS[[1, 0, 2, 3]]
    assert match_detections(caffe(swapped), caffe(ROWS)).matched == 3


def test_a_missing_row_costs_that_row_only() -> None:
    found = match_detections(caffe(np.delete(ROWS, 1, axis=0)), caffe(ROWS))
    assert (found.matched, found.got_rows, found.want_rows) == (3, 3, 4)
    assert math.isclose(found.fraction, 0.75, rel_tol=1e-12)
    extra = match_detections(caffe(ROWS), caffe(np.delete(ROWS, 1, axis=0)))
    assert extra.matched == 3 and math.isclose(extra.fraction, 0.75, rel_tol=1e-12)


@pytest.mark.parametrize("required, passed", [(1.0, False), (0.75, True), (0.8, False)])
def test_compare_blob_uses_the_row_fraction(required, passed) -> None:
    tol = Tolerance(detection_rows=required)
    got = keras(np.delete(ROWS, 1, axis=0))
    row = compare_blob("det", "det", "DetectionOutput", got, caffe(ROWS), tol, True)
    assert row.passed is passed and row.rows_matched == 0.75


def test_own_inputs_decide_and_the_end_to_end_fraction_is_reported() -> None:
    """A deep SSD's ill-conditioned rows: Keras misses a row of the reference's forward pass but
    matches the reference layer run on its own bottoms: it passes at the default 100%, and both
    fractions are kept; a Keras layer that differs on its own bottoms still fails."""
    got, end_to_end = keras(np.delete(ROWS, 1, axis=0)), caffe(ROWS)
    own = caffe(np.delete(ROWS, 1, axis=0))
    row = compare_blob("det", "det", "DetectionOutput", got, end_to_end, Tolerance(), True, 0, own)
    assert row.passed and row.rows_matched_own_inputs == 1.0 and row.rows_matched == 0.75
    wrong = compare_blob(
        "det", "det", "DetectionOutput", got, own, Tolerance(), True, 0, end_to_end
    )
    assert not wrong.passed and wrong.rows_matched_own_inputs == 0.75


def test_compare_blob_exact_detections_pass() -> None:
    row = compare_blob("det", "det", "DetectionOutput", keras(ROWS), caffe(ROWS), Tolerance(), True)
    assert row.passed and row.rows_matched == 1.0 and row.max_abs == 0.0
    other = compare_blob("x", "x", "Convolution", keras(ROWS), keras(ROWS), Tolerance(), True)
    assert other.rows_matched is None  # only detection blobs are compared by rows


def test_opencv_rows_become_caffe_rows() -> None:
    l1_high, l1_low = [0, 1, 0.9, 0.1, 0.1, 0.5, 0.5], [0, 1, 0.8, 0.6, 0.6, 0.9, 0.9]
    l2, other = [0, 2, 0.85, 0.2, 0.2, 0.4, 0.4], [1, 1, 0.95, 0.0, 0.0, 0.3, 0.3]
    # OpenCV: each image's rows by decreasing score over all labels, then zero rows
    opencv = np.zeros((1, 1, 6, 7))
    opencv[0, 0, :4] = [l1_high, l2, l1_low, other]
    # Caffe: by image, then label, scores decreasing within a label
    want = np.asarray([l1_high, l1_low, l2, other])
    np.testing.assert_array_equal(from_opencv(opencv, 2)[0, 0], want)


def test_opencv_no_detection_is_caffe_no_detection() -> None:
    want = np.asarray([[0, -1, -1, -1, -1, -1, -1], [1, -1, -1, -1, -1, -1, -1]], float)
    np.testing.assert_array_equal(from_opencv(np.zeros((1, 1, 4, 7)), 2)[0, 0], want)


def test_opencv_gap_for_eta(tmp_path) -> None:
    from detection_nets import detection_net
    from netfiles import write_net

    from caffe2keras.frontend.load import LoadOptions
    from caffe2keras.frontend.net import load_net
    from caffe2keras.verify.opencv_ref import known_gaps

    for eta, gap in ((1.0, False), (0.5, True)):
        params = f"num_classes: 2 confidence_threshold: 0.1 nms_param {{ eta: {eta} }}"
        proto, model = write_net(tmp_path, detection_net(params, [(1, 8), (1, 4), (1, 2, 8)]))
        graph = load_net(proto, model, LoadOptions()).reference
        assert ("det" in known_gaps(graph)) is gap
