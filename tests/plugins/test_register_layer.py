"""plugins.register_layer and plugin loading: all four parts required, duplicates refused, a
failing plugin file registers nothing and names itself, files load once, entry points load."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from plugin_fixtures import EXAMPLE, isolated_registries  # noqa: F401

from caffe2keras import plugins
from caffe2keras.errors import UsageError, ValidationError
from caffe2keras.frontend.params import parse_params, registered_types
from caffe2keras.frontend.textproto import Fields, parse_text
from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes import LayerShapes, infer_layer, shape_types
from caffe2keras.keras_model.registry import builder_types
from caffe2keras.reference import reference_types
from caffe2keras.reference.registry import lookup_reference_op

pytestmark = pytest.mark.usefixtures("isolated_registries")


def _parts(**overrides):
    parts = {
        "params": lambda layer_pb, fields: fields.value("k", 1),
        "shape": lambda layer, bottoms: LayerShapes(tops=(bottoms[0],)),
        "build": lambda layer, inputs, ctx: None,
        "reference": lambda layer, inputs, dtype: [inputs[0]],
    }
    parts.update(overrides)
    return parts


def test_register_layer_fills_all_four_registries() -> None:
    plugins.register_layer("Twice", **_parts())
    for known in (registered_types(), shape_types(), builder_types(), reference_types()):
        assert "Twice" in known
    assert plugins.plugin_types() == {"Twice"}
    pb = SimpleNamespace(type="Twice", name="t")
    assert parse_params(pb) == 1
    assert plugins.parse_layer_params(pb, Fields(())) == 1


@pytest.mark.parametrize("missing", ["params", "shape", "build", "reference"])
def test_every_part_is_required(missing: str) -> None:
    with pytest.raises(UsageError, match=f"missing: {missing}"):
        plugins.register_layer("Twice", **_parts(**{missing: None}))
    assert "Twice" not in registered_types() | shape_types()


def test_parts_must_be_callable_and_the_name_a_string() -> None:
    with pytest.raises(UsageError, match="shape must be callable"):
        plugins.register_layer("Twice", **_parts(shape=3))
    with pytest.raises(UsageError, match="type name"):
        plugins.register_layer("", **_parts())


@pytest.mark.parametrize("name", ["Convolution", "ReLU", "Input", "Data"])
def test_builtin_types_cannot_be_replaced(name: str) -> None:
    with pytest.raises(UsageError, match=f"'{name}' is already registered \\(built in\\)"):
        plugins.register_layer(name, **_parts())


def test_a_second_registration_is_refused() -> None:
    plugins.register_layer("Twice", **_parts())
    with pytest.raises(UsageError, match="already registered"):
        plugins.register_layer("Twice", **_parts())


def test_errors_in_plugin_code_name_the_layer_and_type() -> None:
    def bad_shape(layer, bottoms):
        raise KeyError("oops")

    plugins.register_layer("Twice", **_parts(shape=bad_shape))
    layer = Layer(name="t1", type="Twice", bottoms=("a",), tops=("b",), params=1)
    with pytest.raises(UsageError, match="layer 't1': the shape rule of plugin type 'Twice'"):
        infer_layer(layer, [(1, 2)])


def _write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text("from caffe2keras.plugins import register_layer, LayerShapes\n" + body)
    return path


TWO = (
    "def p(pb, f): return None\n"
    "def s(layer, b): return LayerShapes(tops=(b[0],))\n"
    "def b(layer, i, c): return None\n"
    "def r(layer, i, d): return [i[0]]\n"
    "register_layer('A', params=p, shape=s, build=b, reference=r)\n"
)


def test_a_plugin_file_loads_once(tmp_path) -> None:
    path = _write(tmp_path, "two.py", TWO)
    plugins.load_plugins([path], entry_points=False)
    plugins.load_plugins([str(path)], entry_points=False)  # same file again: no duplicate error
    assert plugins.plugin_types() == {"A"}


@pytest.mark.parametrize(
    "body, message",
    [
        (TWO + "raise RuntimeError('boom')\n", "failed to load: RuntimeError: boom"),
        (TWO + "def broken(:\n", "failed to load: SyntaxError"),
        (TWO + "register_layer('A', params=p, shape=s, build=b, reference=r)\n",
         "'A' is already registered"),
        ("x = 1\n", "registered no layer types"),
    ],
)  # fmt: skip
def test_a_failing_plugin_file_names_itself_and_registers_nothing(
    tmp_path, body: str, message: str
) -> None:
    path = _write(tmp_path, "bad.py", body)
    with pytest.raises(UsageError, match=message) as info:
        plugins.load_plugins([path], entry_points=False)
    assert "bad.py" in str(info.value)
    assert "A" not in registered_types() and not plugins.plugin_types()


def test_missing_or_non_python_plugin_files(tmp_path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        plugins.load_plugins([tmp_path / "none.py"], entry_points=False)
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(UsageError, match=r"a Python file \(\.py\)"):
        plugins.load_plugins([tmp_path / "x.txt"], entry_points=False)


def test_the_example_plugin_registers_reverse() -> None:
    plugins.load_plugins([EXAMPLE], entry_points=False)
    assert plugins.plugin_types() == {"Reverse"}
    pb = SimpleNamespace(type="Reverse", name="r")
    params = plugins.parse_layer_params(pb, Fields(parse_text("reverse_param { axis: 2 }")))
    layer = Layer(name="r", type="Reverse", bottoms=("a",), tops=("b",), params=params)
    x = np.arange(2 * 3 * 4 * 1, dtype=np.float32).reshape(2, 3, 4, 1)
    op = lookup_reference_op("Reverse")
    assert op is not None
    (y,) = op(layer, [x], np.dtype(np.float32))
    expected = np.empty_like(x)  # reverse_layer.cpp: position i along the axis -> L - 1 - i
    for i in range(4):
        expected[:, :, 3 - i] = x[:, :, i]
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("text", ["", "reverse_param { axis: 0 }", "reverse_param { axis: -1 }"])
def test_the_example_plugin_refuses_a_missing_or_batch_axis(text: str) -> None:
    plugins.load_plugins([EXAMPLE], entry_points=False)
    pb = SimpleNamespace(type="Reverse", name="rev")
    with pytest.raises(ValidationError) as info:
        plugins.parse_layer_params(pb, Fields(parse_text(text)))
    assert "rev" in str(info.value) and "reverse_param.axis" in str(info.value)


class _EntryPoint:
    def __init__(self, name: str, value: object) -> None:
        self.name, self.value, self._obj = name, f"pkg.mod:{name}", value
        self.dist = SimpleNamespace(name="pkg")

    def load(self) -> object:
        return self._obj


def test_entry_points_are_loaded_once_and_called(monkeypatch) -> None:
    calls = []

    def register() -> None:
        calls.append(1)
        plugins.register_layer("FromPkg", **_parts())

    eps = [_EntryPoint("frompkg", register)]
    monkeypatch.setattr(
        "importlib.metadata.entry_points",
        lambda group: eps if group == plugins.ENTRY_POINT_GROUP else [],
    )
    plugins.load_plugins()
    plugins.load_plugins()
    assert calls == [1] and plugins.plugin_types() == {"FromPkg"}


def test_a_failing_entry_point_names_the_package(monkeypatch) -> None:
    def register() -> None:
        raise ImportError("no module named keras_contrib")

    monkeypatch.setattr(
        "importlib.metadata.entry_points", lambda group: [_EntryPoint("x", register)]
    )
    with pytest.raises(UsageError, match="entry point 'x = pkg.mod:x' of 'pkg' failed to load"):
        plugins.load_plugins()
