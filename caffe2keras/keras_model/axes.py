"""Helpers for builders that work along arbitrary Caffe axes: Caffe-order views of Keras tensors,
reshaping in Caffe's element order, cropping any Keras axis with standard layers, and broadcasting
a blob against a bigger one."""

from __future__ import annotations

import math
from typing import Any

from caffe2keras.errors import UnsupportedParameterError
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.keras_model.registry import BuildContext
from caffe2keras.layout import keras_axis, keras_shape

Span = tuple[int, int]  # (start, size) along one axis


def _layouts_agree(shape: Shape) -> bool:
    """Whether a 4-D blob has the same element order in NCHW and NHWC (C == 1 or H * W == 1)."""
    return shape[1] == 1 or shape[2] * shape[3] == 1


def reshape_caffe(x: Any, src: Shape, dst: Shape, layer: Layer, ctx: BuildContext) -> Any:
    """Reshape a Keras tensor as Caffe reshapes the blob (C-order over Caffe's NCHW layout).

    A 4-D source is permuted to NCHW first and a 4-D result back to NHWC, except where the two
    layouts hold the elements in the same order.
    """
    import keras

    if len(src) == 4 and not _layouts_agree(src):
        x = keras.layers.Permute((3, 1, 2), name=ctx.names.make(layer.name, "to_nchw"))(x)
    if len(dst) == 4 and not _layouts_agree(dst):
        x = keras.layers.Reshape(dst[1:], name=ctx.names.make(layer.name))(x)
        return keras.layers.Permute((2, 3, 1), name=ctx.names.make(layer.name, "to_nhwc"))(x)
    return keras.layers.Reshape(keras_shape(dst)[1:], name=ctx.names.make(layer.name))(x)


def caffe_axis_at(keras_ax: int, rank: int) -> int:
    """The Caffe axis a Keras axis holds (the inverse of :func:`keras_axis`)."""
    return next(a for a in range(rank) if keras_axis(a, rank) == keras_ax)


def to_caffe_order(x: Any, shape: Shape, layer: Layer, ctx: BuildContext, tag: str) -> Any:
    """The Keras tensor of a Caffe blob, with its axes in Caffe order (N, C, H, W for 4-D)."""
    import keras

    if len(shape) != 4:
        return x
    return keras.layers.Permute((3, 1, 2), name=ctx.names.make(layer.name, tag))(x)


def from_caffe_order(x: Any, shape: Shape, layer: Layer, ctx: BuildContext, tag: str) -> Any:
    """Undo :func:`to_caffe_order`: a Caffe-ordered tensor of a blob of ``shape``, Keras layout."""
    import keras

    if len(shape) != 4:
        return x
    return keras.layers.Permute((2, 3, 1), name=ctx.names.make(layer.name, tag))(x)


def no_batch_axis(layer: Layer, axis: int, field: str, what: str) -> None:
    """Refuse an operation along Caffe axis 0: the Keras batch dimension is free."""
    if axis == 0:
        raise UnsupportedParameterError(
            f"{what} along axis 0 (the batch axis) cannot be expressed with a free Keras batch "
            "dimension",
            layer=layer.name,
            field=field,
        )


def _native_crop(x: Any, kshape: Shape, crops: dict[int, tuple[int, int]], name: str) -> Any:
    """One Cropping1D/2D/3D over the spatial axes of a rank 3/4/5 channels_last tensor."""
    import keras

    spatial = range(1, len(kshape) - 1)
    pairs = tuple(crops.get(a, (0, 0)) for a in spatial)
    if len(kshape) == 3:
        return keras.layers.Cropping1D(pairs[0], name=name)(x)
    cls = keras.layers.Cropping2D if len(kshape) == 4 else keras.layers.Cropping3D
    return cls(pairs, data_format="channels_last", name=name)(x)


def crop_keras(
    x: Any, kshape: Shape, spans: dict[int, Span], layer: Layer, ctx: BuildContext, tag: str
) -> Any:
    """``x[..., start:start + size, ...]`` on each Keras axis (>= 1) of ``spans``.

    Spatial axes of rank 3-5 tensors take one Cropping1D/2D/3D; any other axis is reshaped into
    the middle axis of (N, before, axis, after), cropped with Cropping2D and reshaped back.
    """
    import keras

    shape = list(kshape)
    crops = {
        a: (start, shape[a] - start - size)
        for a, (start, size) in spans.items()
        if (start, size) != (0, shape[a])
    }
    native = {a: c for a, c in crops.items() if 3 <= len(shape) <= 5 and a < len(shape) - 1}
    if native:
        x = _native_crop(x, tuple(shape), native, ctx.names.make(layer.name, tag))
        for a, (lo, hi) in native.items():
            shape[a] -= lo + hi
    for a, (lo, hi) in crops.items():
        if a in native:
            continue
        before, after = math.prod(shape[1:a]), math.prod(shape[a + 1 :])
        x = keras.layers.Reshape(
            (before, shape[a], after), name=ctx.names.make(layer.name, f"{tag}_fold")
        )(x)
        x = keras.layers.Cropping2D(
            ((0, 0), (lo, hi)), data_format="channels_last", name=ctx.names.make(layer.name, tag)
        )(x)
        shape[a] -= lo + hi
        x = keras.layers.Reshape(
            tuple(shape[1:]), name=ctx.names.make(layer.name, f"{tag}_unfold")
        )(x)
    return x


def broadcastable(x: Any, shape: Shape, rank: int, layer: Layer, ctx: BuildContext) -> Any:
    """A blob of Caffe ``shape`` (batch first) that lines up with the leading axes of a blob of
    ``rank`` axes, as a Keras tensor that broadcasts against that blob's Keras tensor."""
    full = tuple(shape) + (1,) * (rank - len(shape))
    if full == tuple(shape):
        return x
    return reshape_caffe(x, tuple(shape), full, layer, ctx)
