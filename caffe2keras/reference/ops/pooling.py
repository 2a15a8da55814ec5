"""Pooling: MAX, AVE and test-time STOCHASTIC, exactly as Caffe's ``pooling_layer.cpp``.

Output sizes come from :func:`caffe2keras.ir.shapes.geometry.pool_out` (ceil or floor, then,
when the layer pads either axis, the last window is dropped when it would start inside the
bottom/right padding). Without padding a ceil-rounded last window can start past the input:
MAX leaves it at -FLT_MAX and AVE divides a zero sum by a zero or negative size, as Caffe does.

Each window is folded tap by tap in Caffe's scan order (rows, then columns): one vectorised pass
over strided views of the padded input per kernel tap, never a loop over pixels or channels.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

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


def _padded(
    x: np.ndarray, kernel: Pair, stride: Pair, pad: Pair, out: Pair, value: float
) -> np.ndarray:
    """``x`` padded with ``value`` before and after, far enough for the last (possibly clipped)
    window: one copy; ``x`` itself (read, never written) when every window lies inside it (VGG's
    2x2/2 pools: a copy and a fill of the whole input saved)."""
    after = [max(0, (out[a] - 1) * stride[a] + kernel[a] - pad[a] - x.shape[2 + a]) for a in (0, 1)]
    if pad == (0, 0) and after == [0, 0]:
        return x
    n, c, h, w = x.shape
    padded = np.empty((n, c, pad[0] + h + after[0], pad[1] + w + after[1]), dtype=x.dtype)
    padded.fill(value)
    padded[:, :, pad[0] : pad[0] + h, pad[1] : pad[1] + w] = x
    return padded


def _taps(padded: np.ndarray, kernel: Pair, stride: Pair, out: Pair) -> Iterator[np.ndarray]:
    """Each kernel tap (i, j) in Caffe's scan order (rows, then columns): the (N, C, OH, OW)
    strided view of the values that tap reads for every window."""
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            rows = slice(i, i + (out[0] - 1) * stride[0] + 1, stride[0])
            cols = slice(j, j + (out[1] - 1) * stride[1] + 1, stride[1])
            yield padded[:, :, rows, cols]


def _reduce(
    x: np.ndarray, kernel: Pair, stride: Pair, pad: Pair, out: Pair, value: float, op: np.ufunc
) -> np.ndarray:
    """``op`` (a binary ufunc) folded over every window's taps in Caffe's scan order, starting
    from the first tap: one pass over the input per tap, no Python loop over pixels."""
    padded = _padded(x, kernel, stride, pad, out, value)
    taps = _taps(padded, kernel, stride, out)
    result = np.array(next(taps))
    for view in taps:
        op(result, view, out=result)
    return result


def max_pool(x: np.ndarray, kernel: Pair, stride: Pair, pad: Pair, out: Pair) -> np.ndarray:
    """``pooling_layer.cpp`` MAX: the window is clipped to the image, so padding never takes part.

    Caffe starts every output at -FLT_MAX and keeps a value only when it is greater, so a window
    with no image pixel stays -FLT_MAX and NaNs never win: padding with -FLT_MAX and folding with
    ``fmax`` is the same computation.
    """
    lowest = -FLT_MAX
    result = _reduce(x, kernel, stride, pad, out, lowest, np.fmax)
    return np.fmax(result, x.dtype.type(lowest), out=result)


def ave_divisors(size: int, kernel: int, stride: int, pad: int, out: int) -> np.ndarray:
    """``pooling_layer.cpp`` AVE: pool_size = (min(start + k, size + pad) - start) with start =
    o * stride - pad, i.e. the window clipped to the *padded* extent (padding counts)."""
    start = np.arange(out) * stride - pad
    return np.minimum(start + kernel, size + pad) - start


def ave_pool(x: np.ndarray, kernel: Pair, stride: Pair, pad: Pair, out: Pair) -> np.ndarray:
    """``pooling_layer.cpp`` AVE: the sum over the window clipped to the image, divided by
    :func:`ave_divisors` (rows times columns)."""
    sums = _reduce(x, kernel, stride, pad, out, 0.0, np.add)
    dh = ave_divisors(x.shape[2], kernel[0], stride[0], pad[0], out[0])
    dw = ave_divisors(x.shape[3], kernel[1], stride[1], pad[1], out[1])
    divisor = np.outer(dh, dw).astype(x.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):  # empty windows: as Caffe, 0 / size
        return np.divide(sums, divisor, out=sums)


def stochastic_pool_test(x: np.ndarray, kernel: Pair, stride: Pair, out: Pair) -> np.ndarray:
    """Test-time STOCHASTIC pooling, ``pooling_layer.cu`` StoPoolForwardTest (Caffe has no CPU
    version): sum(v * v) / sum(v) over the window clipped to the image, 0 where sum(v) <= 0."""
    total = _reduce(x, kernel, stride, (0, 0), out, 0.0, np.add)
    squares = _reduce(x * x, kernel, stride, (0, 0), out, 0.0, np.add)
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
