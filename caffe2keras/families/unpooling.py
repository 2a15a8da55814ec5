"""Unpooling and nearest upsampling: ``Upsample`` (two meanings under one type name, told apart by
the bottom count), ``MaxUnPool``, and the Keras side of Pooling's second top (the max mask).

- one bottom: YOLO's nearest ``Upsample`` (brocolli-caffe and YOLO ports: ``scale`` only,
  default 1): ``UpSampling2D``, exact;
- two bottoms (data, mask): SegNet/ENet's unpooling (alexgkendall/caffe-segnet): the output size
  is ``upsample_h``/``upsample_w`` when both are given, else the bottom times ``scale`` (or
  ``scale_h``/``scale_w``; SegNet's default 2) minus ``pad_out_h``/``pad_out_w``;
- ``MaxUnPool`` (brocolli-caffe): the same scatter to ``dst_h`` x ``dst_w``.

The scatter writes ``top[mask[i]] = bottom[i]`` in the order of i (a later write wins where two
windows chose the same pixel); :class:`caffe2keras.keras_layers.unpooling.MaxUnpool` does it
with keras.ops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.geometry import need_4d
from caffe2keras.ir.shapes.registry import LayerShapes, shape_rule
from caffe2keras.keras_model.registry import BuildContext, BuildResult, builder

Pair = tuple[int, int]

_SEGNET_FIELDS = ("scale_h", "scale_w", "pad_out_h", "pad_out_w", "upsample_h", "upsample_w")


@dataclass(frozen=True)
class UpsampleParams:
    """``kind`` "nearest" (one bottom; ``scale`` = (s, s)) or "unpool" (two bottoms; ``out`` from
    upsample_h/w, else bottom * ``scale`` - ``pad_out``)."""

    kind: str
    scale: Pair
    pad_out: Pair = (0, 0)
    out: Pair | None = None


def _nearest(layer_pb: Any, p: Any) -> UpsampleParams:
    for name in _SEGNET_FIELDS:
        require(
            not p.HasField(name),
            layer_pb,
            name,
            f"'{name}' belongs to SegNet's unpooling Upsample, which takes the pooling mask as a "
            "second bottom; with one bottom, Upsample is YOLO's nearest upsampling ('scale' only)",
        )
    if p.dims_num != 4:
        raise UnsupportedParameterError(
            f"dims_num {p.dims_num}: only 4 (N, C, H, W) is supported",
            layer=layer_pb.name,
            field="dims_num",
        )
    scale = int(p.scale) if p.HasField("scale") else 1  # brocolli-caffe's default
    require(scale >= 1, layer_pb, "scale", f"scale must be >= 1, got {scale}")
    return UpsampleParams("nearest", (scale, scale))


def _segnet(layer_pb: Any, p: Any) -> UpsampleParams:
    require(
        not p.HasField("dims_num"),
        layer_pb,
        "dims_num",
        "'dims_num' belongs to YOLO's one-bottom nearest Upsample, not to SegNet's unpooling",
    )
    has = {name: p.HasField(name) for name in ("upsample_h", "upsample_w", "scale_h", "scale_w")}
    for a, b in (("upsample_h", "upsample_w"), ("scale_h", "scale_w")):
        require(has[a] == has[b], layer_pb, b if has[a] else a, f"give '{a}' and '{b}' together")
    if has["upsample_h"]:  # upsample_layer.cpp: the exact size wins over every scale field
        out = (int(p.upsample_h), int(p.upsample_w))
        require(min(out) > 1, layer_pb, "upsample_h", f"upsample_h/w must be > 1, got {out}")
        return UpsampleParams("unpool", (1, 1), out=out)
    require(
        not (has["scale_h"] and p.HasField("scale")),
        layer_pb,
        "scale",
        "give either 'scale' or 'scale_h'/'scale_w', not both",
    )
    if has["scale_h"]:
        scale = (int(p.scale_h), int(p.scale_w))
    else:
        s = int(p.scale) if p.HasField("scale") else 2  # SegNet's default
        scale = (s, s)
    require(min(scale) > 1, layer_pb, "scale", f"the scale must be > 1, got {scale}")
    pad_out = (int(p.pad_out_h), int(p.pad_out_w))
    for axis, name in ((0, "pad_out_h"), (1, "pad_out_w")):
        require(
            not pad_out[axis] or scale[axis] == 2,
            layer_pb,
            name,
            f"'{name}' needs a scale of 2 on that axis (SegNet's rule), got {scale[axis]}",
        )
    return UpsampleParams("unpool", scale, pad_out=pad_out)


@param_parser("Upsample")
def parse_upsample(layer_pb: Any) -> UpsampleParams:
    """upsample_param, read by the bottom count: 1 = YOLO's nearest, 2 = SegNet's unpooling."""
    p = layer_pb.upsample_param
    if len(layer_pb.bottom) == 1:
        return _nearest(layer_pb, p)
    require(
        len(layer_pb.bottom) == 2,
        layer_pb,
        "bottom",
        f"Upsample takes one bottom (nearest) or two (data and pooling mask), "
        f"got {len(layer_pb.bottom)}",
    )
    return _segnet(layer_pb, p)


@dataclass(frozen=True)
class MaxUnPoolParams:
    dst_h: int
    dst_w: int


@param_parser("MaxUnPool")
def parse_max_unpool(layer_pb: Any) -> MaxUnPoolParams:
    """max_unpool_param: dst_h and dst_w are required (maxunpool_layer.cpp)."""
    p = layer_pb.max_unpool_param
    for name in ("dst_h", "dst_w"):
        require(p.HasField(name), layer_pb, name, "dst_h and dst_w are required")
        require(getattr(p, name) > 0, layer_pb, name, f"{name} must be > 0")
    return MaxUnPoolParams(int(p.dst_h), int(p.dst_w))


def _unpool_shapes(layer: Layer, bottoms: list[Shape], out: Pair) -> LayerShapes:
    if len(bottoms) != 2:
        raise ValidationError(
            f"takes two bottoms (data, pooling mask), got {len(bottoms)}",
            layer=layer.name,
            field="bottom",
        )
    need_4d(layer, bottoms[0])
    if tuple(bottoms[1]) != tuple(bottoms[0]):
        raise ValidationError(
            f"the mask {list(bottoms[1])} must have the shape of the data {list(bottoms[0])}",
            layer=layer.name,
            field="bottom",
        )
    n, c, _, _ = bottoms[0]
    if min(out) <= 0:
        raise ValidationError(f"the output size {out} is empty", layer=layer.name, field="scale")
    return LayerShapes(tops=((n, c) + tuple(out),))


def upsample_out(layer: Layer, bottom: Shape) -> Pair:
    """The output (H, W) of an Upsample layer on ``bottom``."""
    p = layer.params
    if p.out is not None:
        return p.out
    return (bottom[2] * p.scale[0] - p.pad_out[0], bottom[3] * p.scale[1] - p.pad_out[1])


@shape_rule("Upsample")
def upsample_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    need_4d(layer, bottoms[0])
    if layer.params.kind == "nearest":
        n, c, h, w = bottoms[0]
        s = layer.params.scale[0]
        return LayerShapes(tops=((n, c, h * s, w * s),))
    return _unpool_shapes(layer, bottoms, upsample_out(layer, bottoms[0]))


@shape_rule("MaxUnPool")
def max_unpool_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    return _unpool_shapes(layer, bottoms, (layer.params.dst_h, layer.params.dst_w))


def _unpool(layer: Layer, inputs: list[Any], ctx: BuildContext, out: Pair) -> BuildResult:
    from caffe2keras.keras_layers.unpooling import MaxUnpool

    y = MaxUnpool(out_size=out, name=ctx.names.make(layer.name))(inputs)
    return BuildResult(outputs=(y,))


def _describe_upsample(layer: Layer, bottoms: list[Shape]) -> str:
    if layer.params.kind == "nearest":
        return f"UpSampling2D (nearest, x{layer.params.scale[0]}; YOLO)"
    return "MaxUnpool (custom, keras.ops; SegNet unpooling with the mask)"


@builder(
    "Upsample",
    emits="UpSampling2D (one bottom) / MaxUnpool (custom, keras.ops; two bottoms)",
    refine=_describe_upsample,
    notes="one bottom: YOLO's nearest upsampling by `scale`; two bottoms (data, pooling mask): "
    "SegNet's unpooling (`upsample_h/w`, else `scale` or `scale_h/w` minus `pad_out_h/w`), "
    "a later window wins where two chose the same pixel",
    origin="YOLO ports / brocolli-caffe; SegNet (alexgkendall/caffe-segnet)",
)
def build_upsample(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Nearest upsampling, or SegNet's unpooling with the mask."""
    import keras

    p = layer.params
    if p.kind == "nearest":
        up = keras.layers.UpSampling2D(
            size=p.scale, interpolation="nearest", name=ctx.names.make(layer.name)
        )
        return BuildResult(outputs=(up(inputs[0]),))
    return _unpool(layer, inputs, ctx, upsample_out(layer, ctx.bottom_shapes(layer)[0]))


@builder(
    "MaxUnPool",
    emits="MaxUnpool (custom, keras.ops)",
    notes="scatters each value to its mask index in a `dst_h` x `dst_w` plane (a later window "
    "wins where two chose the same pixel)",
    origin="brocolli-caffe",
)
def build_max_unpool(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Unpooling with the mask of a MAX pooling."""
    return _unpool(layer, inputs, ctx, (layer.params.dst_h, layer.params.dst_w))


def pool_mask(layer: Layer, x: Any, ctx: BuildContext, out: Pair) -> Any:
    """Pooling's second top (MAX only): the plane index of each window's first maximum."""
    from caffe2keras.keras_layers.unpooling import MaxPoolMask

    p = layer.params
    if p.method != "MAX":
        raise ValidationError(
            f"only MAX pooling has a mask top (the pool method is {p.method})",
            layer=layer.name,
            field="top",
        )
    _, _, h, w = ctx.bottom_shapes(layer)[0]
    kernel = (h, w) if p.global_pooling else p.kernel
    mask = MaxPoolMask(
        kernel=kernel,
        stride=p.stride,
        pad=p.pad,
        out_size=out,
        name=ctx.names.make(layer.name, "mask"),
    )
    return mask(x)
