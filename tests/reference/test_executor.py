"""The op registry and the executor's contract: names, aliases, inputs, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest

from caffe2keras.errors import UnsupportedLayersError, ValidationError
from caffe2keras.families.activations import ReLUParams
from caffe2keras.frontend.load import LoadOptions
from caffe2keras.frontend.net import load_net
from caffe2keras.frontend.params.registry import NoParams
from caffe2keras.ir.graph import Graph, InputSpec, Layer
from caffe2keras.ir.shapes import shape_types
from caffe2keras.reference import (
    reference_op,
    reference_types,
    register_reference_op,
    registry,
    run_reference,
)


def test_every_shape_rule_type_has_a_reference_op() -> None:
    assert shape_types() - {"BatchNormScale"} <= reference_types()


def test_duplicate_registration_is_an_error(monkeypatch) -> None:
    registry.load()  # the built-in ops register into the real registry, before the copy
    monkeypatch.setattr(registry, "_OPS", dict(registry._OPS))
    with pytest.raises(RuntimeError, match="already registered"):
        reference_op("ReLU")(lambda layer, inputs, dtype: inputs)


def test_plugins_register_new_types(monkeypatch) -> None:
    registry.load()  # the built-in ops register into the real registry, before the copy
    monkeypatch.setattr(registry, "_OPS", dict(registry._OPS))
    register_reference_op("Twice", lambda layer, inputs, dtype: [2 * inputs[0]])
    layer = Layer("t", "Twice", ("x",), ("y",), NoParams())
    graph = Graph("g", (InputSpec("x", (1, 2)),), (layer,), ("y",))
    np.testing.assert_array_equal(run_reference(graph, {"x": np.ones((3, 2))})["y"], 2.0)


def relu_graph() -> Graph:
    relu = Layer("relu", "ReLU", ("x",), ("y",), ReLUParams(0.0))
    return Graph("g", (InputSpec("x", (2, 3, 4, 4)),), (relu,), ("y",), aliases={"z": "y"})


def test_any_batch_size_and_aliases() -> None:
    x = np.random.default_rng(0).standard_normal((5, 3, 4, 4))
    out = run_reference(relu_graph(), {"x": x})
    assert set(out) == {"x", "y", "z"}
    assert out["z"] is out["y"] and out["y"].shape == (5, 3, 4, 4)
    np.testing.assert_array_equal(out["y"], np.maximum(x, 0))


def test_results_are_read_only_and_in_the_requested_dtype() -> None:
    out = run_reference(relu_graph(), {"x": np.ones((1, 3, 4, 4))}, np.float32)
    assert out["y"].dtype == np.float32
    with pytest.raises(ValueError):
        out["y"][0, 0, 0, 0] = 3.0


@pytest.mark.parametrize(
    "inputs, message",
    [
        ({}, "input 'x' is missing"),
        ({"x": np.ones((2, 3, 4, 5))}, r"input 'x' has shape \[2, 3, 4, 5\].*\['N', 3, 4, 4\]"),
        ({"x": np.ones((3, 4, 4))}, "input 'x' has shape"),
        ({"x": np.ones((2, 3, 4, 4)), "w": np.ones(1)}, "unknown input"),
    ],
)
def test_input_errors_name_the_input(inputs, message) -> None:
    with pytest.raises(ValidationError, match=message):
        run_reference(relu_graph(), inputs)


def test_unsupported_types_are_listed_at_once() -> None:
    layers = (
        Layer("a", "Nope", ("x",), ("y",), NoParams()),
        Layer("b", "Nope", ("y",), ("z",), NoParams()),
    )
    graph = Graph("g", (InputSpec("x", (1, 2)),), layers, ("z",))
    with pytest.raises(UnsupportedLayersError, match="Nope.*'a', 'b'"):
        run_reference(graph, {"x": np.ones((1, 2))})


def test_in_place_versions_and_renamed_inputs(golden_layer) -> None:
    """bn_scale_nobias runs BatchNorm and Scale in place on the input blob ``data``."""
    golden = golden_layer("bn_scale_nobias")
    graph = load_net(
        golden.prototxt, golden.caffemodel, LoadOptions(input_shapes=golden.input_shapes)
    ).reference
    out = run_reference(graph, golden.inputs)  # fed by the Caffe name
    assert {"data@input", "data@bn", "data"} <= set(out)
    np.testing.assert_array_equal(out["data@input"], golden.inputs["data"])


def test_the_streamed_pass_drops_each_blob_after_its_last_consumer() -> None:
    import gc
    import weakref

    from caffe2keras.reference import iter_reference

    layers = (
        Layer("r1", "ReLU", ("x",), ("a",), ReLUParams(0.5)),
        Layer("r2", "ReLU", ("a",), ("b",), ReLUParams(0.5)),
        Layer("r3", "ReLU", ("b",), ("c",), ReLUParams(0.25)),
    )
    graph = Graph("g", (InputSpec("x", (1, 4)),), layers, ("c",))
    x = np.array([[-2.0, -1.0, 1.0, 2.0]])
    seen: dict[str, weakref.ref] = {}
    alive_at_c: list[str] = []
    for name, value in iter_reference(graph, {"x": x}):
        seen[name] = weakref.ref(value)
        if name == "c":
            gc.collect()
            alive_at_c = [n for n, ref in seen.items() if ref() is not None]
            np.testing.assert_array_equal(value, [[-0.125, -0.0625, 1.0, 2.0]])
        del value
    assert list(seen) == ["x", "a", "b", "c"]
    assert alive_at_c == ["c"]  # x, a and b were each dropped after their last reader ran
