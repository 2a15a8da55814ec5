"""One test per Caffe quirk outside conv/pooling, with hand-computed expectations."""

from __future__ import annotations

import numpy as np
import pytest

from caffe2keras.families.arithmetic import PowerParams, ThresholdParams
from caffe2keras.families.batchnorm import BatchNormParams
from caffe2keras.families.combine import EltwiseParams
from caffe2keras.families.dense import InnerProductParams
from caffe2keras.families.lrn import LRNParams, MVNParams
from caffe2keras.families.reduce import ArgMaxParams, ReductionParams
from caffe2keras.families.scale import ScaleParams
from caffe2keras.frontend.params.registry import NoParams

from .helpers import make_layer, run_layer


def test_batch_norm_divides_the_stored_statistics_by_the_factor() -> None:
    x = np.array([3.0, 5.0]).reshape(1, 2, 1, 1)
    # mean (1, 2) and variance (4, 16) stored times s = 2
    layer = make_layer(
        "BatchNorm", BatchNormParams(eps=0.0, use_global_stats=None), [2.0, 4.0], [8.0, 32.0], [2.0]
    )
    (y,) = run_layer(layer, x)
    np.testing.assert_allclose(y.reshape(-1), [(3 - 1) / 2, (5 - 2) / 4])


def test_batch_norm_factor_zero_means_zero_statistics() -> None:
    x = np.array([3.0, -5.0]).reshape(1, 2, 1, 1)
    layer = make_layer(
        "BatchNorm",
        BatchNormParams(eps=1e-5, use_global_stats=True),
        [2.0, 4.0],
        [8.0, 32.0],
        [0.0],
    )
    (y,) = run_layer(layer, x)
    np.testing.assert_allclose(y.reshape(-1), [3 / np.sqrt(1e-5), -5 / np.sqrt(1e-5)])


def test_batch_norm_without_global_stats_uses_the_batch_over_n_h_w() -> None:
    x = np.array([[1.0, 3.0], [10.0, 10.0]]).reshape(1, 2, 1, 2)  # channel 0: mean 2, var 1
    x = np.concatenate([x, x + np.array([0.0, 4.0]).reshape(1, 2, 1, 1)])  # channel 1 varies
    layer = make_layer(
        "BatchNorm", BatchNormParams(eps=0.0, use_global_stats=False), [9.0, 9.0], [9.0, 9.0], [1.0]
    )
    (y,) = run_layer(layer, x)
    np.testing.assert_allclose(y[:, 0].reshape(-1), [-1, 1, -1, 1])
    np.testing.assert_allclose(y[:, 1].reshape(-1), [-1, -1, 1, 1])  # mean 12, var 4


def test_scale_axis_num_axes_and_bias() -> None:
    x = np.ones((2, 3, 2, 2))
    layer = make_layer(
        "Scale",
        ScaleParams(axis=1, num_axes=2, bias_term=True),
        np.arange(6.0).reshape(3, 2),
        np.full((3, 2), 0.5),
    )
    (y,) = run_layer(layer, x)
    np.testing.assert_allclose(y[1, 2, 1, :], [5.5, 5.5])
    np.testing.assert_allclose(y[0, 1, 0, :], [2.5, 2.5])


def test_scale_with_a_second_bottom_and_bias_blob() -> None:
    x = np.ones((2, 3, 1, 2))
    factor = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # axis 0: covers (N, C)
    layer = make_layer(
        "Scale", ScaleParams(axis=0, num_axes=1, bias_term=True), np.full((2, 3), 10.0), bottoms=2
    )  # the bias has the scale's shape
    (y,) = run_layer(layer, x, factor)
    np.testing.assert_allclose(y[:, :, 0, 1], factor + 10)


def test_bias_from_blob_and_from_second_bottom() -> None:
    x = np.zeros((1, 2, 1, 1))
    (a,) = run_layer(
        make_layer("Bias", ScaleParams(axis=1, num_axes=1, bias_term=True), [1.0, 2.0]), x
    )
    (b,) = run_layer(
        make_layer("Bias", ScaleParams(axis=1, num_axes=1, bias_term=True), bottoms=2),
        x,
        [3.0, 4.0],
    )
    np.testing.assert_allclose(a.reshape(-1), [1, 2])
    np.testing.assert_allclose(b.reshape(-1), [3, 4])


def test_inner_product_flattens_in_c_h_w_order() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 2, 1, 2)  # C=2, H=1, W=2
    weight = np.eye(4)[[2, 1]]  # output 0 reads element 2 = (c=1, w=0), output 1 element 1
    layer = make_layer("InnerProduct", InnerProductParams(2, True, 1, False), weight, [0.5, 0])
    (y,) = run_layer(layer, x)
    np.testing.assert_allclose(y, [[3.5, 2.0]])
    transposed = make_layer("InnerProduct", InnerProductParams(2, False, 1, True), weight.T)
    (z,) = run_layer(transposed, x)
    np.testing.assert_allclose(z, [[3.0, 2.0]])


@pytest.mark.parametrize("transpose", [False, True])
def test_inner_product_in_blocks_of_output_units(monkeypatch, transpose: bool) -> None:
    """Large weights are converted to float64 a block of output units at a time."""
    from caffe2keras.reference.ops import dense

    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 2, 2))
    weight = rng.normal(size=(11, 12)).astype(np.float32)
    bias = rng.normal(size=11).astype(np.float32)
    stored = weight.T.copy() if transpose else weight
    layer = make_layer("InnerProduct", InnerProductParams(11, True, 1, transpose), stored, bias)
    monkeypatch.setattr(dense, "_BLOCK", 12 * 3)  # 3 output units per block, the last one short
    (y,) = run_layer(layer, x)
    expected = x.reshape(2, 12) @ weight.astype(np.float64).T + bias.astype(np.float64)
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_inner_product_axis_keeps_leading_axes() -> None:
    x = np.arange(12.0).reshape(2, 3, 2)
    layer = make_layer("InnerProduct", InnerProductParams(1, False, 2, False), [[1.0, -1.0]])
    (y,) = run_layer(layer, x)
    np.testing.assert_allclose(y, np.full((2, 3, 1), -1.0))


def test_eltwise_sum_coefficients_prod_and_max() -> None:
    a, b = np.array([1.0, -2.0]), np.array([4.0, 3.0])
    runs = {
        op: run_layer(make_layer("Eltwise", EltwiseParams(op, coeffs), bottoms=2), a, b)[0]
        for op, coeffs in [("SUM", (1.0, -0.5)), ("PROD", ()), ("MAX", ())]
    }
    np.testing.assert_allclose(runs["SUM"], [-1.0, -3.5])
    np.testing.assert_allclose(runs["PROD"], [4.0, -6.0])
    np.testing.assert_allclose(runs["MAX"], [4.0, 3.0])


def test_axpy() -> None:
    a = np.array([2.0, -1.0]).reshape(1, 2, 1, 1)
    x, y = np.ones((1, 2, 1, 2)), np.full((1, 2, 1, 2), 0.5)
    (out,) = run_layer(make_layer("Axpy", NoParams(), bottoms=3), a, x, y)
    np.testing.assert_allclose(out[0, :, 0, 0], [2.5, -0.5])


@pytest.mark.parametrize("k", [1.0, 2.0])
def test_lrn_across_channels_k_and_alpha_over_size(k) -> None:
    x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
    layer = make_layer("LRN", LRNParams(3, alpha=0.3, beta=0.75, k=k, region="ACROSS_CHANNELS"))
    (y,) = run_layer(layer, x)
    sums = [1 + 4, 1 + 4 + 9, 4 + 9]  # zero-padded window of 3 channels
    want = [v * (k + 0.3 / 3 * s) ** -0.75 for v, s in zip([1, 2, 3], sums)]
    np.testing.assert_allclose(y.reshape(-1), want, rtol=1e-14)


def test_lrn_within_channel_averages_over_the_padded_window() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    layer = make_layer("LRN", LRNParams(3, alpha=0.5, beta=0.75, k=7.0, region="WITHIN_CHANNEL"))
    (y,) = run_layer(layer, x)
    # every 3 x 3 window (pad 1) covers the whole 2 x 2 image and divides by 9; k is unused
    want = x * (1 + 0.5 * 30 / 9) ** -0.75
    np.testing.assert_allclose(y, want, rtol=1e-14)


def test_mvn_adds_eps_to_the_standard_deviation() -> None:
    x = np.array([1.0, 3.0, 10.0, 20.0]).reshape(1, 2, 1, 2)
    layer = make_layer("MVN", MVNParams(normalize_variance=True, across_channels=False, eps=0.5))
    (y,) = run_layer(layer, x)
    np.testing.assert_allclose(y.reshape(-1), [-1 / 1.5, 1 / 1.5, -5 / 5.5, 5 / 5.5])
    across = make_layer("MVN", MVNParams(normalize_variance=False, across_channels=True, eps=0))
    (z,) = run_layer(across, x)
    np.testing.assert_allclose(z.reshape(-1), [-7.5, -5.5, 1.5, 11.5])


def test_argmax_ties_take_the_larger_index_first() -> None:
    x = np.array([1.0, 3.0, 3.0, 2.0]).reshape(1, 4, 1, 1)
    (idx,) = run_layer(make_layer("ArgMax", ArgMaxParams(False, 3, 1)), x)
    np.testing.assert_array_equal(idx.reshape(-1), [2, 1, 3])
    (val,) = run_layer(make_layer("ArgMax", ArgMaxParams(True, 2, 1)), x)
    np.testing.assert_array_equal(val.reshape(-1), [3, 3])


def test_argmax_without_axis_layout() -> None:
    x = np.array([[5.0, 1.0, 7.0, 0.0], [0.0, 9.0, 8.0, 2.0]]).reshape(2, 1, 2, 2)
    (top,) = run_layer(make_layer("ArgMax", ArgMaxParams(True, 2, None)), x)
    assert top.shape == (2, 2, 2, 1)  # Caffe keeps the bottom's 4 axes: (N, 2, top_k, 1)
    np.testing.assert_array_equal(top[..., 0], [[[2, 0], [7, 5]], [[1, 2], [9, 8]]])


def test_reduction_over_trailing_axes_with_coeff() -> None:
    x = np.array([[1.0, -2.0], [3.0, -4.0]]).reshape(2, 1, 2)
    want = {"SUM": [-1, -1], "ASUM": [3, 7], "SUMSQ": [5, 25], "MEAN": [-0.5, -0.5]}
    for op, values in want.items():
        (y,) = run_layer(make_layer("Reduction", ReductionParams(op, 1, 2.0)), x)
        np.testing.assert_allclose(y, 2.0 * np.array(values), err_msg=op)


def test_power_threshold_bnll_edges() -> None:
    x = np.array([-1000.0, -1.0, 0.2, 1000.0])
    (p0,) = run_layer(make_layer("Power", PowerParams(power=0.0, scale=3.0, shift=2.0)), x)
    (ps,) = run_layer(make_layer("Power", PowerParams(power=2.0, scale=0.0, shift=3.0)), x)
    (th,) = run_layer(make_layer("Threshold", ThresholdParams(0.2)), x)
    (bn,) = run_layer(make_layer("BNLL", NoParams()), x)
    np.testing.assert_array_equal(p0, 1.0)
    np.testing.assert_array_equal(ps, 9.0)
    np.testing.assert_array_equal(th, [0, 0, 0, 1])  # strictly greater
    np.testing.assert_allclose(bn, [0.0, np.log1p(np.exp(-1.0)), np.log1p(np.exp(0.2)), 1000.0])
