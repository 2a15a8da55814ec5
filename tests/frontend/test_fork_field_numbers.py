"""Forks reuse LayerParameter field numbers: a caffemodel written by any of them loads, because
layer parameters come from the prototxt (read by field name) and the caffemodel is read for names,
types and blobs only (``frontend/blobs.py``).

Each caffemodel here is written by hand (``tests/protowire.py``) with a fork's own numbering and a
parameter message whose values differ from the prototxt's; the results must follow the prototxt.
The collisions, from the forks' ``src/caffe/proto/caffe.proto``:

- 137: BVLC ``embed_param``; yjxiong/caffe ``bn_param``; SegNet ``upsample_param``
- 138: BVLC ``tile_param``; SegNet ``dense_image_data_param``
- 143: BVLC ``input_param``; PSPNet ``interp_param``
- 147: BVLC ``swish_param``; PSPNet ``domain_transform_param``
- 148: BVLC ``clip_param``; YOLO v2 ports ``reorg_param``
- 149: PSPNet ``bias_channel_param``; brocolli-caffe ``psroi_pooling_param``; YOLO v2 ports
  ``region_param`` (BVLC has none)
- 202: SSD ``permute_param``; a Faster R-CNN C++ port's ``proposal_param``
"""

from __future__ import annotations

import struct

import numpy as np
from bounds import SMALL_NET_BOUND, assert_within, rel_linf
from netfiles import input_layer
from protowire import f32, ld, varint, vi

from caffe2keras import api
from caffe2keras._proto import caffe_pb2


def blob(arr: np.ndarray) -> bytes:
    """A BlobProto: shape (7) { dim (1), packed }, data (5), packed floats."""
    arr = np.asarray(arr, np.float32)
    dims = b"".join(varint(d) for d in arr.shape)
    return ld(7, ld(1, dims)) + ld(5, struct.pack(f"<{arr.size}f", *arr.ravel()))


def layer(name: str, ltype: str, blobs: tuple[np.ndarray, ...] = (), raw: bytes = b"") -> bytes:
    """A LayerParameter: name (1), type (2), blobs (7), then a fork's raw parameter field."""
    body = ld(1, name.encode()) + ld(2, ltype.encode())
    body += b"".join(ld(7, blob(b)) for b in blobs)
    return ld(100, body + raw)


def caffemodel(path, *layers: bytes) -> None:
    path.write_bytes(ld(1, b"fork") + b"".join(layers))


def convert(tmp_path, prototxt: str, model: bytes, x: np.ndarray) -> np.ndarray:
    """Convert (verified), then run the saved .h5 on ``x`` (NCHW): its one output, as Keras
    gives it (channels_last for 4-D blobs)."""
    import keras

    proto = tmp_path / "net.prototxt"
    proto.write_text(prototxt)
    weights = tmp_path / "net.caffemodel"
    weights.write_bytes(model)
    out = tmp_path / "m.h5"
    result = api.convert(proto, weights, out, api.ConvertOptions())
    assert result.exit_code == 0 and result.report is not None and result.report.passed
    loaded = keras.models.load_model(out, safe_mode=True, compile=False)
    return np.asarray(loaded(np.moveaxis(x, 1, -1)))


def nchw(y: np.ndarray) -> np.ndarray:
    return np.moveaxis(y, -1, 1)


def ours(number: int) -> str | None:
    field = caffe_pb2.LayerParameter.DESCRIPTOR.fields_by_number.get(number)
    return field.name if field is not None else None


C = 3
X = np.random.default_rng(11).normal(size=(2, C, 4, 4)).astype(np.float32)
SLOPE, BIAS = np.array([1.5, -0.5, 2.0]), np.array([0.25, 1.0, -3.0])
MEAN, VAR = np.array([0.5, -1.0, 2.0]), np.array([4.0, 0.25, 1.0])


def bn_expected(x: np.ndarray, eps: float) -> np.ndarray:
    inv = (VAR + float(np.float32(eps))) ** -0.5
    shape = (1, C, 1, 1)
    return (x - MEAN.reshape(shape)) * inv.reshape(shape) * SLOPE.reshape(shape) + BIAS.reshape(
        shape
    )


def test_the_numbers_collide_with_our_schema() -> None:
    # our schema (BVLC + SSD numbers) holds other messages at the forks' numbers
    assert [ours(n) for n in (137, 138, 143, 147, 148, 202)] == [
        "embed_param",
        "tile_param",
        "input_param",
        "swish_param",
        "clip_param",
        "permute_param",
    ]
    assert ours(149) is None and ours(45) is None and ours(152) is None


def test_yjxiong_caffemodel_with_bn_param_at_137(tmp_path) -> None:
    text = input_layer((2, C, 4, 4)) + (
        'layer { name: "bn" type: "BN" bottom: "data" top: "bn" bn_param { eps: 0.001 } }\n'
    )
    # yjxiong's bn_param at 137 says eps 0.5 and frozen: the prototxt's eps (0.001) must win
    raw = ld(137, f32(3, 0.9) + f32(4, 0.5) + vi(5, 1))
    blobs = tuple(b.reshape(1, C) for b in (SLOPE, BIAS, MEAN, VAR))  # yjxiong's (1, C) blobs
    model = ld(1, b"fork") + layer("data", "Input") + layer("bn", "BN", blobs, raw)
    got = nchw(convert(tmp_path, text, model, X))
    assert_within("yjxiong BN, 137", rel_linf(got, bn_expected(X, 1e-3)), SMALL_NET_BOUND)


def test_segnet_caffemodel_with_bn_param_at_45_and_upsample_param_at_137(tmp_path) -> None:
    text = input_layer((2, C, 4, 4)) + (
        'layer { name: "bn" type: "BN" bottom: "data" top: "bn" bn_param { bn_mode: INFERENCE } }\n'
        'layer { name: "relu" type: "ReLU" bottom: "bn" top: "relu" }\n'
        'layer { name: "tile" type: "Tile" bottom: "relu" top: "tile" '
        "tile_param { axis: 1 tiles: 2 } }\n"
    )
    blobs = (SLOPE.reshape(1, C, 1, 1), BIAS.reshape(1, C, 1, 1))
    model = (
        ld(1, b"fork")
        + layer("bn", "BN", blobs, ld(45, vi(3, 0)))  # SegNet's bn_param says LEARN
        + layer("relu", "ReLU", (), ld(137, vi(1, 4)))  # upsample_param { scale: 4 }
        + layer("tile", "Tile", (), ld(138, ld(1, b"list.txt")))  # dense_image_data_param
    )
    got = nchw(convert(tmp_path, text, model, X))
    relu = np.maximum(X * SLOPE.reshape(1, C, 1, 1) + BIAS.reshape(1, C, 1, 1), 0)
    expected = np.concatenate([relu, relu], axis=1)
    assert_within("SegNet BN, 45/137/138", rel_linf(got, expected), SMALL_NET_BOUND)


def test_pspnet_caffemodel_with_interp_143_domain_transform_147_bias_channel_149(tmp_path) -> None:
    text = input_layer((2, C, 4, 4)) + (
        'layer { name: "bn" type: "BN" bottom: "data" top: "bn" bn_param { eps: 0.5 } }\n'
        'layer { name: "sw" type: "Swish" bottom: "bn" top: "sw" swish_param { beta: 1.5 } }\n'
        'layer { name: "relu" type: "ReLU" bottom: "sw" top: "relu" }\n'
    )
    blobs = tuple(b.reshape(1, C, 1, 1) for b in (SLOPE, BIAS, MEAN, VAR))  # PSPNet's (1,C,1,1)
    model = (
        ld(1, b"fork")
        + layer("data", "Input", (), ld(143, vi(1, 9) + vi(2, 9)))  # interp_param height/width
        + layer("bn", "BN", blobs, ld(152, f32(4, 1e-5)))  # PSPNet's bn_param: eps 1e-5
        + layer("sw", "Swish", (), ld(147, vi(1, 3) + f32(2, 50.0)))  # domain_transform_param
        + layer("relu", "ReLU", (), ld(149, f32(1, 2.0) + f32(2, 3.0)))  # bias_channel_param
    )
    got = nchw(convert(tmp_path, text, model, X))
    y = bn_expected(X.astype(np.float64), 0.5)
    expected = np.maximum(y / (1 + np.exp(-1.5 * y)), 0)  # swish with the prototxt's beta
    assert_within("PSPNet, 143/147/149/152", rel_linf(got, expected), SMALL_NET_BOUND)


def test_yolo_caffemodel_with_reorg_param_at_148_and_region_param_at_149(tmp_path) -> None:
    text = input_layer((2, 4, 4, 4)) + (
        'layer { name: "reorg" type: "Reorg" bottom: "data" top: "reorg" '
        "reorg_param { stride: 2 } }\n"
    )
    # the port's reorg_param { stride: 4 } at 148 and a region_param { coords: 4 } at 149
    raw = ld(148, vi(1, 4)) + ld(149, vi(2, 4))
    model = ld(1, b"fork") + layer("reorg", "Reorg", (), raw)
    parsed = caffe_pb2.NetParameter.FromString(model)  # our schema reads 148 as clip_param,
    assert parsed.layer[0].HasField("clip_param") and not parsed.IsInitialized()  # min/max unset
    x = np.random.default_rng(2).normal(size=(2, 4, 4, 4)).astype(np.float32)
    got = nchw(convert(tmp_path, text, model, x))
    assert got.shape == (2, 16, 2, 2)  # stride 2 from the prototxt


def test_ssd_permute_next_to_a_proposal_param_at_202(tmp_path) -> None:
    text = input_layer((2, C, 4, 5)) + (
        'layer { name: "perm" type: "Permute" bottom: "data" top: "perm" '
        "permute_param { order: 0 order: 2 order: 3 order: 1 } }\n"
        'layer { name: "relu" type: "ReLU" bottom: "perm" top: "relu" }\n'
    )
    # a Faster R-CNN port's proposal_param { feat_stride: 16 } at 202, in a Permute layer: read
    # with our schema it would be permute_param { order: 16 }
    model = ld(1, b"fork") + layer("perm", "Permute", (), ld(202, vi(1, 16)))
    assert list(caffe_pb2.NetParameter.FromString(model).layer[0].permute_param.order) == [16]
    x = np.random.default_rng(3).normal(size=(2, C, 4, 5)).astype(np.float32)
    got = convert(tmp_path, text, model, x)
    # the top (N, H, W, C) is a 4-D Caffe blob, so Keras holds it channels_last: (N, W, C, H)
    expected = np.maximum(x.transpose(0, 2, 3, 1), 0)
    np.testing.assert_array_equal(nchw(got), expected)
