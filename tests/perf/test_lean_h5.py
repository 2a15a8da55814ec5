"""The lean build: variables adopt the transposed copy of their weight (no second copy), a full
``.h5`` is written from views of the variables, and both give exactly what Keras' own
``set_weights`` + ``model.save`` give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from caffe2keras import api
from caffe2keras.keras_model import handover
from caffe2keras.outputs.writers import _add_h5_metadata, write_model
from tests.conftest import shared_or_skip
from tests.perf.test_lean import h5_contents

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"


def assert_same_h5(ours: Path, theirs: Path) -> None:
    """Same groups, datasets (values, dtypes, shapes) and attributes, except the root's (our
    provenance attributes sit there)."""
    a, b = h5_contents(ours), h5_contents(theirs)
    assert a.keys() == b.keys()
    for key, (attrs, data) in a.items():
        if key != "/":
            assert attrs.keys() == b[key][0].keys(), key
            for name, value in attrs.items():
                assert np.array_equal(value, b[key][0][name]), (key, name)
        if data is not None:
            assert data.dtype == b[key][1].dtype, key
            np.testing.assert_array_equal(data, b[key][1], err_msg=key)


def _filled_the_old_way(proto: Path, model: Path, shapes: dict, monkeypatch) -> object:
    """The model built with ``set_weights`` (the adoption switched off)."""
    from caffe2keras.keras_model.model import build_model

    net = api.load(proto, model, api.ConvertOptions(input_shapes=shapes))
    with monkeypatch.context() as patch:
        patch.setattr(handover, "supported", lambda: False)
        return build_model(net.keras)


def _cases() -> list[tuple[Path, Path, dict]]:
    layers = shared_or_skip() / "golden" / "layers"
    out = [(TINY / "tiny.prototxt", TINY / "tiny.caffemodel", {})]
    zoo = shared_or_skip() / "zoo"
    out.append((zoo / "lenet.prototxt", zoo / "lenet_iter_10000.caffemodel", {}))
    for case in ("bn_scale", "prelu", "lstm", "conv_group", "deconv_group", "ip_transpose"):
        out.append((layers / case / "net.prototxt", layers / case / "weights.caffemodel", {}))
    return out


@pytest.mark.parametrize("index", range(8))
def test_h5_equals_keras_own_save(tmp_path, monkeypatch, golden_layer, index) -> None:
    """convert -> .h5 (adopted variables, saved from views) holds, dataset by dataset, what
    Keras' own model.save writes for the model filled through set_weights; and saving one model
    both ways gives the same bytes."""
    from caffe2keras.keras_model.model import build_model

    proto, caffemodel, shapes = _cases()[index]
    if proto.parent.name in {"bn_scale", "prelu", "lstm", "conv_group", "deconv_group"}:
        shapes = golden_layer(proto.parent.name).input_shapes
    elif proto.parent.name == "ip_transpose":
        shapes = golden_layer("ip_transpose").input_shapes
    ours = tmp_path / "ours.h5"
    options = api.ConvertOptions(verify=False, input_shapes=shapes)
    assert api.convert(proto, caffemodel, ours, options).written
    theirs = tmp_path / "theirs.h5"
    _filled_the_old_way(proto, caffemodel, shapes, monkeypatch).model.save(theirs)
    assert_same_h5(ours, theirs)

    built = build_model(api.load(proto, caffemodel, options).keras)
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    write_model(built.model, a, {"x": 1})
    built.model.save(b)
    _add_h5_metadata(b, {"x": 1})
    assert a.read_bytes() == b.read_bytes()


def test_variables_adopt_the_copy(monkeypatch) -> None:
    """A large weight's aligned copy becomes the variable's buffer; a small one is converted."""
    import keras

    assert handover.supported()  # this TensorFlow and Keras: the lean path, not the fallback
    made: list[np.ndarray] = []
    real = handover.aligned_empty
    monkeypatch.setattr(
        handover, "aligned_empty", lambda shape: made.append(real(shape)) or made[-1]
    )
    rng = np.random.default_rng(3)
    caffe_kernel = rng.standard_normal((300, 400)).astype(np.float32)  # (out, in): 480 KB
    bias = rng.standard_normal(300).astype(np.float32)
    with handover.deferred_variables() as created:
        dense = keras.layers.Dense(300, kernel_initializer="zeros", bias_initializer="zeros")
        dense(keras.Input((400,)))
    assert len(created) == 2 and all(v._value is None for v in created)
    handover.fill(created, [(dense, (caffe_kernel.T, bias))])
    kernel = handover.variable_view(dense.kernel)
    np.testing.assert_array_equal(kernel, caffe_kernel.T)
    np.testing.assert_array_equal(dense.bias.numpy(), bias)
    assert len(made) == 1 and kernel.ctypes.data == made[0].ctypes.data  # adopted, not copied
    assert kernel.ctypes.data % handover.ALIGN_BYTES == 0 and not kernel.flags.writeable
    x = rng.standard_normal((2, 400)).astype(np.float32)
    want = x.astype(np.float64) @ caffe_kernel.T.astype(np.float64) + bias
    got = np.asarray(dense(x))
    assert np.max(np.abs(got - want)) <= 1e-4 * np.max(np.abs(want))


def test_deferred_variables_leave_keras_global_list(monkeypatch) -> None:
    """A build step's variables are taken off Keras' list of deferred variables, so no later
    initialize_all_variables fills (or fails on) them."""
    import keras
    from keras.src.backend.common import global_state

    registry = global_state.get_global_attribute("uninitialized_variables", [], set_to_default=True)
    before = len(registry)
    with handover.deferred_variables() as created:
        keras.layers.Dense(3)(keras.Input((4,)))
    assert len(created) == 2
    after = global_state.get_global_attribute("uninitialized_variables", [], set_to_default=True)
    assert len(after) == before


def test_a_refused_layer_leaves_no_deferred_variables() -> None:
    import keras
    from keras.src.backend.common import global_state

    registry = global_state.get_global_attribute("uninitialized_variables", [], set_to_default=True)
    before = len(registry)
    with pytest.raises(RuntimeError, match="refused"), handover.deferred_variables():
        keras.layers.Dense(3)(keras.Input((4,)))
        raise RuntimeError("refused")
    after = global_state.get_global_attribute("uninitialized_variables", [], set_to_default=True)
    assert len(after) == before
