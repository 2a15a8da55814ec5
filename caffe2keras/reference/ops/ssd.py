"""SSD's Normalize and PriorBox, following weiliu89/caffe's ``normalize_layer.cpp`` and
``prior_box_layer.cpp`` (identical in brocolli-caffe, the Caffe of our goldens)."""

from __future__ import annotations

import math

import numpy as np

from caffe2keras.ir.graph import Layer
from caffe2keras.reference.ops.common import blob
from caffe2keras.reference.registry import reference_op

Inputs = list[np.ndarray]


@reference_op("Normalize")
def normalize(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``normalize_layer.cpp`` Forward_cpu, per sample n: the squares of x; across_spatial:
    norm = (asum of all C*H*W squares + eps) ** 0.5 and top = x * (1 / norm); else the norm
    buffer starts at eps, gets the sum over channels at each pixel, is raised to 0.5, and
    top = x / norm. Then top *= scale[0] (channel_shared) or scale[c] per channel."""
    x = inputs[0]
    p = layer.params
    num, channels = x.shape[0], x.shape[1]
    flat = x.reshape(num, channels, -1)  # (N, C, H*W): Caffe's dim = C * spatial_dim
    scale = blob(layer, 0, dtype).reshape(-1)
    top = np.empty_like(flat)
    for n in range(num):
        squares = flat[n] * flat[n]
        if p.across_spatial:
            norm = (np.abs(squares).sum(dtype=dtype) + dtype.type(p.eps)) ** dtype.type(0.5)
            top[n] = flat[n] * (dtype.type(1.0) / norm)
        else:
            norm = np.full(flat.shape[2], p.eps, dtype) + squares.sum(axis=0, dtype=dtype)
            top[n] = flat[n] / np.power(norm, dtype.type(0.5))[None, :]
        if p.channel_shared:
            top[n] *= scale[0]
        else:
            top[n] *= scale[:, None]
    return [top.reshape(x.shape)]


def _legacy_hw(x: np.ndarray) -> tuple[int, int]:
    """Blob::height() and width(): LegacyShape(2), LegacyShape(3), 1 past the last axis."""
    return (x.shape[2] if x.ndim > 2 else 1), (x.shape[3] if x.ndim > 3 else 1)


def _aspect_ratios(layer: Layer) -> list[float]:
    """LayerSetUp: 1 first; each listed ratio unless within 1e-6 of one present, then 1 / ratio
    when flip (the vector holds floats)."""
    p = layer.params
    ratios = [1.0]
    for ar in p.aspect_ratios:
        if any(math.fabs(ar - r) < 1e-6 for r in ratios):
            continue
        ratios.append(ar)
        if p.flip:
            ratios.append(float(np.float32(1.0 / ar)))
    return ratios


@reference_op("PriorBox")
def prior_box(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``prior_box_layer.cpp`` Forward_cpu: bottom 0 gives the cells, bottom 1 the image size
    unless img_h/img_w (or img_size) are set; values are never read. The C++ loop as written:
    h, w, then per min size the min box, the sqrt(min * max) box, the other ratios' boxes."""
    p = layer.params
    f32 = np.float32
    layer_height, layer_width = _legacy_hw(inputs[0])
    if p.img_h == 0 or p.img_w == 0:
        img_height, img_width = _legacy_hw(inputs[1])
    else:
        img_height, img_width = p.img_h, p.img_w
    if p.step_w == 0 or p.step_h == 0:
        step_w, step_h = f32(img_width) / f32(layer_width), f32(img_height) / f32(layer_height)
    else:
        step_w, step_h = f32(p.step_w), f32(p.step_h)
    ratios = _aspect_ratios(layer)
    values: list[float] = []

    def put(cx: float, cy: float, bw: float, bh: float) -> None:
        values.extend(
            (
                (cx - bw / 2.0) / img_width,
                (cy - bh / 2.0) / img_height,
                (cx + bw / 2.0) / img_width,
                (cy + bh / 2.0) / img_height,
            )
        )

    for h in range(layer_height):
        for w in range(layer_width):
            center_x = float(f32(f32(w + f32(p.offset)) * step_w))
            center_y = float(f32(f32(h + f32(p.offset)) * step_h))
            for s, size in enumerate(p.min_sizes):
                min_size = int(size)
                put(center_x, center_y, min_size, min_size)
                if p.max_sizes:
                    side = float(f32(math.sqrt(min_size * int(p.max_sizes[s]))))
                    put(center_x, center_y, side, side)
                for ar in ratios:
                    if math.fabs(ar - 1.0) < 1e-6:
                        continue
                    root = float(f32(math.sqrt(ar)))
                    put(
                        center_x,
                        center_y,
                        float(f32(min_size * root)),
                        float(f32(min_size / root)),
                    )
    boxes = np.array(values, dtype=f32)
    if p.clip:
        boxes = np.minimum(np.maximum(boxes, f32(0.0)), f32(1.0))
    top = np.empty((1, 2, boxes.size), dtype)
    top[0, 0] = boxes
    variance = [f32(v) for v in p.variances] or [f32(0.1)]
    if len(variance) == 1:
        top[0, 1] = variance[0]
    else:
        top[0, 1] = np.tile(np.array(variance, f32), boxes.size // 4)
    return [top]
