"""Upsample (YOLO's nearest; SegNet's unpooling) and MaxUnPool against loops written from the
forks' C++ (brocolli-caffe ``upsample_layer.cpp``/``maxunpool_layer.cpp``, SegNet
``upsample_layer.cpp``): each SegNet size rule, duplicate mask indices (a later write wins), and
the refusals that name layer and field. Scatters copy values: compared exactly."""

from __future__ import annotations

import numpy as np
import pytest
from extra_nets import rand, run_layer, run_net
from netfiles import input_layer
from single_reference import reference_tops

from caffe2keras.errors import Caffe2KerasError, UnsupportedParameterError, ValidationError
from caffe2keras.families.unpooling import MaxUnPoolParams, UpsampleParams
from caffe2keras.ir.graph import Layer
from caffe2keras.reference.registry import lookup_reference_op


def caffe_unpool(x: np.ndarray, mask: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """The Forward_cpu main loop of both forks: top_data[idx] = bottom_data[i], i in order."""
    n_, c_, h, w = x.shape
    top = np.zeros((n_, c_, out_h * out_w), np.float32)
    for n in range(n_):
        for c in range(c_):
            for i in range(h * w):
                idx = int(mask[n, c].flat[i])
                assert 0 <= idx < out_h * out_w
                top[n, c, idx] = x[n, c].flat[i]
    return top.reshape(n_, c_, out_h, out_w)


def random_mask(shape, out_h, out_w, seed=3) -> np.ndarray:
    """Indices anywhere in the output plane, many repeated (so the write order matters)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, max(out_h * out_w // 3, 1), shape).astype(np.float32)


@pytest.mark.parametrize("scale", [1, 2, 3])
def test_nearest_upsample(tmp_path, scale) -> None:
    x = rand(2, 3, 4, 5)
    (y,) = run_layer(tmp_path, "Upsample", f"upsample_param {{ scale: {scale} }}", [x])
    np.testing.assert_array_equal(y, np.repeat(np.repeat(x, scale, axis=2), scale, axis=3))


def test_nearest_upsample_default_scale_is_brocollis_1(tmp_path) -> None:
    x = rand(1, 2, 3, 4)
    (y,) = run_layer(tmp_path, "Upsample", "", [x])
    np.testing.assert_array_equal(y, x)


SEGNET_RULES = [  # params, (out_h, out_w) for a 4 x 5 bottom
    ("", (8, 10)),  # SegNet's default scale 2
    ("upsample_param { scale: 3 }", (12, 15)),
    ("upsample_param { scale_h: 2 scale_w: 3 }", (8, 15)),
    ("upsample_param { scale: 2 pad_out_h: true }", (7, 10)),
    ("upsample_param { pad_out_w: true }", (8, 9)),
    ("upsample_param { scale_h: 2 scale_w: 2 pad_out_h: true pad_out_w: true }", (7, 9)),
    ("upsample_param { upsample_h: 9 upsample_w: 7 }", (9, 7)),
    ("upsample_param { upsample_h: 6 upsample_w: 11 scale: 4 pad_out_h: true }", (6, 11)),
]


@pytest.mark.parametrize("params,out", SEGNET_RULES)
def test_segnet_unpooling_size_rules(tmp_path, params, out) -> None:
    x = rand(2, 3, 4, 5)
    mask = random_mask(x.shape, *out)
    (y,) = run_layer(tmp_path, "Upsample", params, [x, mask])
    want = caffe_unpool(x, mask, *out)
    np.testing.assert_array_equal(y, want)
    np.testing.assert_array_equal(reference("Upsample", params, [x, mask]), want)


@pytest.mark.parametrize("dst", [(8, 10), (5, 6), (13, 4)])
def test_max_unpool_with_repeated_indices(tmp_path, dst) -> None:
    x = rand(2, 3, 4, 5)
    mask = random_mask(x.shape, *dst, seed=sum(dst))
    assert len(np.unique(mask[0, 0])) < mask[0, 0].size  # duplicates: the last one must win
    params = f"max_unpool_param {{ dst_h: {dst[0]} dst_w: {dst[1]} }}"
    (y,) = run_layer(tmp_path, "MaxUnPool", params, [x, mask])
    want = caffe_unpool(x, mask, *dst)
    np.testing.assert_array_equal(y, want)
    np.testing.assert_array_equal(reference("MaxUnPool", params, [x, mask]), want)


def test_the_last_write_wins(tmp_path) -> None:
    x = np.arange(1, 5, dtype=np.float32).reshape(1, 1, 2, 2)
    mask = np.array([5, 5, 0, 5], np.float32).reshape(1, 1, 2, 2)
    (y,) = run_layer(tmp_path, "MaxUnPool", "max_unpool_param { dst_h: 2 dst_w: 3 }", [x, mask])
    np.testing.assert_array_equal(y[0, 0], [[3, 0, 0], [0, 0, 4]])


@pytest.mark.parametrize(
    "kernel,stride,pad,size", [(2, 2, 0, (8, 10)), (3, 2, 1, (7, 9)), (3, 1, 1, (6, 7))]
)
@pytest.mark.parametrize("ltype", ["MaxUnPool", "Upsample"])
def test_pool_then_unpool(tmp_path, ltype, kernel, stride, pad, size) -> None:
    """The usual net: MAX pooling with a mask top, a Power, then unpooling to the pooled size
    (overlapping windows point at the same pixel: the unpooled map keeps it once)."""
    x = rand(2, 3, *size)
    params = (
        f"max_unpool_param {{ dst_h: {size[0]} dst_w: {size[1]} }}"
        if ltype == "MaxUnPool"
        else f"upsample_param {{ upsample_h: {size[0]} upsample_w: {size[1]} }}"
    )
    text = input_layer(x.shape, "in0") + (
        'layer { name: "pool" type: "Pooling" bottom: "in0" top: "p" top: "m" '
        f"pooling_param {{ pool: MAX kernel_size: {kernel} stride: {stride} pad: {pad} }} }}\n"
        'layer { name: "sh" type: "Power" bottom: "p" top: "q" power_param { shift: -0.5 } }\n'
        f'layer {{ name: "un" type: "{ltype}" bottom: "q" bottom: "m" top: "out" {params} }}\n'
    )
    got = run_net(tmp_path, text, {"in0": x})
    np.testing.assert_array_equal(got["out"], caffe_unpool(got["q"], got["m"], *size))


def reference(ltype: str, params: str, inputs: list[np.ndarray]) -> np.ndarray:
    return reference_tops(ltype, params, inputs)[0]


@pytest.mark.parametrize("index", [20, -1])
def test_reference_refuses_mask_indices_outside_the_plane(index) -> None:
    x, mask = rand(1, 1, 2, 2), np.zeros((1, 1, 2, 2), np.float32)
    mask[0, 0, 1, 1] = index  # Caffe: LOG(FATAL) for >= 4 * 5; out-of-bounds write for -1
    layer = Layer("L", "MaxUnPool", ("a", "b"), ("out",), MaxUnPoolParams(4, 5))
    op = lookup_reference_op("MaxUnPool")
    assert op is not None
    with pytest.raises(ValidationError, match=f"layer 'L', field 'bottom'.*{index} is out of"):
        op(layer, [x, mask], np.dtype(np.float32))


def test_keras_drops_mask_indices_outside_the_plane(tmp_path) -> None:
    from caffe2keras.keras_layers.unpooling import MaxUnpool

    x = np.arange(1, 5, dtype=np.float32).reshape(1, 2, 2, 1)
    mask = np.array([0, 99, -1, 3], np.float32).reshape(1, 2, 2, 1)
    y = np.asarray(MaxUnpool(out_size=(2, 2))([x, mask]))
    np.testing.assert_array_equal(y[0, :, :, 0], [[1, 0], [0, 4]])


REFUSED = [  # bottoms, params, error class, field
    (1, "upsample_param { upsample_h: 4 upsample_w: 4 }", ValidationError, "upsample_h"),
    (1, "upsample_param { scale: 2 scale_h: 2 scale_w: 2 }", ValidationError, "scale_h"),
    (1, "upsample_param { pad_out_h: true }", ValidationError, "pad_out_h"),
    (1, "upsample_param { scale: 2 dims_num: 3 }", UnsupportedParameterError, "dims_num"),
    (2, "upsample_param { dims_num: 4 }", ValidationError, "dims_num"),
    (2, "upsample_param { scale_h: 2 }", ValidationError, "scale_w"),
    (2, "upsample_param { upsample_w: 4 }", ValidationError, "upsample_h"),
    (2, "upsample_param { scale: 2 scale_h: 2 scale_w: 2 }", ValidationError, "scale"),
    (2, "upsample_param { scale: 1 }", ValidationError, "scale"),
    (2, "upsample_param { scale: 3 pad_out_h: true }", ValidationError, "pad_out_h"),
    (2, "upsample_param { upsample_h: 1 upsample_w: 4 }", ValidationError, "upsample_h"),
    (3, "", ValidationError, "bottom"),
]


@pytest.mark.parametrize("bottoms,params,error,field", REFUSED)
def test_upsample_refusals_name_layer_and_field(tmp_path, bottoms, params, error, field) -> None:
    inputs = [rand(1, 2, 4, 4)] * bottoms
    with pytest.raises(error, match=f"layer 'L', field '{field}'"):
        run_layer(tmp_path, "Upsample", params, inputs)


@pytest.mark.parametrize(
    "params,field",
    [
        ("max_unpool_param { dst_h: 4 }", "dst_w"),
        ("max_unpool_param { dst_h: 0 dst_w: 4 }", "dst_h"),
    ],
)
def test_max_unpool_refusals(tmp_path, params, field) -> None:
    x = rand(1, 2, 2, 2)
    with pytest.raises(ValidationError, match=f"layer 'L', field '{field}'"):
        run_layer(tmp_path, "MaxUnPool", params, [x, x])


def test_mask_of_another_shape_is_refused(tmp_path) -> None:
    params = "max_unpool_param { dst_h: 4 dst_w: 4 }"
    with pytest.raises(Caffe2KerasError, match="layer 'L', field 'bottom'"):
        run_layer(tmp_path, "MaxUnPool", params, [rand(1, 2, 2, 2), rand(1, 2, 2, 3)])


def test_inspect_names_the_meaning() -> None:
    from caffe2keras.keras_model.registry import keras_info

    info = keras_info("Upsample")
    assert info is not None
    nearest = Layer("L", "Upsample", ("a",), ("o",), UpsampleParams("nearest", (2, 2)))
    segnet = Layer("L", "Upsample", ("a", "m"), ("o",), UpsampleParams("unpool", (2, 2)))
    assert info.describe(nearest, [(1, 2, 3, 4)]).startswith("UpSampling2D (nearest, x2")
    assert "SegNet unpooling" in info.describe(segnet, [(1, 2, 3, 4)] * 2)
