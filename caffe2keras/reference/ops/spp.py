"""BVLC's SPP (``spp_layer.cpp``): a Split, one Pooling per pyramid level, a Flatten each and a
Concat, run as Caffe composes them, with the pooling arithmetic of :mod:`.pooling`."""

from __future__ import annotations

import numpy as np

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes.geometry import pool_out, spp_level
from caffe2keras.reference.ops.common import need_4d
from caffe2keras.reference.ops.pooling import ave_pool, max_pool
from caffe2keras.reference.registry import reference_op


def _level(layer: Layer, x: np.ndarray, i: int) -> np.ndarray:
    """Pyramid level ``i``: GetPoolingParam's kernel/stride/pad, then ``pooling_layer.cpp``
    (ceil rounding; its LayerSetUp demands pad < kernel)."""
    h, w = x.shape[2:]
    (kh, ph), (kw, pw) = spp_level(h, i), spp_level(w, i)
    if ph >= kh or pw >= kw:
        raise ValidationError(
            f"level {i}: pad ({ph}, {pw}) is not smaller than the kernel ({kh}, {kw}) "
            "(Caffe's pooling check)",
            layer=layer.name,
            field="pyramid_height",
        )
    out = (pool_out(h, kh, kh, ph, True), pool_out(w, kw, kw, pw, True))
    pool = max_pool if layer.params.method == "MAX" else ave_pool
    return pool(x, (kh, kw), (kh, kw), (ph, pw), out)


@reference_op("SPP")
def spp(layer: Layer, inputs: list[np.ndarray], dtype: np.dtype) -> list[np.ndarray]:
    """One level: the pooling's top itself (4-D). More: each level flattened (C, H, W order)
    and concatenated along axis 1, level 0 first."""
    x = inputs[0]
    need_4d(layer, x)
    if layer.params.method not in ("MAX", "AVE"):
        raise UnsupportedParameterError(
            "STOCHASTIC pooling is not supported", layer=layer.name, field="pool"
        )
    levels = [_level(layer, x, i) for i in range(layer.params.pyramid_height)]
    if len(levels) == 1:
        return levels
    return [np.concatenate([y.reshape(len(x), -1) for y in levels], axis=1)]
