"""The eager walk (``verify/walk.py``) yields exactly what the model computes: every blob of every
golden layer case (every layer family the builders emit: BatchNormalization in inference mode
with Caffe's moving statistics, the custom ``keras_layers`` ops, multi-input layers, in-place
chains, LSTM/RNN, the SSD head) equals, bit for bit, the model's own output for it
(``keras.Model(inputs, [layer outputs])`` called with ``training=False``, ``run.probe_keras``),
both through ``layer.call`` (``verify/direct.py``) and through ``Layer.__call__``. A BatchNorm run
in training mode is caught and named; layers and graphs that ``__call__`` would treat differently
take the ``__call__`` path."""

from __future__ import annotations

from collections import Counter

import keras
import numpy as np
import pytest
from conftest import layer_cases
from keras_helpers import convert_case
from pending import pending_in

from caffe2keras.verify import direct as direct_module
from caffe2keras.verify.run import probe_keras
from caffe2keras.verify.walk import keras_blob_values


def differing(net, built, inputs, direct: bool, expected=None) -> tuple[list[str], int]:
    """The blobs whose walked value is not bit-identical to the model's own output (``expected``,
    else computed now), and the number of blobs compared."""
    wanted = [b for b in built.blob_layers if net.keras.resolve(b) == b]
    if expected is None:
        expected = probe_keras(built.model, built.blob_layers, inputs, net.keras)
    walked = keras_blob_values(built.model, built.blob_layers, inputs, net.keras, wanted, direct)
    bad, seen = [], 0
    for blob, value in walked:
        seen += 1
        want = expected[blob]
        if value.shape != want.shape or not np.array_equal(value, want, equal_nan=True):
            bad.append(blob)
    assert seen == len(wanted)
    return bad, seen


def direct_classes(monkeypatch) -> Counter[str]:
    """Counts, by layer class, the nodes the walks run through ``layer.call``."""
    seen: Counter[str] = Counter()
    ok = direct_module.direct_ok

    def counting(node):
        result = ok(node)
        if result:
            seen[type(node.operation).__name__] += 1
        return result

    monkeypatch.setattr(direct_module, "direct_ok", counting)
    return seen


@pytest.mark.parametrize("case", layer_cases())
def test_walk_is_the_model(case: str, golden_layer, monkeypatch) -> None:
    g = golden_layer(case)
    if pending_in(g.prototxt):
        pytest.skip("waits for an open issue (tests/pending.py)")
    net, built = convert_case(g.prototxt, g.caffemodel, g.input_shapes)
    seen = direct_classes(monkeypatch)
    for direct in (True, False):
        bad, count = differing(net, built, g.inputs, direct)
        assert not bad, f"{case} (direct={direct}): walked values differ from the model's: {bad}"
        assert count >= 1
    assert sum(seen.values()) >= 1, f"{case}: no node ran through layer.call"


@pytest.mark.parametrize(
    ("case", "classes"),
    [
        ("bn_alone", {"BatchNormalization"}),
        ("lstm", {"CaffeLSTM"}),
        ("detection_ssd", {"DetectionOutput", "Concatenate", "Conv2D"}),
        ("multi_input", {"Add", "Conv2D"}),
        ("maxunpool", {"MaxUnpool", "MaxPoolMask"}),
    ],
)
def test_families_run_directly(case, classes, golden_layer, monkeypatch) -> None:
    """The families the brief names do take the fast path (so the test above tests it)."""
    g = golden_layer(case)
    net, built = convert_case(g.prototxt, g.caffemodel, g.input_shapes)
    seen = direct_classes(monkeypatch)
    wanted = [b for b in built.blob_layers if net.keras.resolve(b) == b]
    for _ in keras_blob_values(built.model, built.blob_layers, g.inputs, net.keras, wanted):
        pass
    assert classes <= set(seen), (case, dict(seen))


@pytest.mark.parametrize("expose", [False, True])
def test_rnn(tmp_path, expose: bool, monkeypatch) -> None:
    """Caffe's RNN (no golden case has one): sequences reset mid-batch, exposed states."""
    from recurrent.nets import lstm_blobs, recurrent_net

    rng = np.random.default_rng(5)
    proto, weights = recurrent_net(
        tmp_path, 5, 2, 3, 4, lstm_blobs(rng, 3, 4, rnn=True), kind="RNN", expose=expose
    )
    cont = np.array([[0, 0], [1, 1], [0, 1], [1, 0], [1, 1]], np.float32)
    inputs = {"data": rng.normal(0, 1, (5, 2, 3)).astype(np.float32), "cont": cont}
    if expose:
        inputs["h0"] = rng.normal(0, 1, (1, 2, 4)).astype(np.float32)
    net, built = convert_case(proto, weights, {k: v.shape for k, v in inputs.items()})
    seen = direct_classes(monkeypatch)
    for direct in (True, False):
        bad, count = differing(net, built, inputs, direct)
        assert not bad and count >= 2 + expose, (direct, bad)
    assert seen["CaffeRNN"] == 1


def test_batchnorm_in_training_mode_is_caught(golden_layer, monkeypatch) -> None:
    """Mutation: BatchNormalization run with ``training=True`` (batch statistics instead of the
    moving ones) by the walk only: the comparison names exactly the BatchNorm tops."""
    g = golden_layer("bn_alone")
    net, built = convert_case(g.prototxt, g.caffemodel, g.input_shapes)
    bn_tops = sorted(
        b
        for b, name in built.blob_layers.items()
        if isinstance(built.model.get_layer(name), keras.layers.BatchNormalization)
        and net.keras.resolve(b) == b
    )
    assert bn_tops
    expected = probe_keras(built.model, built.blob_layers, g.inputs, net.keras)
    original = keras.layers.BatchNormalization.call

    def training_call(self, inputs, training=None, mask=None):
        return original(self, inputs, training=True, mask=mask)

    monkeypatch.setattr(keras.layers.BatchNormalization, "call", training_call)
    for direct in (True, False):
        bad, _ = differing(net, built, g.inputs, direct, expected)
        assert sorted(bad) == bn_tops, (direct, bad)


class _Outer(keras.layers.Layer):
    """A layer holding a sublayer: its call context (``training``) would reach the sublayer only
    through ``__call__``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = keras.layers.Dense(3)

    def call(self, x, training=None):
        return self.inner(x, training=training)


def test_fallback_conditions() -> None:
    """``layer.call`` is used only where ``__call__`` adds nothing: not for a layer with
    sublayers, a non-float32 policy, an input of another dtype, nor in a graph with masks."""
    from caffe2keras.verify.walk import _nodes

    x = keras.Input((4,))
    dense = keras.layers.Dense(3)
    outer = _Outer()
    half = keras.layers.Dense(3, dtype="mixed_float16")
    model = keras.Model(x, [dense(x), outer(x), half(x)])
    ok = {n.operation.name: direct_module.direct_ok(n) for n in _nodes(model)}
    assert ok[dense.name] and not ok[outer.name] and not ok[half.name]
    assert direct_module.graph_allows_direct(model, _nodes(model))

    ints = keras.Input((4,), dtype="int32")
    node = _nodes(keras.Model(ints, keras.layers.Dense(2)(ints)))[0]
    assert not direct_module.direct_ok(node)

    seq = keras.Input((5, 4))
    masked = keras.layers.Masking()(seq)
    masked_model = keras.Model(seq, keras.layers.Dense(2)(masked))
    assert not direct_module.graph_allows_direct(masked_model, _nodes(masked_model))
