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


@_register
class MaxPoolMask(keras.layers.Layer):
    """Caffe's max-pooling mask top: the plane index ``h * W + w`` (of the unpadded input, as a
    float) of each window's first maximum, -1 where no value exceeds -FLT_MAX.

    Windows are scanned as Caffe does (rows, then columns; a value replaces the best only when
    strictly greater), over the image part of each window: padding, the ceil-mode overhang, NaN
    and values <= -FLT_MAX never win. No standard layer returns pooling indices.
    """

    def __init__(
        self,
        kernel: Sequence[int],
        stride: Sequence[int],
        pad: Sequence[int],
        out_size: Sequence[int],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kernel = [int(k) for k in kernel]
        self.stride = [int(s) for s in stride]
        self.pad = [int(p) for p in pad]
        self.out_size = [int(o) for o in out_size]

    def call(self, x: Any) -> Any:
        import numpy as np

        (kh, kw), (sh, sw), (ph, pw), (oh, ow) = self.kernel, self.stride, self.pad, self.out_size
        height, width = x.shape[1], x.shape[2]
        after_h = max(0, (oh - 1) * sh + kh - ph - height)
        after_w = max(0, (ow - 1) * sw + kw - pw - width)
        lowest = float(np.finfo(np.float32).max)
        padded = ops.pad(x, ((0, 0), (ph, after_h), (pw, after_w), (0, 0)), constant_values=-np.inf)
        rows, cols = np.arange(oh) * sh - ph, np.arange(ow) * sw - pw
        best = mask = None
        for dh in range(kh):
            for dw in range(kw):
                last_h, last_w = dh + (oh - 1) * sh + 1, dw + (ow - 1) * sw + 1
                values = padded[:, dh:last_h:sh, dw:last_w:sw]
                if best is None:
                    best = ops.full_like(values, -lowest)
                    mask = ops.full_like(values, -1.0)
                index = (rows + dh)[:, None] * width + (cols + dw)[None, :]
                take = ops.greater(values, best)
                best = ops.where(take, values, best)
                mask = ops.where(take, ops.cast(index[None, :, :, None], x.dtype), mask)
        return mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (input_shape[0], *self.out_size, input_shape[3])

    def get_config(self) -> dict[str, Any]:
        fields = ("kernel", "stride", "pad", "out_size")
        return {**super().get_config(), **{f: getattr(self, f) for f in fields}}


@_register
class MaxUnpool(keras.layers.Layer):
    """Caffe's unpooling (SegNet's two-bottom ``Upsample``, ``MaxUnPool``): inputs ``[x, mask]``
    (N, H, W, C); ``top[mask[i]] = x[i]`` in each (N, C) plane of size ``out_size``, i scanned in
    order (a later i wins where two share an index), zeros elsewhere. Indices outside the plane
    (Caffe aborts or writes out of bounds) are dropped. No standard layer scatters."""

    def __init__(self, out_size: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.out_size = [int(o) for o in out_size]

    def call(self, inputs: Any) -> Any:
        x, mask = inputs
        oh, ow = self.out_size
        size = oh * ow
        shape = ops.shape(x)
        n, h, w, c = shape[0], shape[1], shape[2], shape[3]
        planes = n * c
        data = ops.reshape(ops.transpose(x, (0, 3, 1, 2)), (-1,))
        index = ops.reshape(ops.cast(ops.transpose(mask, (0, 3, 1, 2)), "int32"), (planes, -1))
        order = ops.broadcast_to(ops.arange(h * w, dtype="int32")[None, :], ops.shape(index))
        base = ops.arange(planes, dtype="int32")[:, None] * size
        inside = ops.logical_and(ops.greater_equal(index, 0), ops.less(index, size))
        dump = planes * size  # one extra segment collects the dropped indices
        segment = ops.reshape(ops.where(inside, base + index, dump), (-1,))
        winner = ops.segment_max(ops.reshape(order, (-1,)), segment, num_segments=dump + 1)
        winner = ops.reshape(winner[:dump], (planes, size))
        found = ops.greater_equal(winner, 0)
        source = ops.reshape(ops.arange(planes, dtype="int32")[:, None] * (h * w), (planes, 1))
        picked = ops.take(data, ops.reshape(source + ops.maximum(winner, 0), (-1,)))
        top = ops.where(ops.reshape(found, (-1,)), picked, ops.zeros_like(picked))
        return ops.transpose(ops.reshape(top, (n, c, oh, ow)), (0, 2, 3, 1))

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = input_shape[0]
        return (shape[0], *self.out_size, shape[3])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "out_size": self.out_size}
