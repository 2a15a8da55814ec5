"""Pooling: MAX, AVE and test-time STOCHASTIC, exactly as Caffe's ``pooling_layer.cpp``.

Output sizes come from :func:`caffe2keras.ir.shapes.geometry.pool_out` (ceil or floor, then,
when the layer pads either axis, the last window is dropped when it would start inside the
bottom/right padding). Without padding a ceil-rounded last window can start past the input:
MAX leaves it at -FLT_MAX and AVE divides a zero sum by a zero or negative size, as Caffe does.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from caffe2keras.errors import ValidationError
from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes.geometry import pool_out
from caffe2keras.reference.ops.common import FLT_MAX, need_4d
from caffe2keras.reference.ops.unpooling import max_mask
from caffe2keras.reference.registry import reference_op

Pair = tuple[int, int]


def pool_geometry(layer: Layer, height: int, width: int) -> tuple[Pair, Pair, Pair, Pair]:
    """(kernel, stride, pad, output size) of a Pooling layer on an H x W bottom.

    ``pooling_layer.cpp`` LayerSetUp: global pooling takes the whole bottom as its kernel and
    demands pad 0 and stride 1.
    """
    p = layer.params
    if p.global_pooling:
        if p.pad != (0, 0) or p.stride != (1, 1):
            raise ValidationError(
                "global pooling needs pad 0 and stride 1 (as Caffe checks)",
                layer=layer.name,
                field="global_pooling",
            )
        return (height, width), (1, 1), (0, 0), (1, 1)
    (kh, kw), (sh, sw), (ph, pw) = p.kernel, p.stride, p.pad
    padded = bool(ph or pw)  # Reshape's clip rule runs on both axes when either pads
    out = (
        pool_out(height, kh, sh, ph, p.ceil, padded),
        pool_out(width, kw, sw, pw, p.ceil, padded),
    )
    return p.kernel, p.stride, p.pad, out


def _windows(
    x: np.ndarray, kernel: Pair, stride: Pair, pad: Pair, out: Pair, value: float
) -> np.ndarray:
    """(N, C, OH, OW, KH, KW) view of ``x`` padded with ``value`` before and after, far enough
    for the last (possibly clipped) window."""
    after = [max(0, (out[a] - 1) * stride[a] + kernel[a] - pad[a] - x.shape[2 + a]) for a in (0, 1)]
    padded = np.pad(
        x, ((0, 0), (0, 0), (pad[0], after[0]), (pad[1], after[1])), constant_values=value
    )
    view = sliding_window_view(padded, kernel, axis=(2, 3))
    return view[:, :, :: stride[0], :: stride[1]][:, :, : out[0], : out[1]]


def max_pool(x: np.ndarray, kernel: Pair, stride: Pair, pad: Pair, out: Pair) -> np.ndarray:
    """``pooling_layer.cpp`` MAX: the window is clipped to the image, so padding never takes part.

    Caffe starts every output at -FLT_MAX and keeps a value only when it is greater, so a window
    with no image pixel stays -FLT_MAX and NaNs never win: padding with -FLT_MAX and reducing with
    ``fmax`` is the same computation.
    """
    lowest = -FLT_MAX
    windows = _windows(x, kernel, stride, pad, out, lowest)
    return np.fmax(np.fmax.reduce(windows, axis=(4, 5)), x.dtype.type(lowest))


def ave_divisors(size: int, kernel: int, stride: int, pad: int, out: int) -> np.ndarray:
    """``pooling_layer.cpp`` AVE: pool_size = (min(start + k, size + pad) - start) with start =
    o * stride - pad, i.e. the window clipped to the *padded* extent (padding counts)."""
    start = np.arange(out) * stride - pad
    return np.minimum(start + kernel, size + pad) - start


def ave_pool(x: np.ndarray, kernel: Pair, stride: Pair, pad: Pair, out: Pair) -> np.ndarray:
    """``pooling_layer.cpp`` AVE: the sum over the window clipped to the image, divided by
    :func:`ave_divisors` (rows times columns)."""
    sums = _windows(x, kernel, stride, pad, out, 0.0).sum(axis=(4, 5))
    dh = ave_divisors(x.shape[2], kernel[0], stride[0], pad[0], out[0])
    dw = ave_divisors(x.shape[3], kernel[1], stride[1], pad[1], out[1])
    divisor = np.outer(dh, dw).astype(x.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):  # empty windows: as Caffe, 0 / size
        return sums / divisor


def stochastic_pool_test(x: np.ndarray, kernel: Pair, stride: Pair, out: Pair) -> np.ndarray:
    """Test-time STOCHASTIC pooling, ``pooling_layer.cu`` StoPoolForwardTest (Caffe has no CPU
    version): sum(v * v) / sum(v) over the window clipped to the image, 0 where sum(v) <= 0."""
    windows = _windows(x, kernel, stride, (0, 0), out, 0.0)
    total = windows.sum(axis=(4, 5))
    squares = (windows * windows).sum(axis=(4, 5))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, squares / np.where(total > 0, total, 1), 0).astype(x.dtype)


@reference_op("Pooling")
def pooling(layer: Layer, inputs: list[np.ndarray], dtype: np.dtype) -> list[np.ndarray]:
    """One Pooling layer (and, for MAX, Caffe's max-index mask as a second top)."""
    x = inputs[0]
    need_4d(layer, x)
    kernel, stride, pad, out = pool_geometry(layer, x.shape[2], x.shape[3])
    method = layer.params.method
    if len(layer.tops) > 1:  # the mask top (pooling_layer.cpp: MaxTopBlobs is 2 for MAX only)
        if method != "MAX":
            raise ValidationError(
                f"only MAX pooling has a mask top (the pool method is {method})",
                layer=layer.name,
                field="top",
            )
        return [max_pool(x, kernel, stride, pad, out), max_mask(x, kernel, stride, pad, out)]
    if method == "MAX":
        return [max_pool(x, kernel, stride, pad, out)]
    if method == "AVE":
        return [ave_pool(x, kernel, stride, pad, out)]
    if pad != (0, 0):
        raise ValidationError(
            "STOCHASTIC pooling takes no padding (as Caffe checks)", layer=layer.name, field="pad"
        )
    return [stochastic_pool_test(x, kernel, stride, out)]
