"""Layers that cut, reorder or repeat a blob along Caffe axes: Slice, Crop, Permute, Tile: params,
shapes and builders. Everything is standard Keras (Cropping1D/2D/3D, Reshape, Permute,
Concatenate)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.geometry import crop_offsets, full_order, slice_sizes
from caffe2keras.ir.shapes.registry import (
    LayerShapes,
    canonical_axis,
    shape_rule,
)
from caffe2keras.keras_model.axes import caffe_axis_at, crop_keras, no_batch_axis
from caffe2keras.keras_model.registry import (
    BuildContext,
    BuildResult,
    builder,
)
from caffe2keras.layout import keras_axis, keras_shape


@dataclass(frozen=True)
class SliceParams:
    axis: int
    slice_points: tuple[int, ...]


@dataclass(frozen=True)
class PermuteParams:
    order: tuple[int, ...]  # as given; the shape step completes it to the full rank


@dataclass(frozen=True)
class TileParams:
    axis: int
    tiles: int


@dataclass(frozen=True)
class CropParams:
    axis: int
    offsets: tuple[int, ...]


@param_parser("Slice")
def parse_slice(layer_pb: Any) -> SliceParams:
    p = layer_pb.slice_param
    axis = int(p.slice_dim) if p.HasField("slice_dim") else int(p.axis)
    points = tuple(int(v) for v in p.slice_point)
    require(
        list(points) == sorted(set(points)),
        layer_pb,
        "slice_point",
        f"slice points must be strictly increasing, got {list(points)}",
    )
    return SliceParams(axis=axis, slice_points=points)


@param_parser("Permute")
def parse_permute(layer_pb: Any) -> PermuteParams:
    order = tuple(int(v) for v in layer_pb.permute_param.order)
    require(len(set(order)) == len(order), layer_pb, "order", f"repeated axis in {list(order)}")
    return PermuteParams(order=order)


@param_parser("Tile")
def parse_tile(layer_pb: Any) -> TileParams:
    p = layer_pb.tile_param
    require(p.HasField("tiles") and p.tiles > 0, layer_pb, "tiles", "tiles must be positive")
    return TileParams(axis=int(p.axis), tiles=int(p.tiles))


@param_parser("Crop")
def parse_crop(layer_pb: Any) -> CropParams:
    p = layer_pb.crop_param
    return CropParams(axis=int(p.axis), offsets=tuple(int(v) for v in p.offset))


@shape_rule("Slice")
def slice_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    shape = bottoms[0]
    axis = canonical_axis(layer.params.axis, len(shape), layer)
    tops = []
    for size in slice_sizes(layer, shape[axis]):
        out = list(shape)
        out[axis] = size
        tops.append(tuple(out))
    return LayerShapes(tops=tuple(tops))


@shape_rule("Permute")
def permute_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    shape = bottoms[0]
    return LayerShapes(tops=(tuple(shape[a] for a in full_order(layer, len(shape))),))


@shape_rule("Tile")
def tile_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    out = list(bottoms[0])
    axis = canonical_axis(layer.params.axis, len(out), layer)
    out[axis] *= layer.params.tiles
    return LayerShapes(tops=(tuple(out),))


@shape_rule("Crop")
def crop_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """Caffe's ``crop_layer.cpp``: axes from ``axis`` on take the second bottom's size."""
    if len(bottoms) != 2:
        raise ValidationError("Crop needs 2 bottoms", layer=layer.name, field="bottom")
    src, ref = bottoms
    if len(src) != len(ref):
        raise ValidationError(
            f"bottoms have different ranks: {list(src)} vs {list(ref)}",
            layer=layer.name,
            field="bottom",
        )
    start = canonical_axis(layer.params.axis, len(src), layer)
    offsets = crop_offsets(layer, len(src))
    out = list(src)
    for i in range(start, len(src)):
        if src[i] - offsets[i] < ref[i]:
            raise ValidationError(
                f"offset {offsets[i]} on axis {i} runs past the bottom "
                f"({src[i]} < {offsets[i]} + {ref[i]})",
                layer=layer.name,
                field="offset",
            )
        out[i] = ref[i]
    return LayerShapes(tops=(tuple(out),))


@builder(
    "Slice",
    emits="Cropping / Permute + Reshape per piece",
    notes="`axis`, `slice_point` or an even split",
)
def build_slice(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Consecutive pieces along one axis (slice_point, or an even split)."""
    shape = ctx.bottom_shapes(layer)[0]
    axis = canonical_axis(layer.params.axis, len(shape), layer)
    no_batch_axis(layer, axis, "axis", "Slice")
    kaxis = keras_axis(axis, len(shape))
    outputs, start = [], 0
    for i, size in enumerate(slice_sizes(layer, shape[axis])):
        spans = {kaxis: (start, size)}
        outputs.append(crop_keras(inputs[0], keras_shape(shape), spans, layer, ctx, str(i)))
        start += size
    return BuildResult(outputs=tuple(outputs))


@builder(
    "Crop",
    emits="Cropping1D/2D/3D",
    notes="`axis`, per-axis `offset`, shape from the second bottom",
)
def build_crop(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe crop_layer.cpp: every axis from ``axis`` on takes the second bottom's size, starting
    at its offset. The second bottom only gives the shape."""
    src = ctx.bottom_shapes(layer)[0]
    out = ctx.shapes[layer.tops[0]]
    offsets = crop_offsets(layer, len(src))
    spans = {}
    for axis, (offset, size) in enumerate(zip(offsets, out)):
        if (offset, size) == (0, src[axis]):
            continue
        no_batch_axis(layer, axis, "axis", "Crop")
        spans[keras_axis(axis, len(src))] = (offset, size)
    return BuildResult(outputs=(crop_keras(inputs[0], keras_shape(src), spans, layer, ctx, ""),))


@builder("Permute", emits="Permute", notes="Caffe axis order kept", origin="SSD (weiliu89/caffe)")
def build_permute(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """SSD's Permute (order over Caffe axes, missing axes appended) as one Keras Permute between
    the Keras layouts of the bottom and the top."""
    import keras

    rank = len(ctx.bottom_shapes(layer)[0])
    order = full_order(layer, rank)
    if order[0] != 0:
        raise UnsupportedParameterError(
            f"order {list(layer.params.order)} moves the batch axis, which Keras keeps first",
            layer=layer.name,
            field="order",
        )
    dims = tuple(keras_axis(order[caffe_axis_at(k, rank)], rank) for k in range(1, rank))
    if dims == tuple(range(1, rank)):
        return BuildResult(outputs=(inputs[0],))
    return BuildResult(
        outputs=(keras.layers.Permute(dims, name=ctx.names.make(layer.name))(inputs[0]),)
    )


@builder("Tile", emits="Concatenate of copies")
def build_tile(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe tile_layer.cpp: the whole blob from ``axis`` on, repeated ``tiles`` times along it
    (numpy.tile): a Concatenate of copies."""
    import keras

    shape = ctx.bottom_shapes(layer)[0]
    axis = canonical_axis(layer.params.axis, len(shape), layer)
    no_batch_axis(layer, axis, "axis", "Tile")
    if layer.params.tiles == 1:
        return BuildResult(outputs=(inputs[0],))
    cat = keras.layers.Concatenate(
        axis=keras_axis(axis, len(shape)), name=ctx.names.make(layer.name)
    )
    return BuildResult(outputs=(cat([inputs[0]] * layer.params.tiles),))
