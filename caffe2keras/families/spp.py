"""SPP, BVLC's spatial pyramid pooling (``spp_layer.cpp``): params, shape and builder.

Level i of ``pyramid_height`` levels is a Caffe Pooling (ceil rounding) whose kernel = stride =
ceil(H / 2**i) and pad = (kernel * 2**i - H + 1) // 2 come from the input size
(:func:`caffe2keras.ir.shapes.geometry.spp_level`). Each level's output is flattened in Caffe's
C, H, W order and the levels are concatenated, level 0 first. With one level Caffe's SPP is that
pooling alone: its top stays (N, C, 1, 1), not flattened. A level whose pad reaches its kernel
(inputs smaller than 2**i, or such as H = 5 at four bins) fails Caffe's pooling check.

The builder reuses the Pooling builder (:func:`caffe2keras.families.pooling.build_pooling`) for
each level, with params parsed from the pooling_param Caffe itself builds for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.geometry import need_4d, pool_out, spp_level
from caffe2keras.ir.shapes.registry import LayerShapes, shape_rule
from caffe2keras.keras_model.registry import BuildContext, BuildResult, builder

SPP_METHODS = {0: "MAX", 1: "AVE", 2: "STOCHASTIC"}

Pair = tuple[int, int]


@dataclass(frozen=True)
class SPPParams:
    pyramid_height: int
    method: str  # "MAX" | "AVE" | "STOCHASTIC"


@dataclass(frozen=True)
class Level:
    """One pyramid level: kernel (= stride), pad and output size, as (h, w) pairs."""

    kernel: Pair
    pad: Pair
    out: Pair


@param_parser("SPP")
def parse_spp(layer_pb: Any) -> SPPParams:
    p = layer_pb.spp_param
    height = int(p.pyramid_height)
    require(height >= 1, layer_pb, "pyramid_height", f"pyramid_height must be >= 1, got {height}")
    return SPPParams(pyramid_height=height, method=SPP_METHODS[int(p.pool)])


def spp_levels(layer: Layer, h: int, w: int) -> list[Level]:
    """Every level's geometry on an H x W bottom; refuses what Caffe's pooling checks refuse."""
    levels = []
    for i in range(layer.params.pyramid_height):
        (kh, ph), (kw, pw) = spp_level(h, i), spp_level(w, i)
        if ph >= kh or pw >= kw:
            raise ValidationError(
                f"level {i} ({2**i} bins) of a {h}x{w} bottom needs pad ({ph}, {pw}) not "
                f"smaller than its kernel ({kh}, {kw}): Caffe's pooling check fails",
                layer=layer.name,
                field="pyramid_height",
            )
        out = (pool_out(h, kh, kh, ph, True), pool_out(w, kw, kw, pw, True))
        levels.append(Level((kh, kw), (ph, pw), out))
    return levels


@shape_rule("SPP")
def spp_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    shape = bottoms[0]
    need_4d(layer, shape)
    n, c, h, w = shape
    levels = spp_levels(layer, h, w)
    if len(levels) == 1:
        return LayerShapes(tops=((n, c, *levels[0].out),))
    return LayerShapes(tops=((n, sum(c * lv.out[0] * lv.out[1] for lv in levels)),))


def _level_layer(layer: Layer, level: Level) -> Layer:
    """The Pooling layer Caffe's SPP builds for a level (GetPoolingParam), parsed as ours."""
    from caffe2keras._proto import caffe_pb2
    from caffe2keras.families.pooling import parse_pooling

    proto = caffe_pb2.LayerParameter(name=layer.name, type="Pooling")
    pp = proto.pooling_param
    (pp.kernel_h, pp.kernel_w), (pp.stride_h, pp.stride_w) = level.kernel, level.kernel
    pp.pad_h, pp.pad_w = level.pad
    pp.pool = caffe_pb2.PoolingParameter.PoolMethod.Value(layer.params.method)
    return layer.with_(type="Pooling", params=parse_pooling(proto))


def _describe(layer: Layer, bottoms: list[Shape]) -> str:
    p = layer.params
    kind = {"MAX": "Max", "AVE": "Average"}.get(p.method, p.method)
    if p.pyramid_height == 1:
        return f"{kind}Pooling2D"
    return f"{p.pyramid_height} x {kind}Pooling2D + Flatten (C,H,W order) + Concatenate"


@builder(
    "SPP",
    emits="MaxPooling2D / AveragePooling2D per level + Permute/Reshape + Concatenate",
    refine=_describe,
    notes="MAX/AVE, `pyramid_height`; each level as Caffe's Pooling (ceil, clip, padding); "
    "flattened in C,H,W order; one level keeps its (N, C, H, W) top",
)
def build_spp(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    import keras

    from caffe2keras.families.pooling import build_pooling
    from caffe2keras.keras_model.axes import reshape_caffe

    if layer.params.method == "STOCHASTIC":
        raise UnsupportedParameterError(
            "STOCHASTIC pooling is not supported", layer=layer.name, field="pool"
        )
    n, c, h, w = ctx.bottom_shapes(layer)[0]
    levels = spp_levels(layer, h, w)
    flat = []
    for level in levels:
        pool_layer = _level_layer(layer, level)
        (y,) = build_pooling(pool_layer, inputs, ctx).outputs
        if len(levels) == 1:
            return BuildResult(outputs=(y,))
        size = c * level.out[0] * level.out[1]
        flat.append(reshape_caffe(y, (n, c, *level.out), (n, size), pool_layer, ctx))
    cat = keras.layers.Concatenate(axis=-1, name=ctx.names.make(layer.name, "concat"))
    return BuildResult(outputs=(cat(flat),))
