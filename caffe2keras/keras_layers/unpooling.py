"""Max pooling's mask top and the unpooling layers that scatter through it (Pooling's second
top; brocolli-caffe's MaxUnPool, SegNet's Upsample)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

_register = keras.saving.register_keras_serializable(package="caffe2keras")


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
