"""``--format keras2-weights``: legacy Keras-2 weight files that load by name into hand-written
models with separate Scale layers, in Keras 3 (and tf-keras when installed)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within, rounding_bound
from click.testing import CliRunner

from caffe2keras import api
from caffe2keras.cli import main
from caffe2keras.layout import to_keras

from . import seed_models

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
PROTO, MODEL = TINY / "tiny.prototxt", TINY / "tiny.caffemodel"


def convert(out: Path, split: bool, prototxt: Path = PROTO, caffemodel: Path = MODEL) -> Path:
    options = api.ConvertOptions(format="keras2-weights", split_scale=split, verify=False)
    result = api.convert(prototxt, caffemodel, out, options)
    assert result.written and result.format == "keras2-weights"
    return out


def converted_outputs(prototxt: Path, caffemodel: Path, x: np.ndarray) -> np.ndarray:
    from caffe2keras.keras_model.model import build_model

    built = build_model(api.load(prototxt, caffemodel).keras)
    return np.asarray(built.model(x, training=False))


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def test_layout_is_keras2(tmp_path) -> None:
    path = convert(tmp_path / "w.h5", split=False)
    with h5py.File(path, "r") as f:
        names = [n.decode() for n in f.attrs["layer_names"]]
        assert names[:4] == ["data", "conv1_pad", "conv1", "conv1_bn"]
        bn = [n.decode() for n in f["conv1_bn"].attrs["weight_names"]]
        assert bn == [
            f"conv1_bn/{w}:0" for w in ("gamma", "beta", "moving_mean", "moving_variance")
        ]
        assert f["conv1/conv1/kernel:0"].shape == (3, 3, 3, 8)
        assert "conv1_scale" not in f and f.attrs["backend"] == "tensorflow"
        assert len(f.attrs["caffe2keras_caffemodel_sha256"]) == 66  # a JSON string


@pytest.mark.parametrize("split", [False, True])
def test_tiny_loads_by_name_into_a_hand_written_model(tmp_path, split: bool) -> None:
    path = convert(tmp_path / "w.h5", split)
    model = seed_models.tiny()
    model.load_weights(path, by_name=True)
    scale = model.get_layer("conv1_scale").get_weights()
    assert np.all(scale[0] == 1.0) != split  # identity unless --split-scale filled it
    x = to_keras(np.random.default_rng(0).standard_normal((2, 3, 33, 33)).astype(np.float32))
    want = converted_outputs(PROTO, MODEL, x)
    got = np.asarray(model(x, training=False))
    if split:  # a separate Scale rounds once more than the folded one: float32 noise only
        assert_within("tiny split scale", rel(got, want), SMALL_NET_BOUND)
    else:  # folding leaves Scale at identity: 1 * y + 0 is y, bit for bit
        np.testing.assert_array_equal(got, want)


def test_cli_refuses_weights_h5_suffix_and_split_without_format(tmp_path) -> None:
    run = CliRunner().invoke
    bad = run(
        main,
        [
            "convert",
            str(PROTO),
            str(MODEL),
            "-o",
            str(tmp_path / "x.weights.h5"),
            "--format",
            "keras2-weights",
        ],
    )
    assert bad.exit_code == 2 and "not .weights.h5" in bad.output
    bad = run(
        main, ["convert", str(PROTO), str(MODEL), "-o", str(tmp_path / "x.h5"), "--split-scale"]
    )
    assert bad.exit_code == 2 and "--split-scale" in bad.output


def test_tf_keras_loads_by_name(tmp_path) -> None:
    tf_keras = pytest.importorskip("tf_keras")
    path = convert(tmp_path / "w.h5", split=False)
    layers = tf_keras.layers
    inp = tf_keras.Input((33, 33, 3))
    x = layers.Conv2D(8, 3, strides=2, use_bias=False, name="conv1")(layers.ZeroPadding2D(1)(inp))
    x = layers.BatchNormalization(epsilon=1e-5, name="conv1_bn")(x)
    p = layers.MaxPooling2D(3, strides=2)(layers.ReLU()(x))
    y = layers.Conv2D(4, 3, name="conv2")(layers.ZeroPadding2D(1)(p))
    x = layers.AveragePooling2D(2)(layers.Concatenate()([p, y]))
    out = layers.Softmax()(layers.Dense(10, name="fc")(layers.Flatten()(x)))
    model = tf_keras.Model(inp, out)
    model.load_weights(str(path), by_name=True)
    x = to_keras(np.random.default_rng(1).standard_normal((2, 3, 33, 33)).astype(np.float32))
    got = model.predict(x, verbose=0)
    assert_within("tf_keras tiny", rel(got, converted_outputs(PROTO, MODEL, x)), SMALL_NET_BOUND)


@pytest.mark.slow
@pytest.mark.parametrize("split", [False, True])
def test_densenet121_loads_into_the_seed_architecture(
    golden_zoo, golden_spreads, tmp_path, split: bool
) -> None:
    """Two float32 graphs of the same arithmetic (BatchNorm folded or not): within the rounding
    bound of the reference's float32 spread on fc6, as is the comparison with Caffe's fc6."""
    g = golden_zoo("densenet121")
    bound = rounding_bound(golden_spreads(g, api.load(g.prototxt, g.caffemodel).reference)["fc6"])
    path = convert(tmp_path / "densenet121_weights_tf.h5", split, g.prototxt, g.caffemodel)
    model = seed_models.densenet121()
    model.load_weights(path, by_name=True)
    x = to_keras(g.inputs["data"])
    want = converted_outputs(g.prototxt, g.caffemodel, x)
    got = np.asarray(model(x, training=False))
    assert_within("densenet121 seed vs converted", rel(got, want), bound)
    golden = g.blobs["fc6"].reshape(2, -1)
    assert_within("densenet121 seed vs caffe", rel(got.reshape(2, -1), golden), bound)


def test_long_name_lists_are_chunked_as_keras_reads_them(tmp_path) -> None:
    from keras.src.legacy.saving.legacy_h5_format import load_attributes_from_hdf5_group

    from caffe2keras.outputs.keras2_weights import write_attr

    names = [f"layer_{i:05d}_{'x' * 40}".encode() for i in range(3000)]  # > 64 KiB
    with h5py.File(tmp_path / "a.h5", "w") as f:
        write_attr(f, "layer_names", names)
        assert "layer_names" not in f.attrs and "layer_names0" in f.attrs
        assert load_attributes_from_hdf5_group(f, "layer_names") == [n.decode() for n in names]
