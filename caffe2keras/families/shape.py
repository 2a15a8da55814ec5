"""Layers that reshape a blob or act along one axis: Flatten, Reshape and Softmax: params, shapes
and builders. Caffe's element order is kept (:func:`caffe2keras.keras_model.axes.reshape_caffe`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import ValidationError
from caffe2keras.families.combine import AxisParams
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import (
    LayerShapes,
    canonical_axis,
    infer_layer,
    shape_rule,
)
from caffe2keras.keras_model.axes import reshape_caffe
from caffe2keras.keras_model.registry import (
    BuildContext,
    BuildResult,
    builder,
)
from caffe2keras.layout import keras_axis


@dataclass(frozen=True)
class ReshapeParams:
    dims: tuple[int, ...]  # 0 copies the bottom dim, -1 is inferred
    axis: int
    num_axes: int


@dataclass(frozen=True)
class FlattenParams:
    axis: int
    end_axis: int


@param_parser("Softmax")
def parse_softmax(layer_pb: Any) -> AxisParams:
    return AxisParams(axis=int(layer_pb.softmax_param.axis))


@param_parser("Reshape")
def parse_reshape(layer_pb: Any) -> ReshapeParams:
    p = layer_pb.reshape_param
    dims = tuple(int(d) for d in p.shape.dim)
    require(sum(1 for d in dims if d == -1) <= 1, layer_pb, "shape", "at most one dim may be -1")
    require(all(d >= -1 for d in dims), layer_pb, "shape", f"invalid dims {list(dims)}")
    require(p.num_axes >= -1, layer_pb, "num_axes", f"must be >= -1, got {p.num_axes}")
    return ReshapeParams(dims=dims, axis=int(p.axis), num_axes=int(p.num_axes))


@param_parser("Flatten")
def parse_flatten(layer_pb: Any) -> FlattenParams:
    p = layer_pb.flatten_param
    return FlattenParams(axis=int(p.axis), end_axis=int(p.end_axis))


@shape_rule("Reshape")
def reshape_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """Caffe's ``reshape_layer.cpp``: dims replace bottom axes [axis, axis + num_axes)."""
    p = layer.params
    shape = bottoms[0]
    nd = len(shape)
    if not -(nd + 1) <= p.axis <= nd:
        raise ValidationError(f"axis {p.axis} out of range", layer=layer.name, field="axis")
    start = p.axis + nd + 1 if p.axis < 0 else p.axis
    end = nd if p.num_axes == -1 else start + p.num_axes
    if end > nd:
        raise ValidationError(
            "axis + num_axes exceed the bottom's axes", layer=layer.name, field="num_axes"
        )
    dims = []
    for i, d in enumerate(p.dims):
        if d == 0:
            if start + i >= nd:
                raise ValidationError(
                    f"dim {i} is 0 (copy) but the bottom has no axis {start + i}",
                    layer=layer.name,
                    field="shape",
                )
            d = shape[start + i]
        dims.append(d)
    out = [*shape[:start], *dims, *shape[end:]]
    total = math.prod(shape)
    if -1 in out:
        known = math.prod(d for d in out if d != -1)
        if known == 0 or total % known:
            raise ValidationError(
                f"cannot infer -1: {total} elements into {list(out)}",
                layer=layer.name,
                field="shape",
            )
        out[out.index(-1)] = total // known
    if math.prod(out) != total:
        raise ValidationError(
            f"shape {list(out)} has {math.prod(out)} elements, the bottom "
            f"{list(shape)} has {total}",
            layer=layer.name,
            field="shape",
        )
    return LayerShapes(tops=(tuple(out),))


@shape_rule("Flatten")
def flatten_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    shape = bottoms[0]
    start = canonical_axis(layer.params.axis, len(shape), layer)
    end = canonical_axis(layer.params.end_axis, len(shape), layer, "end_axis")
    out = (*shape[:start], math.prod(shape[start : end + 1]), *shape[end + 1 :])
    return LayerShapes(tops=(out,))


@shape_rule("Softmax")
def softmax_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    canonical_axis(layer.params.axis, len(bottoms[0]), layer)
    return LayerShapes(tops=(bottoms[0],))


def _reshape_builder(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    src = ctx.bottom_shapes(layer)[0]
    dst = infer_layer(layer, [src]).tops[0]
    if dst[0] != src[0]:
        from caffe2keras.errors import UnsupportedParameterError

        raise UnsupportedParameterError(
            f"reshaping across the batch axis ({list(src)} -> {list(dst)}) cannot be expressed "
            "with a free Keras batch dimension",
            layer=layer.name,
            field="shape",
        )
    return BuildResult(outputs=(reshape_caffe(inputs[0], src, dst, layer, ctx),))


builder("Flatten", "Reshape", emits="Permute + Reshape", notes="Caffe element order kept")(
    _reshape_builder
)


@builder("Softmax", emits="Softmax", notes="any axis")
def build_softmax(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Softmax on the Keras axis holding Caffe's axis."""
    import keras

    rank = len(ctx.bottom_shapes(layer)[0])
    axis = keras_axis(canonical_axis(layer.params.axis, rank, layer), rank)
    return BuildResult(
        outputs=(keras.layers.Softmax(axis=axis, name=ctx.names.make(layer.name))(inputs[0]),)
    )
