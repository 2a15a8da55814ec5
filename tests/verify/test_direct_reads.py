"""Direct nodes run with their variables already read (``verify/direct.py``, ``READS_ONLY``): the
layers that take that path do take it, their attributes hold tensors only during their ``call``
and the variables again afterwards (also when the call raises), and other layers never see it.
That the values stay bit-identical to the model's own outputs is ``test_walk.py``'s job (every
golden layer case, both paths)."""

from __future__ import annotations

from collections import Counter

import keras
import numpy as np
import pytest
from keras_helpers import convert_case

from caffe2keras.verify import direct as direct_module
from caffe2keras.verify.walk import keras_blob_values


def walk_all(net, built, inputs) -> None:
    wanted = [b for b in built.blob_layers if net.keras.resolve(b) == b]
    for _ in keras_blob_values(built.model, built.blob_layers, inputs, net.keras, wanted):
        pass


def attribute_kinds(model) -> dict[tuple[str, str], type]:
    """(layer, attribute) -> type of every instance attribute holding one of its variables."""
    kinds = {}
    for layer in model.layers:
        own = {id(v) for v in layer.variables}
        for name, value in vars(layer).items():
            if id(value) in own:
                kinds[(layer.name, name)] = type(value)
    return kinds


def spy_reads(monkeypatch) -> Counter[str]:
    """Counts, by layer class, the calls run with read variables, checking that during each the
    layer's variable attributes hold tensors, not variables."""
    seen: Counter[str] = Counter()
    wrap = direct_module._with_read_variables

    def spying(layer, fn, slots):
        def checked(*args, **kwargs):
            held = [vars(layer)[k] for k in slots]
            assert held and not any(isinstance(v, keras.Variable) for v in held), layer.name
            seen[type(layer).__name__] += 1
            return fn(*args, **kwargs)

        return wrap(layer, checked, slots)

    monkeypatch.setattr(direct_module, "_with_read_variables", spying)
    return seen


@pytest.mark.parametrize(
    ("case", "classes"),
    [
        ("bn_alone", {"BatchNormalization"}),
        ("conv_basic", {"Conv2D"}),
        ("conv_depthwise", {"DepthwiseConv2D"}),
        ("deconv_basic", {"Conv2DTranspose"}),
        ("ip_after_conv", {"Conv2D", "Dense"}),
        ("prelu", {"PReLU"}),
    ],
)
def test_reads_variables_once_and_restores(case, classes, golden_layer, monkeypatch) -> None:
    g = golden_layer(case)
    net, built = convert_case(g.prototxt, g.caffemodel, g.input_shapes)
    before = attribute_kinds(built.model)
    assert before and all(issubclass(t, keras.Variable) for t in before.values())
    seen = spy_reads(monkeypatch)
    walk_all(net, built, g.inputs)
    assert classes <= set(seen), (case, dict(seen))
    assert attribute_kinds(built.model) == before


def test_restored_when_the_call_raises(golden_layer, monkeypatch) -> None:
    """A Conv2D whose op raises: the error reaches the caller, the kernel is a variable again."""
    import keras.src.ops as keras_ops

    g = golden_layer("conv_basic")
    net, built = convert_case(g.prototxt, g.caffemodel, g.input_shapes)
    before = attribute_kinds(built.model)

    def broken(*args, **kwargs):
        raise RuntimeError("conv failed")

    monkeypatch.setattr(keras_ops, "conv", broken)
    with pytest.raises(RuntimeError, match="conv failed"):
        walk_all(net, built, g.inputs)
    assert attribute_kinds(built.model) == before


def test_other_layers_keep_their_variables(monkeypatch) -> None:
    """A subclass of a listed class (it may override ``call``) and an unlisted layer with a
    variable are run as they are."""

    class Scaled(keras.layers.Dense):
        pass

    class Gain(keras.layers.Layer):
        def build(self, shape):
            self.gain = self.add_weight(shape=(), initializer="ones")

        def call(self, x):
            return x * self.gain

    for layer in (Scaled(2), Gain()):
        layer.build((1, 3))
        assert direct_module.variable_slots(layer) == {}
    dense = keras.layers.Dense(2)
    dense.build((1, 3))
    slots = direct_module.variable_slots(dense)
    assert {id(v) for v in slots.values()} == {id(dense.kernel), id(dense.bias)}
    x = np.ones((1, 3), np.float32)
    read = direct_module._with_read_variables(dense, dense.call, slots)(x)
    assert np.array_equal(np.asarray(dense(x)), np.asarray(read))
    assert dense.kernel is slots["_kernel"]
