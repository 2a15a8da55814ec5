"""A caffe2keras plugin for ShuffleNet-Caffe's ``ShuffleChannel`` layer (farmingyard/ShuffleNet).

Use it with ``--plugin shuffle_channel.py`` on ``caffe2keras convert`` / ``verify``, or from an
installed package through the ``caffe2keras.layers`` entry-point group.

Caffe semantics (``shuffle_channel_layer.cpp``, ``Resize_cpu``): with ``group`` g and C channels,
input channel ``i * (C / g) + j`` becomes output channel ``j * g + i``: reshape the channels to
(g, C/g), transpose to (C/g, g), flatten. The layer has no learned blobs. Its parameter message,
``shuffle_channel_param { group: 3 }``, is not in caffe.proto, so it arrives in ``fields``.
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
class ShuffleChannelParams:
    group: int


def parse(layer_pb: Any, fields: Fields) -> ShuffleChannelParams:
    """``shuffle_channel_param { group }``, default 1 as in ShuffleNet-Caffe's caffe.proto."""
    group = fields.message("shuffle_channel_param").value("group", 1)
    if not isinstance(group, int) or group < 1:
        raise ValidationError(
            f"must be a positive integer, got {group!r}", layer=layer_pb.name, field="group"
        )
    return ShuffleChannelParams(group=group)


def shape(layer: Layer, bottoms: list[tuple[int, ...]]) -> LayerShapes:
    """Same shape as the bottom; the channels must split evenly into the groups."""
    (bottom,) = bottoms
    group = layer.params.group
    if len(bottom) < 2 or bottom[1] % group:
        raise ValidationError(
            f"{bottom[1] if len(bottom) > 1 else 'no'} channels do not split into {group} groups",
            layer=layer.name,
            field="group",
        )
    return LayerShapes(tops=(bottom,))


def build(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Keras (channels_last for 4-D blobs): Reshape (H, W, g, C/g) -> Permute -> Reshape."""
    import keras

    (n, c, h, w) = ctx.bottom_shapes(layer)[0]
    g = layer.params.group
    x = keras.layers.Reshape((h, w, g, c // g), name=ctx.names.make(layer.name, "split"))(inputs[0])
    x = keras.layers.Permute((1, 2, 4, 3), name=ctx.names.make(layer.name, "swap"))(x)
    x = keras.layers.Reshape((h, w, c), name=ctx.names.make(layer.name))(x)
    return BuildResult(outputs=(x,))


def reference(layer: Layer, inputs: list[np.ndarray], dtype: Any) -> list[np.ndarray]:
    """numpy, NCHW: (N, g, C/g, ...) -> (N, C/g, g, ...) -> (N, C, ...)."""
    x = inputs[0]
    g = layer.params.group
    n, c = x.shape[:2]
    y = x.reshape(n, g, c // g, *x.shape[2:]).swapaxes(1, 2)
    return [np.ascontiguousarray(y.reshape(x.shape), dtype=dtype)]


register_layer("ShuffleChannel", params=parse, shape=shape, build=build, reference=reference)
