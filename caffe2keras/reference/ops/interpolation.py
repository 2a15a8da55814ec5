"""Bilinear resizing, per output pixel as the forks compute it (float32 coordinates, four
neighbours, the sums in the forks' order):

- ``BilinearInterpolate``: brocolli-caffe ``bilinear_interpolate_layer.cpp`` Forward_cpu;
- ``Interp``: PSPNet ``interp_layer.cpp`` + ``util/interp.cpp`` ``caffe_cpu_interp2``.

The output sizes are computed here again, from the same sources (the builders' shape rules are
not used: the reference shares only the params with them).
"""

from __future__ import annotations

import numpy as np

from caffe2keras.ir.graph import Layer
from caffe2keras.reference.ops.common import need_4d
from caffe2keras.reference.registry import reference_op

F32 = np.float32
Pair = tuple[int, int]


def bilinear_size(layer: Layer, height: int, width: int) -> Pair:
    """``bilinear_interpolate_layer.cpp`` LayerSetUp: dst_h/dst_w (the bottom's size where one
    is missing), or ``int(size * scale_factor)`` in float."""
    p = layer.params
    if p.scale_factor is not None:
        return int(F32(height) * F32(p.scale_factor)), int(F32(width) * F32(p.scale_factor))
    return (height if p.dst_h is None else p.dst_h, width if p.dst_w is None else p.dst_w)


def interp_size(layer: Layer, height: int, width: int) -> Pair:
    """``interp_layer.cpp`` Reshape: the first rule that applies, in Caffe's order."""
    p = layer.params
    h, w = height + p.pad_beg + p.pad_end, width + p.pad_beg + p.pad_end

    def shrink(n: int) -> int:
        return (n - 1) // p.shrink + 1

    def zoom(n: int) -> int:
        return n + (n - 1) * (p.zoom - 1)

    if p.shrink is not None and p.zoom is None:
        return shrink(h), shrink(w)
    if p.zoom is not None and p.shrink is None:
        return zoom(h), zoom(w)
    if p.size is not None:
        return p.size
    return zoom(shrink(h)), zoom(shrink(w))


def _bilinear_coords(src: int, dst: int, align: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per output index: the clamped source coordinate (float32) and its lower neighbour h0
    (clamped to [0, src - 2]; the upper one is h0 + 1)."""
    coord = np.empty(dst, F32)
    low = np.empty(dst, np.int64)
    for i in range(dst):
        if align:
            c = F32(F32(src - 1) / F32(dst - 1)) * F32(i)
        else:  # float(src) / dst is a float; (i + 0.5) a double: the rest in double
            c = F32(float(F32(F32(src) / F32(dst))) * (i + 0.5) - 0.5)
        c = F32(min(max(float(c), 0.0), src - 1))
        coord[i] = c
        low[i] = min(max(int(np.floor(c)), 0), src - 2)
    return coord, low


@reference_op("BilinearInterpolate")
def bilinear_interpolate(
    layer: Layer, inputs: list[np.ndarray], dtype: np.dtype
) -> list[np.ndarray]:
    """``r0 = (w1 - w) q00 + (w - w0) q01``, ``r1`` likewise on row h1, ``top = (h1 - h) r0 +
    (h - h0) r1``. A 1-pixel axis gives h0 = -1 with weight 0 (Caffe reads outside the plane
    there, times 0): that neighbour is left out."""
    x = inputs[0]
    need_4d(layer, x)
    out = bilinear_size(layer, x.shape[2], x.shape[3])
    align = layer.params.align_corners
    hc, h0 = _bilinear_coords(x.shape[2], out[0], align)
    wc, w0 = _bilinear_coords(x.shape[3], out[1], align)
    t = x.dtype.type

    def at(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        got = x[:, :, np.maximum(rows, 0)][:, :, :, np.maximum(cols, 0)]
        ok = (rows >= 0)[:, None] & (cols >= 0)[None, :]
        return np.where(ok, got, t(0))

    wa = ((w0 + 1).astype(x.dtype) - wc.astype(x.dtype))[None, :]  # weight of column w0
    wb = (wc.astype(x.dtype) - w0.astype(x.dtype))[None, :]  # weight of column w0 + 1
    ha = ((h0 + 1).astype(x.dtype) - hc.astype(x.dtype))[:, None]
    hb = (hc.astype(x.dtype) - h0.astype(x.dtype))[:, None]
    r0 = wa * at(h0, w0) + wb * at(h0, w0 + 1)
    r1 = wa * at(h0 + 1, w0) + wb * at(h0 + 1, w0 + 1)
    return [(ha * r0 + hb * r1).astype(x.dtype)]


def _interp_coords(eff: int, dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``caffe_cpu_interp2`` along one axis: (h1, h1p, h1lambda) per output index."""
    rheight = F32(F32(eff - 1) / F32(dst - 1)) if dst > 1 else F32(0)
    low = np.empty(dst, np.int64)
    step = np.empty(dst, np.int64)
    lam = np.empty(dst, F32)
    for h2 in range(dst):
        h1r = F32(rheight * F32(h2))
        low[h2] = int(h1r)
        step[h2] = 1 if low[h2] < eff - 1 else 0
        lam[h2] = F32(h1r - F32(low[h2]))
    return low, step, lam


@reference_op("Interp")
def interp(layer: Layer, inputs: list[np.ndarray], dtype: np.dtype) -> list[np.ndarray]:
    """Crop ``-pad_beg`` rows and columns at the start (``-pad_end`` at the end), then
    ``h0lambda (w0lambda p[0] + w1lambda p[w1p]) + h1lambda (...)`` with align-corners
    coordinates; a plain copy when the cropped size equals the output size."""
    x = inputs[0]
    need_4d(layer, x)
    p = layer.params
    out = interp_size(layer, x.shape[2], x.shape[3])
    eff = (x.shape[2] + p.pad_beg + p.pad_end, x.shape[3] + p.pad_beg + p.pad_end)
    crop = x[:, :, -p.pad_beg : -p.pad_beg + eff[0], -p.pad_beg : -p.pad_beg + eff[1]]
    if eff == out:
        return [crop.copy()]
    h1, h1p, hl = _interp_coords(eff[0], out[0])
    w1, w1p, wl = _interp_coords(eff[1], out[1])
    t = x.dtype.type
    w1lambda, w0lambda = wl.astype(x.dtype)[None, :], (t(1) - wl.astype(x.dtype))[None, :]
    h1lambda, h0lambda = hl.astype(x.dtype)[:, None], (t(1) - hl.astype(x.dtype))[:, None]

    def at(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return crop[:, :, rows][:, :, :, cols]

    top = h0lambda * (w0lambda * at(h1, w1) + w1lambda * at(h1, w1 + w1p)) + h1lambda * (
        w0lambda * at(h1 + h1p, w1) + w1lambda * at(h1 + h1p, w1 + w1p)
    )
    return [top.astype(x.dtype)]
