"""A caffe2keras plugin for the ``Reverse`` layer of the CRNN/CTPN Caffe forks (e.g.
tonghe90/textspotter, used to run an LSTM backwards in a bidirectional pair).

Use it with ``--plugin reverse.py`` on ``caffe2keras convert`` / ``verify``, or from an installed
package through the ``caffe2keras.layers`` entry-point group.

Caffe semantics (``reverse_layer.cpp``, ``reverse_cpu``): the element at position ``i`` along
``reverse_param { axis }`` moves to position ``L - 1 - i`` (L: the length of that axis); the shape
is unchanged and the layer has no learned blobs. Its parameter message is not in caffe.proto, so
it arrives in ``fields``. Keras: a Dense layer whose kernel is the reversed identity, along the
Keras axis that holds the Caffe axis (exact for finite values); the batch axis is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from caffe2keras.errors import ValidationError
from caffe2keras.plugins import (
    BuildContext,
    BuildResult,
    Fields,
    Layer,
    LayerShapes,
    register_layer,
)


@dataclass(frozen=True)
class ReverseParams:
    axis: int


def parse(layer_pb: Any, fields: Fields) -> ReverseParams:
    """``reverse_param { axis }``: the fork's message has no default, so ``axis`` is required."""
    axis = fields.message("reverse_param").value("axis", None)
    if not isinstance(axis, int) or axis < 1:
        raise ValidationError(
            f"must be an axis >= 1 (the batch axis cannot be reversed per sample), got {axis!r}",
            layer=layer_pb.name,
            field="reverse_param.axis",
        )
    return ReverseParams(axis=axis)


def shape(layer: Layer, bottoms: list[tuple[int, ...]]) -> LayerShapes:
    """Same shape as the bottom; the axis must exist."""
    (bottom,) = bottoms
    if layer.params.axis >= len(bottom):
        raise ValidationError(
            f"axis {layer.params.axis} is out of range for a {len(bottom)}-D bottom",
            layer=layer.name,
            field="reverse_param.axis",
        )
    return LayerShapes(tops=(bottom,))


def build(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Keras: Permute the axis last, Dense with the reversed identity, Permute back."""
    import keras

    bottom = ctx.bottom_shapes(layer)[0]
    rank, length = len(bottom), bottom[layer.params.axis]
    # 4-D blobs are channels_last in Keras (N, H, W, C); other ranks keep Caffe's order.
    axis = {1: 3, 2: 1, 3: 2}[layer.params.axis] if rank == 4 else layer.params.axis
    order = [a for a in range(1, rank) if a != axis] + [axis]
    back = [order.index(a) + 1 for a in range(1, rank)]
    x = inputs[0]
    if axis != rank - 1:
        x = keras.layers.Permute(order, name=ctx.names.make(layer.name, "last"))(x)
    dense = keras.layers.Dense(length, use_bias=False, name=ctx.names.make(layer.name, "flip"))
    x = dense(x)
    if axis != rank - 1:
        x = keras.layers.Permute(back, name=ctx.names.make(layer.name))(x)
    kernel = np.eye(length, dtype=np.float32)[::-1].copy()
    return BuildResult(outputs=(x,), weights=((dense, (kernel,)),))


def reference(layer: Layer, inputs: list[np.ndarray], dtype: Any) -> list[np.ndarray]:
    """numpy on Caffe's layout: element i along the axis goes to L - 1 - i."""
    return [np.ascontiguousarray(np.flip(inputs[0], axis=layer.params.axis), dtype=dtype)]


register_layer("Reverse", params=parse, shape=shape, build=build, reference=reference)
