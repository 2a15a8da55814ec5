"""Builders of layers that cut, reorder or repeat a blob along Caffe axes: Slice, Crop, Permute,
Tile. Everything is standard Keras (Cropping1D/2D/3D, Reshape, Permute, Concatenate)."""

from __future__ import annotations

from typing import Any

from caffe2keras.build.axes import caffe_axis_at, crop_keras, no_batch_axis
from caffe2keras.build.registry import BuildContext, BuildResult, builder
from caffe2keras.errors import UnsupportedParameterError
from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes import canonical_axis
from caffe2keras.ir.shapes.rules_shape import crop_offsets, full_order, slice_sizes
from caffe2keras.layout import keras_axis, keras_shape


@builder("Slice")
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


@builder("Crop")
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


@builder("Permute")
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


@builder("Tile")
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
