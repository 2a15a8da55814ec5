"""The per-blob numbers of the equivalence report, against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np

from caffe2keras.verify.compare import BlobComparison, Tolerance, compare_blob

TOL = Tolerance(rtol=1e-3, atol=0.0, noise_factor=0.0)


def _compare(keras: np.ndarray, ref: np.ndarray, is_output: bool = False) -> BlobComparison:
    return compare_blob("b", "l", "T", keras, ref, TOL, is_output)


def test_close_values_pass_with_the_hand_computed_errors() -> None:
    ref = np.array([[1.0, -4.0, 2.0]])
    row = _compare(ref + np.array([[0.0, 0.002, -0.001]]), ref, is_output=True)
    assert math.isclose(row.max_abs, 0.002, rel_tol=1e-9)
    assert math.isclose(row.max_rel, 0.002 / 4.0, rel_tol=1e-9)
    assert math.isclose(row.mean_abs, 0.001, rel_tol=1e-9)
    assert row.ref_max == 4.0 and row.passed and row.top1 == 1.0


def test_an_error_above_the_tolerance_fails() -> None:
    ref = np.array([1.0, -4.0, 2.0])
    row = _compare(ref + np.array([0.0, 0.0, 0.01]), ref)
    assert math.isclose(row.max_rel, 0.0025, rel_tol=1e-9) and not row.passed


def test_nan_is_an_infinite_error() -> None:
    ref = np.array([1.0, 2.0])
    row = _compare(np.array([1.0, np.nan]), ref)
    assert row.max_abs == math.inf and not row.passed


def test_a_wrong_shape_is_the_worst_mismatch() -> None:
    ref = np.array([[1.0, 2.0, 3.0]])
    row = _compare(np.array([[1.0, 2.0]]), ref, is_output=True)
    assert row.max_abs == row.max_rel == row.mean_abs == math.inf
    assert row.cosine == 0.0 and row.top1 is None and not row.passed
    assert row.shape == (1, 3) and row.ref_max == 3.0


def test_a_wrong_shape_fails_even_against_an_infinite_reference() -> None:
    row = _compare(np.zeros(2), np.array([np.inf, 1.0, 1.0]))
    assert not row.passed


def test_a_wrong_shape_against_an_empty_reference_is_reported_not_raised() -> None:
    row = _compare(np.zeros(2), np.zeros((0,)))
    assert row.ref_max == 0.0 and row.max_rel == math.inf and not row.passed


def test_a_batch_independent_reference_is_compared_with_every_sample() -> None:
    """PriorBox: Caffe's top is (1, ...) whatever the batch; Keras repeats it per sample."""
    ref = np.array([[[0.25, 0.5, 1.0]]])  # (1, 1, 3)
    keras = np.repeat(ref, 3, axis=0)
    row = _compare(keras, ref)
    assert row.passed and row.max_abs == 0.0 and row.shape == (1, 1, 3)
    keras[2, 0, 1] += 0.01  # only the last sample is off
    row = _compare(keras, ref)
    assert not row.passed and math.isclose(row.max_abs, 0.01, rel_tol=1e-9)


def test_a_batch_of_one_is_no_licence_for_other_shape_mismatches() -> None:
    ref = np.zeros((1, 2, 3))
    for keras in (np.zeros((2, 2, 4)), np.zeros((2, 6)), np.zeros((2, 1, 2, 3))):
        row = _compare(keras, ref)
        assert not row.passed and row.max_abs == math.inf


FLT_MAX = float(np.finfo(np.float32).max)


def test_nan_at_the_same_places_agrees_and_the_rest_is_compared() -> None:
    # Caffe's AVE over a window of size 0 is 0 / 0: both sides hold NaN there (issue 13)
    ref = np.array([1.0, np.nan, -4.0])
    row = _compare(np.array([1.0, np.nan, -4.002]), ref)
    assert math.isclose(row.max_abs, 0.002, rel_tol=1e-9) and row.ref_max == 4.0 and row.passed
    assert not _compare(np.array([1.0, 0.0, -4.0]), ref).passed  # a number where Caffe has NaN
    assert not _compare(np.array([np.nan, np.nan, -4.0]), ref).passed  # NaN where Caffe has 1


def test_flt_max_left_by_empty_windows_does_not_set_the_scale() -> None:
    ref = np.array([-FLT_MAX, 2.0, 1.0])
    row = _compare(np.array([-FLT_MAX, 2.0, 1.01]), ref)
    assert row.ref_max == 2.0 and math.isclose(row.max_rel, 0.005, rel_tol=1e-9)
    assert not row.passed  # 0.005 > rtol 1e-3: the -FLT_MAX no longer hides it
    assert not _compare(np.array([0.0, 2.0, 1.0]), ref).passed  # 0 where Caffe has -FLT_MAX


def test_equal_infinities_agree_and_opposite_ones_do_not() -> None:
    ref = np.array([np.inf, 1.0])
    assert _compare(np.array([np.inf, 1.0]), ref).passed
    assert not _compare(np.array([-np.inf, 1.0]), ref).passed
