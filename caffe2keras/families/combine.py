"""Layers that combine blobs: Eltwise (SUM with ``coeff``, PROD, MAX) and Concat: params, shapes
and builders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import ValidationError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import (
    LayerShapes,
    canonical_axis,
    shape_rule,
)
from caffe2keras.keras_model.registry import (
    BuildContext,
    BuildResult,
    builder,
)
from caffe2keras.layout import keras_axis


@dataclass(frozen=True)
class AxisParams:
    """Concat and Softmax: one Caffe axis (may be negative)."""

    axis: int


@dataclass(frozen=True)
class EltwiseParams:
    operation: str  # "PROD" | "SUM" | "MAX"
    coeffs: tuple[float, ...]  # empty means all 1


@param_parser("Concat")
def parse_concat(layer_pb: Any) -> AxisParams:
    p = layer_pb.concat_param
    return AxisParams(axis=int(p.concat_dim) if p.HasField("concat_dim") else int(p.axis))


@param_parser("Eltwise")
def parse_eltwise(layer_pb: Any) -> EltwiseParams:
    p = layer_pb.eltwise_param
    op = {0: "PROD", 1: "SUM", 2: "MAX"}[int(p.operation)]
    coeffs = tuple(float(c) for c in p.coeff)
    require(not coeffs or op == "SUM", layer_pb, "coeff", "coefficients apply to SUM only")
    require(
        not coeffs or len(coeffs) == len(layer_pb.bottom),
        layer_pb,
        "coeff",
        f"{len(coeffs)} coefficients for {len(layer_pb.bottom)} bottoms",
    )
    return EltwiseParams(operation=op, coeffs=coeffs)


@shape_rule("Concat")
def concat_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    axis = canonical_axis(layer.params.axis, len(bottoms[0]), layer)
    for shape in bottoms[1:]:
        if len(shape) != len(bottoms[0]) or any(
            a != b for i, (a, b) in enumerate(zip(shape, bottoms[0])) if i != axis
        ):
            raise ValidationError(
                f"bottom shapes {list(bottoms[0])} and {list(shape)} differ outside axis {axis}",
                layer=layer.name,
                field="axis",
            )
    out = list(bottoms[0])
    out[axis] = sum(s[axis] for s in bottoms)
    return LayerShapes(tops=(tuple(out),))


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


@builder("Eltwise", emits="Add (+ Rescaling for coeff) / Multiply / Maximum")
def build_eltwise(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """SUM (coefficients as Rescaling layers), PROD -> Multiply, MAX -> Maximum."""
    import keras

    p = layer.params
    if p.operation == "PROD":
        return BuildResult(
            outputs=(keras.layers.Multiply(name=ctx.names.make(layer.name))(inputs),)
        )
    if p.operation == "MAX":
        return BuildResult(outputs=(keras.layers.Maximum(name=ctx.names.make(layer.name))(inputs),))
    terms = []
    for i, (x, c) in enumerate(zip(inputs, p.coeffs or (1.0,) * len(inputs))):
        if c != 1.0:
            x = keras.layers.Rescaling(c, name=ctx.names.make(layer.name, f"coeff{i}"))(x)
        terms.append(x)
    return BuildResult(outputs=(keras.layers.Add(name=ctx.names.make(layer.name))(terms),))


@builder("Concat", emits="Concatenate", notes="any axis")
def build_concat(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Concatenate on the Keras axis that holds Caffe's axis."""
    import keras

    rank = len(ctx.bottom_shapes(layer)[0])
    axis = keras_axis(canonical_axis(layer.params.axis, rank, layer), rank)
    if len(inputs) == 1:
        return BuildResult(outputs=(inputs[0],))
    cat = keras.layers.Concatenate(axis=axis, name=ctx.names.make(layer.name))
    return BuildResult(outputs=(cat(inputs),))
