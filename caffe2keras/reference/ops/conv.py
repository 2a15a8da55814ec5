"""Convolution and Deconvolution: Caffe's im2col + GEMM, vectorised.

Weights are (out, in / group, kh, kw) for Convolution and (in, out / group, kh, kw) for
Deconvolution (``base_conv_layer.cpp``: the blob is (conv_out_channels, conv_in_channels / group)
and a deconvolution swaps the two).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes.geometry import conv_out, deconv_out
from caffe2keras.reference.ops.columns import conv_by_columns
from caffe2keras.reference.ops.common import blob, need_4d, stored_blob
from caffe2keras.reference.ops.taps import conv_by_taps
from caffe2keras.reference.registry import reference_op

Pair = tuple[int, int]
TAP_MIN_CHANNELS = 16
"""Input channels per group from which a convolution with fewer outputs than inputs per group
sums one GEMM per kernel tap (``ops/taps.py``) instead of Caffe's im2col GEMM
(``ops/columns.py``): there stacking the columns costs more than the partial sums (DenseNet's
128 -> 32 3x3 convolutions, ``benchmarks/README.md``). Thin groups always take Caffe's columns,
whose float32 sums are BLAS fused-multiply-add dot products like Caffe's (a product and a
separate rounded addition per tap moved MobileNet-SSD's float32 detections off their golden)."""


def _by_taps(cg: int, og: int) -> bool:
    """Whether a convolution with ``cg`` input and ``og`` output channels per group sums taps."""
    return cg >= TAP_MIN_CHANNELS and og < cg


def im2col_view(
    x: np.ndarray, kernel: Pair, stride: Pair, pad: Pair, dilation: Pair, out_hw: Pair
) -> np.ndarray:
    """Caffe's ``im2col.cpp`` as a strided view of shape (N, C, OH, OW, KH, KW).

    Element (oh, ow, i, j) reads input row ``-pad_h + i * dilation_h + oh * stride_h`` (and the
    same for columns), zero outside the image, also past the padding: C++'s truncating division
    keeps one output when the kernel overhangs the padded input by less than the stride.
    """
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, pad, dilation
    extent = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    h, w = x.shape[2:]
    over_h = max((out_hw[0] - 1) * sh + extent[0] - h - 2 * ph, 0)
    over_w = max((out_hw[1] - 1) * sw + extent[1] - w - 2 * pw, 0)
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph + over_h), (pw, pw + over_w)))
    view = sliding_window_view(padded, extent, axis=(2, 3))
    return view[:, :, ::sh, ::sw, ::dh, ::dw][:, :, : out_hw[0], : out_hw[1]]


def _bias(layer: Layer, dtype: np.dtype) -> np.ndarray | None:
    """The layer's bias (O,) in ``dtype``, None without ``bias_term``."""
    return blob(layer, 1, dtype) if layer.params.bias_term else None


def _add_bias(layer: Layer, y: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``y`` (a fresh array of this op, contiguous, in ``dtype``) plus the bias, in place."""
    bias = _bias(layer, dtype)
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


@reference_op("Convolution")
def convolution(layer: Layer, inputs: list[np.ndarray], dtype: np.dtype) -> list[np.ndarray]:
    """``conv_layer.cpp``: per sample and group, weights (Og, Cg*KH*KW) times the im2col columns
    (Cg*KH*KW, OH*OW), plus the bias: as Caffe, a block of output rows at a time
    (:func:`~caffe2keras.reference.ops.columns.conv_by_columns`), or as a sum of GEMMs over
    kernel taps on views of the padded input (:func:`~caffe2keras.reference.ops.taps.conv_by_taps`)
    where that is faster (:data:`TAP_MIN_CHANNELS`); a 1x1 kernel without padding is one GEMM
    on the (subsampled) input."""
    x = inputs[0]
    need_4d(layer, x)
    p = layer.params
    n, c, h, w = x.shape
    oh = conv_out(h, p.kernel[0], p.stride[0], p.pad[0], p.dilation[0])
    ow = conv_out(w, p.kernel[1], p.stride[1], p.pad[1], p.dilation[1])
    g, og = p.group, p.num_output // p.group
    if p.kernel == (1, 1) and p.pad == (0, 0):  # im2col is the input, strided
        if p.stride != (1, 1):  # C++'s truncation never keeps an overhanging 1x1 window
            x = np.ascontiguousarray(x[:, :, :: p.stride[0], :: p.stride[1]][:, :, :oh, :ow])
        wmat = blob(layer, 0, dtype).reshape(g, og, c // g)
        y = np.matmul(wmat, x.reshape(n, g, c // g, oh * ow))
        return [_add_bias(layer, y.reshape(n, p.num_output, oh, ow), dtype)]
    weight = stored_blob(layer, 0)
    geometry = (p.kernel, p.stride, p.pad, p.dilation, g, (oh, ow), dtype)
    if _by_taps(c // g, og):
        return [_add_bias(layer, conv_by_taps(x, weight, *geometry), dtype)]
    return [conv_by_columns(x, weight, *geometry, bias=_bias(layer, dtype))]


@reference_op("Im2col")
def im2col(layer: Layer, inputs: list[np.ndarray], dtype: np.dtype) -> list[np.ndarray]:
    """``im2col_layer.cpp``: each sample's ``im2col.cpp`` columns as channels; column row
    ``(c * KH + i) * KW + j`` (input channel c, kernel tap (i, j)) becomes channel of that index."""
    x = inputs[0]
    need_4d(layer, x)
    p = layer.params
    n, c, h, w = x.shape
    oh = conv_out(h, p.kernel[0], p.stride[0], p.pad[0], p.dilation[0])
    ow = conv_out(w, p.kernel[1], p.stride[1], p.pad[1], p.dilation[1])
    win = im2col_view(x, p.kernel, p.stride, p.pad, p.dilation, (oh, ow))  # (N, C, OH, OW, KH, KW)
    cols = win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * p.kernel[0] * p.kernel[1], oh, ow)
    return [np.ascontiguousarray(cols, dtype=dtype)]


@reference_op("Deconvolution")
def deconvolution(layer: Layer, inputs: list[np.ndarray], dtype: np.dtype) -> list[np.ndarray]:
    """``deconv_layer.cpp``: the convolution's backward pass (columns = W^T x, then col2im).

    col2im scatter-adds column (i, j) at output row ``h * stride + i * dilation - pad``; the
    canvas is built unpadded and the pad is cropped from every side.
    """
    x = inputs[0]
    need_4d(layer, x)
    p = layer.params
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = p.kernel, p.stride, p.dilation
    g, og = p.group, p.num_output // p.group
    cg = c // g
    xg = x.reshape(n, g, cg, h * w).transpose(1, 0, 3, 2).reshape(g, n * h * w, cg)
    wg = blob(layer, 0, dtype).reshape(g, cg, og * kh * kw)
    cols = np.matmul(xg, wg).reshape(g, n, h, w, og, kh, kw)
    canvas = np.zeros(
        (n, p.num_output, sh * (h - 1) + dh * (kh - 1) + 1, sw * (w - 1) + dw * (kw - 1) + 1),
        dtype=dtype,
    )
    for i in range(kh):
        for j in range(kw):
            piece = cols[..., i, j].transpose(1, 0, 4, 2, 3).reshape(n, p.num_output, h, w)
            canvas[
                :,
                :,
                i * dh : i * dh + sh * (h - 1) + 1 : sh,
                j * dw : j * dw + sw * (w - 1) + 1 : sw,
            ] += piece
    oh = deconv_out(h, kh, sh, p.pad[0], dh)
    ow = deconv_out(w, kw, sw, p.pad[1], dw)
    y = canvas[:, :, p.pad[0] : p.pad[0] + oh, p.pad[1] : p.pad[1] + ow]
    return [_add_bias(layer, np.ascontiguousarray(y), dtype)]
