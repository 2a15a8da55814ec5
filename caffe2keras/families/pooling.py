"""Pooling MAX/AVE: params (``pooling_layer.cpp``, BVLC ``round_mode``, fork ``ceil_mode``), shape,
and Caffe's pooling from standard Keras layers, exactly.

Caffe pads ``pad`` rows/cols on each side, then (in ceil mode) may need more at the bottom/right for
the last window. Standard Keras pooling is 'valid' on an explicitly padded tensor:
- MAX never sees padding as a value in Caffe. Zero padding is exact only for provably
  non-negative inputs; otherwise the padding replicates the edge row/column (every Caffe window
  contains at least one real row and column next to its padding, so the maximum is unchanged).
- AVE sums zeros over padding and divides by the window clipped to the padded extent H + 2*pad:
  only the last row/column of windows can be clipped, so it is rescaled by k / clipped size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from caffe2keras.errors import UnsupportedParameterError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.geometry import empty_pool_windows, need_4d, pool_out
from caffe2keras.ir.shapes.registry import (
    LayerShapes,
    shape_rule,
)
from caffe2keras.keras_model.registry import (
    BuildContext,
    BuildResult,
    builder,
)

Pair = tuple[int, int]


POOL_METHODS = {0: "MAX", 1: "AVE", 2: "STOCHASTIC"}


@dataclass(frozen=True)
class PoolingParams:
    """Normalised Pooling params. ``kernel`` is None for global pooling (taken from the input)."""

    method: str  # "MAX" | "AVE" | "STOCHASTIC"
    kernel: Pair | None
    stride: Pair
    pad: Pair
    global_pooling: bool
    ceil: (
        bool  # output size rounds up (Caffe's default) unless ceil_mode: false / round_mode: FLOOR
    )


def _pair(p: Any, layer_pb: Any, name: str, h: str, w: str, default: int) -> Pair:
    """``pooling_layer.cpp`` LayerSetUp: ``name`` or both ``h`` and ``w``, never a lone one.

    For the kernel, Caffe checks ``!has_kernel_size != !(has_kernel_h && has_kernel_w)`` and
    then reads ``kernel_size`` when given: a lone ``kernel_h``/``kernel_w`` beside it is accepted
    and ignored. Pad and stride refuse a lone ``_h``/``_w`` (unlike Convolution's pad).
    """
    has_h, has_w = p.HasField(h), p.HasField(w)
    if name == "kernel_size" and p.HasField(name) and has_h != has_w:
        value = int(getattr(p, name))
        return value, value
    if has_h or has_w:
        require(
            has_h and has_w,
            layer_pb,
            h if not has_h else w,
            f"'{h}' and '{w}' must be given together (Caffe's pooling refuses a lone one)",
        )
        require(
            not p.HasField(name), layer_pb, name, f"'{name}' cannot be combined with '{h}'/'{w}'"
        )
        return int(getattr(p, h)), int(getattr(p, w))
    value = int(getattr(p, name)) if p.HasField(name) else default
    return value, value


def _ceil(p: Any, layer_pb: Any) -> bool:
    has_ceil, has_round = p.HasField("ceil_mode"), p.HasField("round_mode")
    require(
        not (has_ceil and has_round),
        layer_pb,
        "ceil_mode",
        "give either 'ceil_mode' (fork) or 'round_mode' (BVLC), not both",
    )
    if has_ceil:
        return bool(p.ceil_mode)
    if has_round:
        return p.round_mode == p.CEIL
    return True


@param_parser("Pooling")
def parse_pooling(layer_pb: Any) -> PoolingParams:
    """pooling_param, with Caffe's defaults and checks."""
    p = layer_pb.pooling_param
    global_pooling = bool(p.global_pooling)
    kernel: Pair | None
    if global_pooling:
        require(
            not any(p.HasField(f) for f in ("kernel_size", "kernel_h", "kernel_w")),
            layer_pb,
            "kernel_size",
            "global_pooling cannot be combined with a kernel size",
        )
        kernel = None
    else:
        kernel = _pair(p, layer_pb, "kernel_size", "kernel_h", "kernel_w", 0)
        require(
            kernel[0] > 0 and kernel[1] > 0,
            layer_pb,
            "kernel_size",
            f"kernel size must be positive, got {kernel}",
        )
    stride = _pair(p, layer_pb, "stride", "stride_h", "stride_w", 1)
    require(stride[0] > 0 and stride[1] > 0, layer_pb, "stride", "stride must be positive")
    pad = _pair(p, layer_pb, "pad", "pad_h", "pad_w", 0)
    require(pad[0] >= 0 and pad[1] >= 0, layer_pb, "pad", "pad must be >= 0")
    if kernel is not None and (pad[0] or pad[1]):
        require(
            pad[0] < kernel[0] and pad[1] < kernel[1],
            layer_pb,
            "pad",
            f"pad {pad} must be smaller than the kernel {kernel}",
        )
    return PoolingParams(
        method=POOL_METHODS[int(p.pool)],
        kernel=kernel,
        stride=stride,
        pad=pad,
        global_pooling=global_pooling,
        ceil=_ceil(p, layer_pb),
    )


@shape_rule("Pooling")
def pooling_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    p = layer.params
    shape = bottoms[0]
    need_4d(layer, shape)
    n, c, h, w = shape
    if p.global_pooling:
        return LayerShapes(tops=tuple((n, c, 1, 1) for _ in layer.tops))
    padded = any(p.pad)
    oh = pool_out(h, p.kernel[0], p.stride[0], p.pad[0], p.ceil, padded)
    ow = pool_out(w, p.kernel[1], p.stride[1], p.pad[1], p.ceil, padded)
    empty = (
        empty_pool_windows(h, p.kernel[0], p.stride[0], p.pad[0], oh),
        empty_pool_windows(w, p.kernel[1], p.stride[1], p.pad[1], ow),
    )
    notes: tuple[str, ...] = ()
    if any(empty):
        value = "-FLT_MAX" if p.method == "MAX" else "0 / (window size), NaN or 0"
        notes = (
            f"layer '{layer.name}' ({p.method} pooling): its last {empty[0]} output row(s) and "
            f"{empty[1]} column(s) of windows cover no input pixel (ceil rounding with a stride "
            f"larger than the kernel and no padding); Caffe outputs {value} there, and so "
            f"does the converted model. This is almost always a mistake in the model.",
        )
    return LayerShapes(tops=tuple((n, c, oh, ow) for _ in layer.tops), notes=notes)


def pool_geometry(
    size: int, k: int, s: int, p: int, ceil: bool, padded: bool | None = None
) -> tuple[int, int, int]:
    """(output size, padding after, how far the last window overhangs H + 2p); ``padded`` as in
    :func:`caffe2keras.ir.shapes.geometry.pool_out` (does either axis of the layer pad?)."""
    out = pool_out(size, k, s, p, ceil, padded)
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


def _describe_pooling(layer: Layer, bottoms: list[Shape]) -> str:
    p = layer.params
    kind = {"MAX": "Max", "AVE": "Average"}.get(p.method, p.method)
    if p.global_pooling:
        return f"Global{kind}Pooling2D"
    pad = " (+ padding)" if any(p.pad) else ""
    mask = " + MaxPoolMask (custom, keras.ops: the mask top)" if len(layer.tops) > 1 else ""
    return f"{kind}Pooling2D{pad}{mask}"


@builder(
    "Pooling",
    emits="MaxPooling2D / AveragePooling2D (+ ZeroPadding2D, Cropping2D, EmptyPoolWindows)",
    refine=_describe_pooling,
    notes="MAX/AVE; Caffe's ceil rounding (`ceil_mode: false` or `round_mode: FLOOR` for floor) "
    "and clip rule; MAX never sees padding as a value (zero padding only for provably "
    "non-negative inputs, else edge replication); AVE divisor clipped as Caffe does; "
    "global pooling; MAX's second top, the mask (plane index of each window's first maximum: "
    "MaxPoolMask, custom, keras.ops); windows past the input (ceil, stride > kernel, no pad): "
    "-FLT_MAX / NaN as Caffe (EmptyPoolWindows, custom, keras.ops; noted in the report)",
)
def build_pooling(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """MAX or AVE pooling (global pooling = a window of the whole input)."""
    import keras

    p = layer.params
    _, _, h, w = ctx.bottom_shapes(layer)[0]
    if p.method == "STOCHASTIC":
        raise UnsupportedParameterError(
            "STOCHASTIC pooling is not supported", layer=layer.name, field="pool"
        )
    if len(layer.tops) > 1:  # the mask top (families/unpooling.py)
        from caffe2keras.families.unpooling import pool_mask

        _, _, oh, ow = ctx.shapes[layer.tops[1]]
        mask = pool_mask(layer, inputs[0], ctx, (oh, ow))
        y = build_pooling(replace(layer, tops=layer.tops[:1]), inputs, ctx).outputs[0]
        return BuildResult(outputs=(y, mask))
    if p.global_pooling:
        cls = (
            keras.layers.GlobalMaxPooling2D
            if p.method == "MAX"
            else keras.layers.GlobalAveragePooling2D
        )
        y = cls(keepdims=True, name=ctx.names.make(layer.name))(inputs[0])
        return BuildResult(outputs=(y,))
    padded = any(p.pad)
    (oh, after_h, over_h), (ow, after_w, over_w) = (
        pool_geometry(h, p.kernel[0], p.stride[0], p.pad[0], p.ceil, padded),
        pool_geometry(w, p.kernel[1], p.stride[1], p.pad[1], p.ceil, padded),
    )
    empty = (
        empty_pool_windows(h, p.kernel[0], p.stride[0], p.pad[0], oh),
        empty_pool_windows(w, p.kernel[1], p.stride[1], p.pad[1], ow),
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
        # an empty last row/column is filled below; otherwise its windows may be clipped
        if over_h and not empty[0]:
            y = _rescale_last(y, layer, ctx, 1, oh, p.kernel[0] / (p.kernel[0] - over_h))
        if over_w and not empty[1]:
            y = _rescale_last(y, layer, ctx, 2, ow, p.kernel[1] / (p.kernel[1] - over_w))
    if any(empty):
        y = _fill_empty(y, layer, ctx, empty, (h, w), (oh, ow))
    return BuildResult(outputs=(y,))


def _fill_empty(y: Any, layer: Layer, ctx: BuildContext, empty: Pair, size: Pair, out: Pair) -> Any:
    """Caffe's values where windows cover no pixel (trailing rows/columns, no padding): MAX keeps
    -FLT_MAX; AVE divides 0 by ``min(start + k, size) - start`` per axis (<= 0: NaN or -0)."""
    from caffe2keras.layers import EmptyPoolWindows

    p = layer.params
    starts = [(o - 1) * s for o, s in zip(out, p.stride)]  # the last window's start, pad 0
    sizes = [min(a + k, n) - a for a, k, n in zip(starts, p.kernel, size)]
    name = ctx.names.make(layer.name, "empty")
    return EmptyPoolWindows(p.method, *empty, *sizes, name=name)(y)
