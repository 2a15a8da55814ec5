"""SSD's Normalize (an L2 normalisation with the epsilon inside the root) and the batch-broadcast
constant that carries PriorBox's boxes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

_register = keras.saving.register_keras_serializable(package="caffe2keras")


@_register
class ScaledL2Normalization(keras.layers.Layer):
    """SSD's Normalize: ``y = x / sqrt(sum(x ** 2 over axes) + epsilon) * scale``.

    The epsilon is inside the square root (Keras' UnitNormalization takes max(sum, eps)); the
    learned ``scale`` is one value (``channel_shared``) or one per channel along
    ``channel_axis``."""

    def __init__(
        self,
        axes: Sequence[int],
        channel_axis: int,
        epsilon: float,
        channel_shared: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.axes = [int(a) for a in axes]
        self.channel_axis = int(channel_axis)
        self.epsilon = float(epsilon)
        self.channel_shared = bool(channel_shared)

    def build(self, input_shape: Any) -> None:
        shape = () if self.channel_shared else (int(input_shape[self.channel_axis]),)
        self.scale = self.add_weight(name="scale", shape=shape, initializer="zeros")

    def call(self, x: Any) -> Any:
        total = ops.sum(ops.square(x), axis=tuple(self.axes), keepdims=True)
        y = x / ops.sqrt(total + ops.cast(self.epsilon, x.dtype))
        scale = ops.cast(self.scale, x.dtype)
        if not self.channel_shared:
            shape = [1] * len(x.shape)
            shape[self.channel_axis] = -1
            scale = ops.reshape(scale, shape)
        return y * scale

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        fields = ("axes", "channel_axis", "epsilon", "channel_shared")
        return {**super().get_config(), **{f: getattr(self, f) for f in fields}}


@_register
class BatchConstant(keras.layers.Layer):
    """A constant repeated for every sample of the input's batch: ``(N, *value.shape)``. The
    input's values are not read (Caffe's PriorBox depends only on shapes). The constant is a
    non-trainable weight of ``shape``, so it is saved with the weights, not in the config."""

    def __init__(self, shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.constant_shape = [int(d) for d in shape]

    def build(self, input_shape: Any) -> None:
        self.value = self.add_weight(
            name="value", shape=tuple(self.constant_shape), initializer="zeros", trainable=False
        )

    def call(self, x: Any) -> Any:
        value = ops.expand_dims(ops.cast(self.value, self.compute_dtype), 0)
        return ops.broadcast_to(value, (ops.shape(x)[0], *self.constant_shape))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (input_shape[0], *self.constant_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "shape": self.constant_shape}
