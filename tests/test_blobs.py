"""The caffemodel wire-format reader: agreement with protobuf, hand-built encodings, errors."""

from __future__ import annotations

import gc
import importlib.util
import os
import random
import struct
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from protowire import f32, f64, ld, tag, varint, vi

from caffe2keras.errors import CaffemodelError
from caffe2keras.frontend.blobs import Caffemodel, parse_caffemodel_bytes, read_caffemodel
from caffe2keras.frontend.v1types import V0_TYPE_NAMES, V1_TYPE_NAMES, v0_type_name, v1_type_name

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
LENET = SHARED / "zoo" / "lenet_iter_10000.caffemodel"
GOLDEN = sorted(SHARED.glob("golden/layers/*/weights.caffemodel"))
SMALL = ["conv_basic", "bn_scale", "ip_chain", "prelu", "deconv_group"]


def shared() -> Path:
    if not SHARED.is_dir():
        reason = f"shared reference data not found at {SHARED}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return SHARED


def make_caffemodel() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_caffemodel", shared() / "tools" / "make_caffemodel.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# one unknown field of every wire type (field numbers unused by the messages they are put in)
JUNK = (
    vi(900, 2**64 - 5)
    + tag(901, 1)
    + b"\x01" * 8
    + ld(902, b"\x00\xff junk")
    + tag(903, 5)
    + b"abcd"
)


def packed_blob(arr: np.ndarray) -> bytes:
    dims = b"".join(varint(d) for d in arr.shape)
    return ld(7, ld(1, dims)) + ld(5, np.asarray(arr, "<f4").tobytes())


def v2_layer(name: str, ltype: str, *blobs: bytes) -> bytes:
    return ld(100, ld(1, name.encode()) + ld(2, ltype.encode()) + b"".join(ld(7, b) for b in blobs))


# ---- protobuf as the oracle


def pb_blob(blob) -> np.ndarray:
    legacy = any(blob.HasField(f) for f in ("num", "channels", "height", "width"))
    shape = (blob.num, blob.channels, blob.height, blob.width) if legacy else tuple(blob.shape.dim)
    if len(blob.double_data):
        return np.asarray(blob.double_data, np.float64).reshape(shape)
    return np.asarray(blob.data, np.float32).reshape(shape)


def pb_layers(data: bytes) -> list[tuple[str, str, list[np.ndarray]]]:
    """What Caffe's own parse + upgrade makes of the file: (name, V2 type, blobs) per layer."""
    caffe_pb2 = pytest.importorskip("caffe2keras._proto.caffe_pb2")
    net = caffe_pb2.NetParameter()
    net.ParseFromString(data)
    out = [(x.name, x.type, [pb_blob(b) for b in x.blobs]) for x in net.layer]
    for x in net.layers:
        if x.HasField("layer"):
            v0 = x.layer
            out.append(
                (v0.name, V0_TYPE_NAMES[v0.type] if v0.type else "", [pb_blob(b) for b in v0.blobs])
            )
        else:
            out.append((x.name, V1_TYPE_NAMES[x.type], [pb_blob(b) for b in x.blobs]))
    return out


def assert_same(model: Caffemodel, expected: list, ordered: bool = True) -> None:
    ours = [(x.name, x.type, list(x.blobs)) for x in model.layers]
    if not ordered:  # protobuf loses the interleaving of `layer` and `layers`
        key = lambda t: (t[0], t[1], [b.shape for b in t[2]])  # noqa: E731
        ours, expected = sorted(ours, key=key), sorted(expected, key=key)
    assert [(n, t) for n, t, _ in ours] == [(n, t) for n, t, _ in expected]
    for (name, _, got), (_, _, want) in zip(ours, expected, strict=True):
        assert len(got) == len(want), name
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype and g.shape == w.shape, name
            assert np.array_equal(g, w, equal_nan=True), name


# ---- (a) real files agree with protobuf


@pytest.mark.parametrize(
    "path", [*GOLDEN, LENET] if GOLDEN else [None], ids=lambda p: p and p.parent.name
)
def test_matches_protobuf(path: Path | None) -> None:
    shared()
    assert path is not None and path.is_file()
    model = read_caffemodel(path)
    assert model.format == "v2" and model.path == str(path)
    assert_same(model, pb_layers(path.read_bytes()))
    for layer in model.layers:
        for blob in layer.blobs:  # (d) packed data: zero-copy read-only views on the map
            assert not blob.flags.writeable and not blob.flags.owndata and blob.dtype == np.float32


def test_lenet_blobs_outlive_the_model() -> None:
    shared()
    model = read_caffemodel(LENET)
    blobs = [b for x in model.layers for b in x.blobs]
    expected = [b.copy() for b in blobs]
    del model
    gc.collect()
    assert [b.shape for b in blobs][:2] == [(20, 1, 5, 5), (20,)]
    assert all(np.array_equal(b, e) for b, e in zip(blobs, expected, strict=True))


# ---- (b) hand-built encodings


def test_unpacked_floats_dims_and_unknown_fields_everywhere() -> None:
    values = np.arange(6, dtype=np.float32) - 2.5
    shape = JUNK + vi(1, 2) + JUNK + vi(1, 3)  # unpacked dims, junk between them
    head = values[:4].tobytes()
    data = b"".join(f32(5, v) for v in values[:2]) + JUNK + f32(5, values[2]) + b""
    data += ld(5, values[3:5].tobytes()) + f32(5, values[5])  # unpacked, packed, unpacked chunks
    blob = JUNK + ld(7, shape) + data + ld(6, head) + f64(9, 1.0) + JUNK  # diffs are skipped
    layer = JUNK + ld(1, b"fc") + JUNK + ld(2, b"InnerProduct") + JUNK + ld(7, blob) + JUNK
    buf = JUNK + ld(1, b"net") + JUNK + ld(100, layer) + JUNK
    model = parse_caffemodel_bytes(buf)
    (got,) = model.layers[0].blobs
    assert model.name == "net" and got.shape == (2, 3) and not got.flags.writeable
    assert np.array_equal(got, values.reshape(2, 3))
    assert_same(model, pb_layers(buf))


def test_long_unpacked_run_and_noncanonical_tag() -> None:
    values = np.random.default_rng(0).standard_normal(10_000).astype(np.float32)
    data = b"".join(f32(5, v) for v in values) + b"\xad\x00" + struct.pack("<f", 7.0)
    buf = v2_layer("w", "Scale", ld(7, ld(1, varint(10_001))) + data)
    (got,) = parse_caffemodel_bytes(buf).layers[0].blobs
    assert np.array_equal(got, np.append(values, np.float32(7.0)))


def test_unpacked_data_interleaved_with_unpacked_diff() -> None:
    body = b"".join(f32(5, float(i)) + f32(6, -1.0) for i in range(1000))
    buf = v2_layer("x", "Scale", ld(7, ld(1, varint(1000))) + body)
    (got,) = parse_caffemodel_bytes(buf).layers[0].blobs
    assert np.array_equal(got, np.arange(1000, dtype=np.float32))
    assert_same(parse_caffemodel_bytes(buf), pb_layers(buf))


def test_double_data_packed_and_unpacked_wins_over_data() -> None:
    blob = vi(1, 1) + vi(2, 1) + vi(3, 1) + vi(4, 3)  # legacy dims stay 4-D here
    blob += ld(5, np.ones(3, "<f4").tobytes()) + ld(8, np.array([0.1, 0.2], "<f8").tobytes())
    blob += f64(8, 0.3)
    buf = v2_layer("b", "Bias", blob)
    (got,) = parse_caffemodel_bytes(buf).layers[0].blobs
    assert got.dtype == np.float64 and got.shape == (1, 1, 1, 3)
    assert np.array_equal(got.ravel(), [0.1, 0.2, 0.3])
    assert_same(parse_caffemodel_bytes(buf), pb_layers(buf))


def test_legacy_dims_win_over_shape_like_blob_from_proto() -> None:
    legacy = vi(1, 1) + vi(2, 1) + vi(3, 1) + vi(4, 4)
    blob = ld(7, ld(1, varint(2) + varint(2))) + legacy + ld(5, np.arange(4, dtype="<f4").tobytes())
    buf = v2_layer("b", "Bias", blob, ld(5, np.ones(1, "<f4").tobytes()))  # no shape at all: ()
    model = parse_caffemodel_bytes(buf)
    assert [b.shape for b in model.layers[0].blobs] == [(1, 1, 1, 4), ()]
    assert_same(model, pb_layers(buf))


def test_v1_format_from_make_caffemodel() -> None:
    manifest = {
        "name": "v1net",
        "seed": 7,
        "layers": [
            {"name": "conv", "type": "Convolution", "shapes": [[4, 3, 3, 3], [4]]},
            {"name": "relu", "type": "ReLU", "shapes": []},
            {"name": "fc", "type": "InnerProduct", "shapes": [[10, 36], [10]]},
            {"name": "up", "type": "Deconvolution", "shapes": [[4, 2, 2, 2]]},
        ],
    }
    tool = make_caffemodel()
    buf = tool.build(manifest, "v1")
    model = parse_caffemodel_bytes(buf, "v1.caffemodel")
    assert model.format == "v1" and model.path == "v1.caffemodel"
    assert [(x.name, x.type) for x in model.layers] == [
        ("conv", "Convolution"), ("relu", "ReLU"), ("fc", "InnerProduct"), ("up", "Deconvolution")
    ]  # fmt: skip
    assert [b.shape for b in model.by_name()["fc"].blobs] == [(1, 1, 10, 36), (1, 1, 1, 10)]
    want = tool.weights_for(7, "fc", "InnerProduct", 0, [10, 36])
    assert np.array_equal(model.by_name()["fc"].blobs[0].reshape(10, 36), want)
    assert_same(model, pb_layers(buf))


def test_v0_layers_mixed_format_and_empty_layers() -> None:
    v0 = ld(1, b"old") + ld(2, b"innerproduct") + ld(50, packed_blob(np.ones((2, 2))))
    buf = ld(2, ld(1, v0) + ld(2, b"bottom"))
    buf += v2_layer("data", "Input") + ld(100, b"") + ld(2, ld(4, b"r") + vi(5, 18))
    model = parse_caffemodel_bytes(buf)
    assert model.format == "mixed"
    assert [(x.name, x.type, len(x.blobs)) for x in model.layers] == [
        ("old", "InnerProduct", 1), ("data", "Input", 0), ("", "", 0), ("r", "ReLU", 0)
    ]  # fmt: skip
    assert_same(model, pb_layers(buf), ordered=False)


def test_named_net_without_layers_is_accepted() -> None:
    model = parse_caffemodel_bytes(ld(1, b"absval") + vi(5, 1))  # as in golden/layers/absval
    assert (model.name, model.format, model.layers) == ("absval", "v2", ())


def test_by_name_is_read_only_and_later_duplicate_wins() -> None:
    buf = v2_layer("a", "ReLU") + v2_layer("a", "TanH")
    index = parse_caffemodel_bytes(buf).by_name()
    assert index["a"].type == "TanH"
    with pytest.raises(TypeError):
        index["b"] = index["a"]  # type: ignore[index]


def test_type_tables() -> None:
    assert (v1_type_name(4), v1_type_name(14), v1_type_name(39), v1_type_name(0)) == (
        "Convolution", "InnerProduct", "Deconvolution", ""
    )  # fmt: skip
    assert v0_type_name("pool") == "Pooling" and len(V1_TYPE_NAMES) == 40
    for bad in (40, -1):
        with pytest.raises(ValueError, match="unknown V1 layer type"):
            v1_type_name(bad)
    with pytest.raises(ValueError, match="unknown V0 layer type"):
        v0_type_name("padding")


@pytest.mark.skipif(sys.maxsize < 2**40, reason="needs a 64-bit address space")
def test_layer_beyond_2gib_in_a_sparse_file(tmp_path: Path) -> None:
    gap = 2**31 + 12345  # an unknown top-level field as large as that, left sparse on disk
    path = tmp_path / "big.caffemodel"
    with open(path, "wb") as handle:
        handle.write(ld(1, b"big") + tag(50, 2) + varint(gap))
        handle.seek(gap, os.SEEK_CUR)
        handle.write(v2_layer("far", "Scale", packed_blob(np.arange(3, dtype=np.float32))))
    (layer,) = read_caffemodel(path).layers
    assert layer.name == "far" and np.array_equal(layer.blobs[0], [0, 1, 2])


# ---- (c) errors

ERRORS = {
    "empty": (b"", "the file is empty"),
    "varint": (b"\x0a\x85", "byte offset 1: truncated varint"),
    "past end": (ld(1, b"n")[:-1] + b"", "past the end of the file"),
    "in layer": (
        ld(100, ld(1, b"conv") + tag(7, 2) + varint(50)),
        "byte offset 9, layer 'conv': field 7 needs 50 bytes",
    ),
    "group": (ld(1, b"n") + tag(5, 3), "group wire type"),
    "wire 7": (ld(1, b"n") + tag(5, 7), "invalid wire type 7"),
    "wrong wire": (ld(1, b"n") + vi(100, 3), "field 100 has wire type varint"),
    "len % 4": (v2_layer("c", "C", ld(5, b"123456")), "6 bytes, not a multiple of 4"),
    "len % 8": (v2_layer("c", "C", ld(8, b"123456789012")), "not a multiple of 8"),
    "count": (
        v2_layer("fc", "IP", packed_blob(np.ones(3)), ld(7, ld(1, varint(4))) + ld(5, b"\0" * 20)),
        "blob 1 holds 5 values but its shape (4,) needs 4",
    ),
    "count names layer": (
        v2_layer("fc", "IP", ld(7, ld(1, varint(2)))),
        "layer 'fc': blob 0 holds 0 values",
    ),
    "prototxt": (b'name: "LeNet"\nlayer {\n  name: "data"\n', "looks like a prototxt (text)"),
    "prototxt2": (b"# c\n\nlayer {\n name: 'x' }\n", "looks like a prototxt (text)"),
    "hdf5": (b"\x89HDF\r\n\x1a\n" + b"\0" * 64, "looks like an HDF5 file"),
    "negative": (v2_layer("c", "C", ld(7, ld(1, varint(-3)))), "negative dimension"),
    "absurd": (v2_layer("c", "C", ld(7, ld(1, varint(2**40) + varint(2**40)))), "2**31-1"),
    "axes": (v2_layer("c", "C", ld(7, ld(1, varint(1) * 33))), "33 axes"),
    "no layers": (vi(5, 1) + ld(7, b"\x08\x01") + ld(5, b"\0" * 4), "holds no layers and no net"),
    "v1 enum": (ld(2, ld(4, b"x") + vi(5, 99)), "unknown V1 layer type number 99"),
    "v0 type": (ld(2, ld(1, ld(1, b"p") + ld(2, b"padding"))), "unknown V0 layer type 'padding'"),
    "utf8": (ld(100, ld(1, b"\xff\xfe")), "layer #0: layer name b'\\xff\\xfe' is not valid UTF-8"),
    "field 0": (b"\x02\x00", "invalid field number 0"),
    "long varint": (b"\x08" + b"\xff" * 11, "longer than 10 bytes"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors(case: str) -> None:
    buf, message = ERRORS[case]
    with pytest.raises(CaffemodelError) as info:
        parse_caffemodel_bytes(buf, "m.caffemodel")
    assert message in str(info.value) and str(info.value).startswith("m.caffemodel: ")


def test_file_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.caffemodel").write_bytes(b"")
    with pytest.raises(CaffemodelError, match="the file is empty"):
        read_caffemodel(tmp_path / "empty.caffemodel")
    with pytest.raises(CaffemodelError, match="cannot read the file"):
        read_caffemodel(tmp_path / "missing.caffemodel")
    shared()
    with pytest.raises(CaffemodelError, match="looks like a prototxt"):
        read_caffemodel(SHARED / "zoo" / "lenet.prototxt")


def top_level_ends(buf: bytes) -> set[int]:
    """Offsets where a top-level field ends (truncating there leaves a valid, shorter message)."""
    ends, pos = set(), 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        value, pos = read_varint(buf, pos)
        pos += value if key & 7 == 2 else 0
        ends.add(pos)
    return ends


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        result |= (buf[pos] & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if buf[pos - 1] < 0x80:
            return result, pos


def check_truncations(buf: bytes, offsets: set[int]) -> None:
    full = parse_caffemodel_bytes(buf).layers
    ends = top_level_ends(buf)
    for cut in sorted(offsets):
        try:
            layers = parse_caffemodel_bytes(buf[:cut]).layers
        except CaffemodelError:
            continue
        assert cut in ends, f"truncation at {cut} was accepted"
        assert [x.name for x in layers] == [x.name for x in full[: len(layers)]]


def test_truncations_of_lenet_always_raise() -> None:
    shared()
    buf = LENET.read_bytes()
    rng = random.Random(1)
    ends = top_level_ends(buf)
    offsets = set(range(0, 3000)) | {rng.randrange(len(buf)) for _ in range(300)}
    offsets |= {e + d for e in ends for d in (-2, -1, 0, 1, 2) if 0 <= e + d < len(buf)}
    check_truncations(buf, offsets)
    with pytest.raises(CaffemodelError, match=r"layer #5 \('ip1'\) runs past the end of the file"):
        parse_caffemodel_bytes(buf[: len(buf) // 2])


@pytest.mark.parametrize("name", SMALL)
def test_every_truncation_of_small_files(name: str) -> None:
    buf = (shared() / "golden" / "layers" / name / "weights.caffemodel").read_bytes()
    check_truncations(buf, set(range(len(buf))))


def test_bit_flips_raise_caffemodel_error_or_agree_with_protobuf() -> None:
    shared()
    pytest.importorskip("caffe2keras._proto.caffe_pb2")
    files = [(SHARED / "golden" / "layers" / n / "weights.caffemodel").read_bytes() for n in SMALL]
    relu = {"name": "c", "type": "ReLU", "shapes": [[2]]}
    v1 = make_caffemodel().build({"seed": 1, "layers": [relu]}, "v1")
    rng = random.Random(20261126)
    outcomes = {"error": 0, "parsed": 0}
    for _ in range(300):
        buf = bytearray(rng.choice([*files, v1]))
        pos = rng.randrange(min(len(buf), 200)) if rng.random() < 0.8 else rng.randrange(len(buf))
        buf[pos] ^= 1 << rng.randrange(8)
        try:
            model = parse_caffemodel_bytes(bytes(buf))
        except CaffemodelError:
            outcomes["error"] += 1
            continue
        outcomes["parsed"] += 1
        try:
            expected = pb_layers(bytes(buf))
        except Exception:  # protobuf is laxer or stricter in places; only compare when both parse
            continue
        assert_same(model, expected, ordered=model.format != "mixed")
    assert outcomes["error"] > 10 and outcomes["parsed"] > 10
