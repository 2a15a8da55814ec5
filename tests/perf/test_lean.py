"""The lean pipeline: weights stream from the caffemodel map to a .weights.h5 identical to
Keras' own, blocks equal the whole transposed weight, and map pages are released."""

from __future__ import annotations

import mmap
from pathlib import Path

import h5py
import numpy as np
import pytest

from caffe2keras import api
from caffe2keras.frontend.pages import release_pages
from caffe2keras.keras_model.weights import Reshaped, blocks, column_slices, materialize

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
PROTO, MODEL = TINY / "tiny.prototxt", TINY / "tiny.caffemodel"


def h5_contents(path: Path) -> dict[str, tuple[dict, np.ndarray | None]]:
    out: dict[str, tuple[dict, np.ndarray | None]] = {}
    with h5py.File(path) as f:

        def visit(name: str, obj: h5py.HLObject) -> None:
            data = np.array(obj) if isinstance(obj, h5py.Dataset) else None
            out[name] = (dict(obj.attrs), data)

        f.visititems(visit)
        out["/"] = (dict(f.attrs), None)
    return out


def assert_same_file(streamed: Path, saved: Path, root_attrs: bool = True) -> None:
    a, b = h5_contents(streamed), h5_contents(saved)
    assert a.keys() == b.keys()
    for key, (attrs, data) in a.items():
        if root_attrs or key != "/":  # our provenance attributes sit on the root
            assert attrs == b[key][0], key
        if data is not None:
            np.testing.assert_array_equal(data, b[key][1], err_msg=key)


def convert_both(tmp_path: Path, proto: Path, model: Path, shapes: dict | None = None) -> None:
    """Streamed outputs, unverified (variables never filled) and verified (filled, verified,
    then streamed), both hold what Keras' own ``save_weights`` writes for the filled model."""
    from caffe2keras.keras_model.model import build_model

    shapes = shapes or {}
    options = api.ConvertOptions(input_shapes=shapes)
    fast, verified = tmp_path / "s.weights.h5", tmp_path / "v.weights.h5"
    api.convert(proto, model, fast, api.ConvertOptions(verify=False, input_shapes=shapes))
    assert api.convert(proto, model, verified, options).exit_code == 0
    keras_saved = tmp_path / "k.weights.h5"
    build_model(api.load(proto, model, options).keras).model.save_weights(keras_saved)
    assert_same_file(fast, keras_saved, root_attrs=False)
    assert verified.read_bytes() == fast.read_bytes()  # verified or not: the same bytes
    report = api.verify(proto, model, fast, options)
    assert report.passed


def test_streamed_weights_equal_keras_save_weights(tmp_path) -> None:
    convert_both(tmp_path, PROTO, MODEL)


@pytest.mark.parametrize("case", ["ip_after_conv", "conv_depthwise_mult", "deconv_basic"])
def test_streamed_weights_on_goldens(tmp_path, golden_layer, case) -> None:
    g = golden_layer(case)
    convert_both(tmp_path, g.prototxt, g.caffemodel, g.input_shapes)


def test_unverified_weights_output_leaves_variables_empty(tmp_path) -> None:
    from caffe2keras.keras_model.model import build_model

    net = api.load(PROTO, MODEL)
    built = build_model(net.keras, fill_weights=False)
    assert built.pending and built.pending == built.sources
    assert all(v._value is None for layer, _ in built.pending for v in layer.weights)
    assert not build_model(net.keras).pending  # filled: nothing pending, sources kept


@pytest.mark.parametrize(
    "shape, max_bytes", [((3, 3, 8, 600), 4096), ((7, 1000), 4000), ((5,), 8), ((2, 3, 4, 1), 1)]
)
def test_blocks_cover_the_weight(shape, max_bytes) -> None:
    rng = np.random.default_rng(0)
    caffe = rng.standard_normal(shape[::-1]).astype(np.float32)
    view = caffe.T  # a transposed view, as builders give
    out = np.zeros(shape, np.float32)
    widths = []
    for where, block in blocks(view, max_bytes):
        out[..., where] = block
        widths.append(block.shape[-1])
    np.testing.assert_array_equal(out, view)
    assert sum(widths) == shape[-1]
    np.testing.assert_array_equal(materialize(view), view)


def test_reshaped_dense_kernel_blocks_and_materialize() -> None:
    rng = np.random.default_rng(1)
    c, h, w, out = 3, 4, 5, 700
    weight = rng.standard_normal((out, c * h * w)).astype(np.float32)
    want = weight.T.reshape(c, h, w, out).transpose(1, 2, 0, 3).reshape(c * h * w, out)
    lazy = Reshaped(weight.T.reshape(c, h, w, out).transpose(1, 2, 0, 3), (c * h * w, out))
    np.testing.assert_array_equal(materialize(lazy), want)
    np.testing.assert_array_equal(np.asarray(lazy), want)
    got = np.concatenate([b for _, b in blocks(lazy, 60 * 4 * 256)], axis=-1)
    np.testing.assert_array_equal(got, want)
    assert all(s.stop - s.start in (256, out % 256) for s in column_slices(lazy, 60 * 4 * 256))


def rss_file_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    pytest.skip("no RssFile in /proc/self/status")


def test_release_pages_returns_map_memory(tmp_path) -> None:
    path = tmp_path / "blob.bin"
    data = np.arange(16 << 20, dtype=np.float32)  # 64 MiB
    data.tofile(path)
    with open(path, "rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    view = np.frombuffer(memoryview(mapped), np.float32).reshape(4096, -1)
    assert float(view.sum(dtype=np.float64)) == float(data.sum(dtype=np.float64))
    before = rss_file_kib()
    release_pages(view.T)
    assert before - rss_file_kib() > 48 << 10  # most of the 64 MiB left the resident set
    np.testing.assert_array_equal(view[-1], data[-4096:])  # still readable: faulted back in
    release_pages(np.zeros(4))  # ordinary memory: nothing to do


@pytest.mark.parametrize(
    "caffe_shape, order",
    [
        ((300, 40, 3, 3), (2, 3, 1, 0)),  # a convolution kernel (O, I, kh, kw) -> (kh, kw, I, O)
        ((700, 1100), (1, 0)),  # an InnerProduct kernel -> (in, out)
        ((260, 64, 5, 5), (2, 3, 1, 0)),  # more rows than one tile's columns
        ((3, 5), (1, 0)),  # below one tile: a plain copy
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_copy_transposed_equals_numpy_copy(caffe_shape, order, dtype, monkeypatch) -> None:
    """The tiled copy gives exactly numpy's own copy of the transposed view, whatever the tile
    sizes (small tiles here, so every shape crosses several tiles and ragged edges)."""
    from caffe2keras.keras_model import weights

    monkeypatch.setattr(weights, "TILE_COLUMNS", 7)
    monkeypatch.setattr(weights, "TILE_ELEMENTS", 500)
    caffe = np.random.default_rng(2).standard_normal(caffe_shape).astype(dtype)
    view = caffe.transpose(order)
    dst = np.full(view.shape, np.nan, np.float32)
    weights.copy_transposed(dst, view)
    np.testing.assert_array_equal(dst, view.astype(np.float32))
    flat = (view.size // view.shape[-1], view.shape[-1])
    lazy = Reshaped(view, flat) if view.ndim > 2 else view
    want = np.ascontiguousarray(view, dtype=np.float32).reshape(-1, view.shape[-1])
    got = np.concatenate([b.reshape(-1, b.shape[-1]) for _, b in blocks(lazy, 4000)], axis=-1)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("error", [MemoryError, KeyboardInterrupt])
def test_failure_while_streaming_leaves_nothing(tmp_path, monkeypatch, error) -> None:
    """A block that fails on the transposing thread (out of memory, or Ctrl-C in the writing
    one) ends the write: no output, no temporary file, no thread left."""
    import threading

    from caffe2keras.outputs import weights_h5

    real = weights_h5.blocks
    calls = []

    def failing(weight, *args):
        calls.append(1)
        if len(calls) == 3:
            raise error("stopped mid-write")
        yield from real(weight, *args)

    monkeypatch.setattr(weights_h5, "blocks", failing)
    out = tmp_path / "o.weights.h5"
    with pytest.raises(error):
        api.convert(PROTO, MODEL, out, api.ConvertOptions(verify=False))
    assert list(tmp_path.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name == "caffe2keras-ahead"]
