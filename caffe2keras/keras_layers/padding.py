"""Padding with the edge modes keras.ops.pad lacks on some backends (brocolli-caffe's Pad)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

_register = keras.saving.register_keras_serializable(package="caffe2keras")


@_register
class Pad2D(keras.layers.Layer):
    """Pads the two spatial axes of an NHWC tensor by ``pads = ((top, bottom), (left, right))``:
    ``mode`` "constant" (with ``value``), "reflect" (mirror without the edge) or "replicate"
    (repeat the edge; TensorFlow's pad has no such mode: edge slices are repeated and
    concatenated). Standard layers pad with zeros only."""

    def __init__(
        self, pads: Sequence[Sequence[int]], mode: str, value: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if mode not in ("constant", "reflect", "replicate"):
            raise ValueError(f"mode must be 'constant', 'reflect' or 'replicate', got {mode!r}")
        self.pads = [[int(a) for a in pair] for pair in pads]
        self.mode = mode
        self.value = float(value)

    def call(self, x: Any) -> Any:
        (top, bottom), (left, right) = self.pads
        if self.mode != "replicate":
            width = [[0, 0], [top, bottom], [left, right], [0, 0]]
            if self.mode == "reflect":
                return ops.pad(x, width, mode="reflect")
            return ops.pad(x, width, constant_values=self.value)
        if top or bottom:
            parts = [ops.repeat(x[:, :1], top, axis=1)] if top else []
            parts += [x] + ([ops.repeat(x[:, -1:], bottom, axis=1)] if bottom else [])
            x = ops.concatenate(parts, axis=1)
        if left or right:
            parts = [ops.repeat(x[:, :, :1], left, axis=2)] if left else []
            parts += [x] + ([ops.repeat(x[:, :, -1:], right, axis=2)] if right else [])
            x = ops.concatenate(parts, axis=2)
        return x

    def compute_output_shape(self, input_shape: Any) -> Any:
        n, h, w, c = input_shape
        (top, bottom), (left, right) = self.pads
        return (
            n,
            None if h is None else h + top + bottom,
            None if w is None else w + left + right,
            c,
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pads": self.pads, "mode": self.mode, "value": self.value}
