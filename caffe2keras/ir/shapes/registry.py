"""The registry of shape rules and the whole-graph inference loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from caffe2keras.errors import UnsupportedLayersError, UnsupportedParameterError, ValidationError
from caffe2keras.ir.graph import Graph, Layer, Shape


@dataclass(frozen=True)
class LayerShapes:
    """What a rule returns: one shape per top, and the shapes its learned blobs must have."""

    tops: tuple[Shape, ...]
    blobs: tuple[Shape, ...] = ()
    notes: tuple[str, ...] = ()  # what the user should know (e.g. pooling windows with no pixel)


Rule = Callable[[Layer, list[Shape]], LayerShapes]
_RULES: dict[str, Rule] = {}
R = TypeVar("R", bound=Rule)

INT_MAX = 2**31 - 1


def shape_rule(*type_names: str) -> Callable[[R], R]:
    """Register a shape rule for the given layer types; duplicates are errors."""

    def register(fn: R) -> R:
        for name in type_names:
            if name in _RULES:
                raise RuntimeError(f"a shape rule for layer type '{name}' is already registered")
            _RULES[name] = fn
        return fn

    return register


def shape_types() -> frozenset[str]:
    """Every layer type with a shape rule."""
    load_families()
    return frozenset(_RULES)


def canonical_axis(axis: int, ndim: int, layer: Layer, field: str = "axis") -> int:
    """Caffe's CanonicalAxisIndex: negative axes count from the end; out of range is an error."""
    if not -ndim <= axis < ndim:
        raise ValidationError(
            f"axis {axis} is out of range for a {ndim}-D blob", layer=layer.name, field=field
        )
    return axis + ndim if axis < 0 else axis


def same_as_bottom(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """Every top has the first bottom's shape; no blobs."""
    return LayerShapes(tops=tuple(bottoms[0] for _ in layer.tops))


def infer_layer(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """Apply the rule for one layer and check the result is a valid Caffe shape."""
    load_families()
    rule = _RULES.get(layer.type)
    if rule is None:
        raise UnsupportedLayersError({layer.type: [layer.name]})
    result = rule(layer, bottoms)
    if len(result.tops) != len(layer.tops):  # e.g. Convolution's weight-sharing bottom/top pairs
        raise UnsupportedParameterError(
            f"{len(layer.tops)} tops on a {layer.type} layer: the converter handles "
            f"{len(result.tops)} here",
            layer=layer.name,
            field="top",
        )
    for top, shape in zip(layer.tops, result.tops):
        count = 1
        for d in shape:
            if d <= 0:
                raise ValidationError(
                    f"top '{top}' would have shape {list(shape)}: the input is "
                    f"too small for this layer's parameters",
                    layer=layer.name,
                )
            count *= d
        if count > INT_MAX:
            raise ValidationError(
                f"top '{top}' would have {count} elements, beyond Caffe's limit of {INT_MAX}",
                layer=layer.name,
            )
    return result


def infer_shapes(graph: Graph) -> dict[str, Shape]:
    """The Caffe shape of every blob in a graph with unique blob names."""
    shapes: dict[str, Shape] = {spec.name: spec.shape for spec in graph.inputs}
    for layer in graph.layers:
        for b in layer.bottoms:
            if b not in shapes:
                raise ValidationError(
                    f"bottom '{b}' is not produced by any earlier layer or input",
                    layer=layer.name,
                    field="bottom",
                )
        result = infer_layer(layer, [shapes[b] for b in layer.bottoms])
        shapes.update(zip(layer.tops, result.tops))
    return shapes


def load_families() -> None:
    """Register every built-in layer family (once)."""
    from caffe2keras.families import load

    load()
