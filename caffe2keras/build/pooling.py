"""Pooling builders: Caffe's MAX and AVE pooling from standard Keras layers, exactly.

Caffe pads ``pad`` rows/cols on each side, then (in ceil mode) may need more at the bottom/right for
the last window. Standard Keras pooling is 'valid' on an explicitly padded tensor:
- MAX never sees padding as a value in Caffe. Zero padding is exact only for provably
  non-negative inputs; otherwise the padding replicates the edge row/column (every Caffe window
  contains at least one real row and column next to its padding, so the maximum is unchanged).
- AVE sums zeros over padding and divides by the window clipped to the padded extent H + 2*pad:
  only the last row/column of windows can be clipped, so it is rescaled by k / clipped size.
"""

from __future__ import annotations

from typing import Any

from caffe2keras.build.registry import BuildContext, BuildResult, builder
from caffe2keras.errors import UnsupportedParameterError
from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes.rules_conv import pool_out

Pair = tuple[int, int]


def pool_geometry(size: int, k: int, s: int, p: int, ceil: bool) -> tuple[int, int, int]:
    """(output size, padding after, how far the last window overhangs H + 2p)."""
    out = pool_out(size, k, s, p, ceil)
    extent = (out - 1) * s + k  # padded length the windows span
    after = max(extent - size - p, 0)
    overhang = max(extent - (size + 2 * p), 0)
    return out, after, overhang


def _edge_pad(
    x: Any, layer: Layer, ctx: BuildContext, axis: int, before: int, after: int, size: int
) -> Any:
    """Replicate the first/last slice along a spatial Keras axis (1 = H, 2 = W)."""
    import keras

    if not before and not after:
        return x

    def crop(lo: int, hi: int, tag: str) -> Any:
        c = ((lo, hi), (0, 0)) if axis == 1 else ((0, 0), (lo, hi))
        return keras.layers.Cropping2D(cropping=c, name=ctx.names.make(layer.name, tag))(x)

    parts = []
    if before:
        parts += [crop(0, size - 1, f"edge{axis}a")] * before
    parts.append(x)
    if after:
        parts += [crop(size - 1, 0, f"edge{axis}b")] * after
    return keras.layers.Concatenate(axis=axis, name=ctx.names.make(layer.name, f"pad{axis}"))(parts)


def _max_pool(layer: Layer, x: Any, ctx: BuildContext, pads: tuple[Pair, Pair]) -> Any:
    import keras

    if pads != ((0, 0), (0, 0)):
        if layer.bottoms[0] in ctx.nonnegative:
            x = keras.layers.ZeroPadding2D(pads, name=ctx.names.make(layer.name, "pad"))(x)
        else:
            _, _, h, w = ctx.bottom_shapes(layer)[0]
            x = _edge_pad(x, layer, ctx, 1, *pads[0], h)
            x = _edge_pad(x, layer, ctx, 2, *pads[1], w + 0)
    p = layer.params
    pool = keras.layers.MaxPooling2D(
        pool_size=p.kernel, strides=p.stride, padding="valid", name=ctx.names.make(layer.name)
    )
    return pool(x)


def _rescale_last(
    y: Any, layer: Layer, ctx: BuildContext, axis: int, out: int, factor: float
) -> Any:
    """Multiply the last output row (axis 1) or column (axis 2) by ``factor``."""
    import keras

    def crop(lo: int, hi: int, tag: str) -> Any:
        c = ((lo, hi), (0, 0)) if axis == 1 else ((0, 0), (lo, hi))
        return keras.layers.Cropping2D(cropping=c, name=ctx.names.make(layer.name, tag))(y)

    last = keras.layers.Rescaling(factor, name=ctx.names.make(layer.name, f"div{axis}"))(
        crop(out - 1, 0, f"last{axis}")
    )
    if out == 1:
        return last
    head = crop(0, 1, f"head{axis}")
    return keras.layers.Concatenate(axis=axis, name=ctx.names.make(layer.name, f"cat{axis}"))(
        [head, last]
    )


@builder("Pooling")
def build_pooling(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """MAX or AVE pooling (global pooling = a window of the whole input)."""
    import keras

    p = layer.params
    _, _, h, w = ctx.bottom_shapes(layer)[0]
    if p.method == "STOCHASTIC":
        raise UnsupportedParameterError(
            "STOCHASTIC pooling is not supported", layer=layer.name, field="pool"
        )
    if p.global_pooling:
        cls = (
            keras.layers.GlobalMaxPooling2D
            if p.method == "MAX"
            else keras.layers.GlobalAveragePooling2D
        )
        y = cls(keepdims=True, name=ctx.names.make(layer.name))(inputs[0])
        return BuildResult(outputs=tuple(y for _ in layer.tops))
    (oh, after_h, over_h), (ow, after_w, over_w) = (
        pool_geometry(h, p.kernel[0], p.stride[0], p.pad[0], p.ceil),
        pool_geometry(w, p.kernel[1], p.stride[1], p.pad[1], p.ceil),
    )
    pads = ((p.pad[0], after_h), (p.pad[1], after_w))
    if p.method == "MAX":
        y = _max_pool(layer, inputs[0], ctx, pads)
    else:
        x = inputs[0]
        if pads != ((0, 0), (0, 0)):
            x = keras.layers.ZeroPadding2D(pads, name=ctx.names.make(layer.name, "pad"))(x)
        y = keras.layers.AveragePooling2D(
            pool_size=p.kernel, strides=p.stride, padding="valid", name=ctx.names.make(layer.name)
        )(x)
        if over_h:
            y = _rescale_last(y, layer, ctx, 1, oh, p.kernel[0] / (p.kernel[0] - over_h))
        if over_w:
            y = _rescale_last(y, layer, ctx, 2, ow, p.kernel[1] / (p.kernel[1] - over_w))
    return BuildResult(outputs=tuple(y for _ in layer.tops))
