"""Shape rules of element-wise layers: activations, Eltwise, Axpy, Softmax, LRN, MVN."""

from __future__ import annotations

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import (
    INT_MAX,
    LayerShapes,
    canonical_axis,
    same_as_bottom,
    shape_rule,
)

shape_rule(
    "ReLU",
    "ReLU6",
    "Sigmoid",
    "TanH",
    "AbsVal",
    "BNLL",
    "ELU",
    "Power",
    "Exp",
    "Log",
    "Threshold",
    "Clip",
    "Swish",
    "MVN",
    "Dropout",
    "Split",
)(same_as_bottom)


@shape_rule("LRN")
def lrn_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """Same shape as the bottom; the zero-padded window buffer must stay within INT_MAX elements.
    Across channels Caffe's ``lrn_layer.cpp`` allocates (1, C + local_size - 1, H, W) and Blob's
    INT_MAX check refuses more; within a channel Caffe pools without padding buffers, but ours
    (C, H + size - 1, W + size - 1) per sample would not fit either: unsupported."""
    shape, size = bottoms[0], layer.params.local_size
    if len(shape) == 4:
        _, c, h, w = shape
        across = layer.params.region == "ACROSS_CHANNELS"
        padded = (c + size - 1) * h * w if across else c * (h + size - 1) * (w + size - 1)
        if padded > INT_MAX:
            error = ValidationError if across else UnsupportedParameterError
            raise error(
                f"local_size {size} on a {list(shape)} bottom needs a padded buffer of {padded} "
                f"elements, beyond the limit of {INT_MAX}",
                layer=layer.name,
                field="local_size",
            )
    return LayerShapes(tops=(shape,))


@shape_rule("Softmax")
def softmax_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    canonical_axis(layer.params.axis, len(bottoms[0]), layer)
    return LayerShapes(tops=(bottoms[0],))


@shape_rule("Eltwise")
def eltwise_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    if len(bottoms) < 2:
        raise ValidationError("Eltwise needs at least 2 bottoms", layer=layer.name, field="bottom")
    for shape in bottoms[1:]:
        if shape != bottoms[0]:
            raise ValidationError(
                f"bottom shapes differ: {list(bottoms[0])} vs {list(shape)}",
                layer=layer.name,
                field="bottom",
            )
    return LayerShapes(tops=(bottoms[0],))


@shape_rule("Axpy")
def axpy_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """SENet's Axpy: top = a * x + y with a of shape (N, C, 1, 1) and x, y of shape (N, C, H, W)."""
    if len(bottoms) != 3:
        raise ValidationError("Axpy needs 3 bottoms (a, x, y)", layer=layer.name, field="bottom")
    a, x, y = bottoms
    if x != y or a[:2] != x[:2] or any(d != 1 for d in a[2:]):
        raise ValidationError(
            f"Axpy shapes do not fit: a {list(a)}, x {list(x)}, y {list(y)}",
            layer=layer.name,
            field="bottom",
        )
    return LayerShapes(tops=(x,))


@shape_rule("Silence")
def silence_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """Silence consumes its bottoms and has no tops (removed by a pass before building)."""
    return LayerShapes(tops=())
