"""Pooling's max-index mask, unpooling with that mask, and nearest upsampling, from the forks'
sources:

- the mask: BVLC/brocolli-caffe ``pooling_layer.cpp`` (MAX, ``top.size() > 1``);
- ``MaxUnPool``: brocolli-caffe ``maxunpool_layer.cpp``;
- two-bottom ``Upsample``: SegNet (alexgkendall/caffe-segnet) ``upsample_layer.cpp``;
- one-bottom ``Upsample``: brocolli-caffe ``upsample_layer.cpp`` (YOLO's nearest).
"""

from __future__ import annotations

import numpy as np

from caffe2keras.errors import ValidationError
from caffe2keras.ir.graph import Layer
from caffe2keras.reference.ops.common import FLT_MAX, need_4d
from caffe2keras.reference.registry import reference_op

Pair = tuple[int, int]


def max_mask(x: np.ndarray, kernel: Pair, stride: Pair, pad: Pair, out: Pair) -> np.ndarray:
    """``pooling_layer.cpp`` MAX with a mask top: each window (clipped to the image) is scanned
    row by row, a value is taken only when strictly greater than the best so far (which starts at
    -FLT_MAX), and the mask records its plane index ``h * W + w``; -1 where nothing was taken (an
    empty window, or only values <= -FLT_MAX or NaN)."""
    n, c, height, width = x.shape
    best = np.full((n, c) + out, -FLT_MAX, dtype=x.dtype)
    mask = np.full((n, c) + out, -1.0, dtype=x.dtype)
    rows = np.arange(out[0]) * stride[0] - pad[0]
    cols = np.arange(out[1]) * stride[1] - pad[1]
    for dh in range(kernel[0]):
        for dw in range(kernel[1]):
            h, w = rows + dh, cols + dw
            valid = ((h >= 0) & (h < height))[:, None] & ((w >= 0) & (w < width))[None, :]
            values = x[:, :, np.clip(h, 0, height - 1)][:, :, :, np.clip(w, 0, width - 1)]
            take = valid & (values > best)
            best = np.where(take, values, best)
            mask = np.where(take, (h[:, None] * width + w[None, :]).astype(x.dtype), mask)
    return mask


def unpool(layer: Layer, x: np.ndarray, mask: np.ndarray, out: Pair) -> np.ndarray:
    """``top[mask[i]] = bottom[i]`` per (n, c) plane in the order i = 0, 1, ... (a later write
    wins), zeros elsewhere. Caffe aborts on an index >= out_h * out_w ("out of range") and would
    write outside the plane for a negative one (an empty pooling window's -1): both are errors
    here."""
    if mask.shape != x.shape:
        raise ValidationError(
            f"the mask {list(mask.shape)} must have the shape of the data {list(x.shape)}",
            layer=layer.name,
            field="bottom",
        )
    n, c, h, w = x.shape
    size = out[0] * out[1]
    index = mask.reshape(n * c, h * w).astype(np.int64)  # static_cast<int>: truncation
    bad = (index < 0) | (index >= size)
    if bad.any():
        raise ValidationError(
            f"mask index {int(index[bad][0])} is out of range for a {out[0]}x{out[1]} output "
            "(check that the pooling that made the mask had this output's size)",
            layer=layer.name,
            field="bottom",
        )
    planes = np.arange(n * c)[:, None] * size + index
    order = np.broadcast_to(np.arange(h * w), planes.shape)
    winner = np.full(n * c * size, -1, dtype=np.int64)
    np.maximum.at(winner, planes.ravel(), order.ravel())  # the last i written to each place
    flat = x.reshape(n * c, h * w)
    taken = winner.reshape(n * c, size)
    values = np.take_along_axis(flat, np.maximum(taken, 0), axis=1)
    top = np.where(taken >= 0, values, x.dtype.type(0))
    return top.reshape(n, c, out[0], out[1])


@reference_op("MaxUnPool")
def max_unpool(layer: Layer, inputs: list[np.ndarray], dtype: np.dtype) -> list[np.ndarray]:
    """brocolli-caffe ``maxunpool_layer.cpp``: unpool to ``dst_h`` x ``dst_w``."""
    x, mask = inputs
    need_4d(layer, x)
    return [unpool(layer, x, mask, (layer.params.dst_h, layer.params.dst_w))]


def upsample_nearest(x: np.ndarray, scale: int) -> np.ndarray:
    """brocolli-caffe ``upsample_layer.cpp`` (dims_num 4): ``top[h][w] = bottom[h / s][w / s]``."""
    h = np.arange(x.shape[2] * scale) // scale
    w = np.arange(x.shape[3] * scale) // scale
    return x[:, :, h][:, :, :, w]


@reference_op("Upsample")
def upsample(layer: Layer, inputs: list[np.ndarray], dtype: np.dtype) -> list[np.ndarray]:
    """One bottom: YOLO's nearest upsampling; two bottoms: SegNet's unpooling with the mask."""
    p = layer.params
    x = inputs[0]
    need_4d(layer, x)
    if p.kind == "nearest":
        return [upsample_nearest(x, p.scale[0])]
    if p.out is not None:  # upsample_h / upsample_w
        out = p.out
    else:  # upsample_layer.cpp Reshape: bottom * scale - pad_out
        out = (x.shape[2] * p.scale[0] - p.pad_out[0], x.shape[3] * p.scale[1] - p.pad_out[1])
    return [unpool(layer, x, inputs[1], out)]
