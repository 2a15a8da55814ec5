"""Custom Keras layers for the few Caffe operations no exact composition of standard layers
expresses.

Each layer uses only ``keras.ops``, is registered under the package name ``caffe2keras`` and has a
``get_config``, so a saved model loads with ``keras.models.load_model(path, safe_mode=True)`` once
this module is imported (``import caffe2keras.layers``). Builders import it lazily, so importing
the rest of the package never imports Keras.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

_register = keras.saving.register_keras_serializable(package="caffe2keras")


class _Elementwise(keras.layers.Layer):
    """Base of the element-wise layers: output shape = input shape, config = the given fields."""

    _fields: tuple[str, ...] = ()

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **{f: getattr(self, f) for f in self._fields}}


@_register
class ElementwisePower(_Elementwise):
    """``y = x ** exponent`` element-wise (C ``pow``: a negative ``x`` with a non-integer exponent
    gives NaN, ``x ** 0`` is 1 for every ``x``). Keras has no power layer."""

    _fields = ("exponent",)

    def __init__(self, exponent: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exponent = float(exponent)

    def call(self, x: Any) -> Any:
        return ops.power(x, ops.cast(self.exponent, x.dtype))


@_register
class ElementwiseLog(_Elementwise):
    """``y = ln(x)`` element-wise (``-inf`` at 0, NaN below). Keras has no logarithm layer."""

    def call(self, x: Any) -> Any:
        return ops.log(x)


@_register
class Step(_Elementwise):
    """``y = 1 if x > threshold else 0`` element-wise (a strict comparison). No standard layer
    produces a step: ReLU's ``threshold`` keeps ``x`` itself above the threshold."""

    _fields = ("threshold",)

    def __init__(self, threshold: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.threshold = float(threshold)

    def call(self, x: Any) -> Any:
        return ops.cast(ops.greater(x, ops.cast(self.threshold, x.dtype)), x.dtype)


@_register
class Clip(_Elementwise):
    """``y = min(max(x, min_value), max_value)`` element-wise. Standard ReLU clips only from 0."""

    _fields = ("min_value", "max_value")

    def __init__(self, min_value: float, max_value: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.min_value = float(min_value)
        self.max_value = float(max_value)

    def call(self, x: Any) -> Any:
        return ops.clip(x, ops.cast(self.min_value, x.dtype), ops.cast(self.max_value, x.dtype))


@_register
class MeanVarianceNormalization(_Elementwise):
    """Per-sample mean (and deviation) normalisation over ``axes``:

    ``d = x - mean(x)``; with ``normalize_variance``: ``y = d / (sqrt(mean(d ** 2)) + eps)``,
    else ``y = d``. The epsilon is added to the standard deviation, not to the variance, so
    LayerNormalization (``d / sqrt(var + eps)``) is not the same function. No axes: ``d = 0``.
    """

    _fields = ("axes", "normalize_variance", "epsilon")

    def __init__(
        self, axes: Sequence[int], normalize_variance: bool, epsilon: float, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.axes = [int(a) for a in axes]
        self.normalize_variance = bool(normalize_variance)
        self.epsilon = float(epsilon)

    def call(self, x: Any) -> Any:
        if not self.axes:
            return ops.zeros_like(x)
        axes = tuple(self.axes)
        d = x - ops.mean(x, axis=axes, keepdims=True)
        if not self.normalize_variance:
            return d
        std = ops.sqrt(ops.mean(ops.square(d), axis=axes, keepdims=True))
        return d / (std + ops.cast(self.epsilon, x.dtype))


@_register
class TopK(keras.layers.Layer):
    """The ``k`` largest values along ``axis`` (in decreasing order), or (``mode="indices"``) their
    indices as floats.

    Among equal values the larger index comes first (the order of sorting (value, index) pairs
    in decreasing order). The axis keeps its place and gets size ``k``. Keras has no top-k or
    arg-max layer.
    """

    def __init__(self, axis: int, k: int, mode: str = "indices", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in ("indices", "values"):
            raise ValueError(f"mode must be 'indices' or 'values', got {mode!r}")
        self.axis = int(axis)
        self.k = int(k)
        self.mode = mode

    def call(self, x: Any) -> Any:
        last = ops.moveaxis(x, self.axis, -1)
        n = ops.shape(last)[-1]
        # reversed, so that top_k's "lower index first on ties" becomes "higher index first"
        values, index = ops.top_k(ops.flip(last, axis=-1), self.k, sorted=True)
        out = values if self.mode == "values" else ops.cast(n - 1 - index, x.dtype)
        return ops.moveaxis(out, -1, self.axis)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = list(input_shape)
        shape[self.axis] = self.k
        return tuple(shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "k": self.k, "mode": self.mode}


# Larger layers live in caffe2keras/keras_layers/ (one module per topic); importing them here
# registers them, so ``import caffe2keras.layers`` stays all that a safe-mode load needs.
from caffe2keras.keras_layers import detection as _detection  # noqa: E402, F401
from caffe2keras.keras_layers import padding as _padding  # noqa: E402, F401
from caffe2keras.keras_layers import recurrent as _recurrent  # noqa: E402, F401
from caffe2keras.keras_layers import ssd as _ssd  # noqa: E402, F401
from caffe2keras.keras_layers import unpooling as _unpooling  # noqa: E402, F401

FLT_MAX = 3.4028234663852886e38  # <cfloat>'s FLT_MAX, exactly representable in float32


@_register
class EmptyPoolWindows(_Elementwise):
    """Caffe's pooling output where windows cover no input pixel: the last ``rows`` rows and
    ``cols`` columns of an N, H, W, C pooled tensor (Caffe pads nothing there, so Keras' values
    are meaningless).

    MAX keeps Caffe's start value ``-FLT_MAX``. AVE is a zero sum divided by the window's size
    clipped per axis, ``row_size`` / ``col_size`` for the empty row / column (0 or negative):
    ``0 / (row_size * col_size)`` at the corner, ``0 / row_size`` along the row (the other
    factor is positive), ``0 / col_size`` along the column: NaN or a signed zero.
    """

    _fields = ("method", "rows", "cols", "row_size", "col_size")

    def __init__(
        self, method: str, rows: int, cols: int, row_size: int, col_size: int, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.method = str(method)
        self.rows, self.cols = int(rows), int(cols)
        self.row_size, self.col_size = int(row_size), int(col_size)

    def _values(self, dtype: Any) -> tuple[Any, Any, Any]:
        if self.method == "MAX":
            low = ops.cast(-FLT_MAX, dtype)
            return low, low, low
        zero = ops.cast(0.0, dtype)
        r, c = ops.cast(self.row_size, dtype), ops.cast(self.col_size, dtype)
        return zero / (r * c), zero / r, zero / c

    def call(self, x: Any) -> Any:
        h, w = x.shape[1], x.shape[2]
        row = ops.reshape(ops.arange(h) >= h - self.rows, (1, h, 1, 1))
        col = ops.reshape(ops.arange(w) >= w - self.cols, (1, 1, w, 1))
        corner, on_row, on_col = self._values(x.dtype)
        y = ops.where(col, on_col, x)
        y = ops.where(row, on_row, y)
        return ops.where(ops.logical_and(row, col), corner, y)
