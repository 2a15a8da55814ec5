"""brocolli-caffe's Pad, following ``pad_layer.cpp`` Forward_cpu step by step: the crop branch
when all four amounts are negative; else the body copied into place, then the columns of the body
rows padded, then whole rows (so the corners follow the rows' rule), each padded element read
from the top blob itself as Caffe does."""

from __future__ import annotations

import numpy as np

from caffe2keras.ir.graph import Layer
from caffe2keras.reference.ops.common import need_4d
from caffe2keras.reference.registry import reference_op


def _fill_columns(top: np.ndarray, mode: str, left: int, right: int, value: float) -> None:
    """Caffe's "Left and right" loop over the body rows (``top`` holds only those rows here)."""
    width = top.shape[-1]
    for k in range(left):
        dst = left - 1 - k
        src = {"REPLICATE": left, "REFLECT": left + 1 + k}.get(mode)
        top[..., dst] = value if src is None else top[..., src]
    for k in range(right):
        dst = width - right + k
        src = {"REPLICATE": width - 1 - right, "REFLECT": dst - 2 - 2 * k}.get(mode)
        top[..., dst] = value if src is None else top[..., src]


def _fill_rows(top: np.ndarray, mode: str, up: int, down: int, value: float) -> None:
    """Caffe's "Top" and "Bottom" loops: whole rows (padding columns included)."""
    height = top.shape[-2]
    for k in range(up):
        dst = up - 1 - k
        src = {"REPLICATE": up, "REFLECT": up + 1 + k}.get(mode)
        top[..., dst, :] = value if src is None else top[..., src, :]
    for k in range(down):
        dst = height - down + k
        src = {"REPLICATE": height - 1 - down, "REFLECT": dst - 2 - 2 * k}.get(mode)
        top[..., dst, :] = value if src is None else top[..., src, :]


@reference_op("Pad")
def pad(layer: Layer, inputs: list[np.ndarray], dtype: np.dtype) -> list[np.ndarray]:
    """``pad_layer.cpp``: see the module docstring (the params refused what Caffe leaves
    undefined: mixed signs, REFLECT by H or W or more)."""
    x = inputs[0]
    need_4d(layer, x)
    p = layer.params
    (up, down), (left, right) = p.pads
    n, c, h, w = x.shape
    if p.crops:
        return [x[:, :, -up : h + down, -left : w + right].copy()]
    top = np.empty((n, c, h + up + down, w + left + right), x.dtype)
    top[:, :, up : up + h, left : left + w] = x
    value = float(np.float32(p.value))  # Caffe's float field, cast to Dtype
    _fill_columns(top[:, :, up : up + h, :], p.mode, left, right, value)
    _fill_rows(top, p.mode, up, down, value)
    return [top]
