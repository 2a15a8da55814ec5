"""Layers that regroup a blob's elements without computing: ShuffleNet's ShuffleChannel and the
YOLO v2 ports' Reorg. Params, shapes and builders; everything is Keras Reshape + Permute.

ShuffleChannel (farmingyard/ShuffleNet ``shuffle_channel_layer.cpp``): with ``group`` g and C
channels, channel ``i * (C / g) + j`` becomes channel ``j * g + i``.

Reorg (``reorg_param { stride reverse }``, the Caffe ports of darknet's ``reorg_cpu``): not
space-to-depth. With ``reverse: false`` (YOLO v2's passthrough layer) the output, read flat as a
(C, H, W) blob, takes at ``[c, h, w]`` the input read flat as (C/s², H*s, W*s) at
``[c % (C/s²), h*s + k // s, w*s + k % s]`` with ``k = c // (C/s²)``; the top's shape is
(C*s², H/s, W/s). ``reverse: true`` is the mirror map: top (C/s², H*s, W*s) at
``[c2, h*s + k // s, w*s + k % s]`` is the bottom at ``[k * (C/s²) + c2, h, w]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import ValidationError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import LayerShapes, shape_rule
from caffe2keras.keras_model.registry import BuildContext, BuildResult, builder


@dataclass(frozen=True)
class ShuffleChannelParams:
    group: int


@dataclass(frozen=True)
class ReorgParams:
    stride: int
    reverse: bool


def _not_in_place(layer_pb: Any, why: str) -> None:
    shared = sorted(set(layer_pb.bottom) & set(layer_pb.top))
    if shared:
        raise ValidationError(
            f"cannot run in place (top {shared[0]!r}): {why}", layer=layer_pb.name, field="top"
        )


@param_parser("ShuffleChannel")
def parse_shuffle_channel(layer_pb: Any) -> ShuffleChannelParams:
    p = layer_pb.shuffle_channel_param
    require(p.group > 0, layer_pb, "group", f"must be > 0, got {p.group}")
    _not_in_place(
        layer_pb,
        "the fork copies bottom to top channel by channel, so in place it "
        "would read channels it has already overwritten",
    )
    return ShuffleChannelParams(group=int(p.group))


@param_parser("Reorg")
def parse_reorg(layer_pb: Any) -> ReorgParams:
    p = layer_pb.reorg_param
    require(p.stride > 0, layer_pb, "stride", f"must be > 0, got {p.stride}")
    _not_in_place(layer_pb, "the fork refuses in-place computation (reorg_layer.cpp)")
    return ReorgParams(stride=int(p.stride), reverse=bool(p.reverse))


@shape_rule("ShuffleChannel")
def shuffle_channel_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    shape = bottoms[0]
    if len(shape) < 2 or shape[1] % layer.params.group:
        channels = shape[1] if len(shape) > 1 else "no"
        raise ValidationError(
            f"{channels} channels do not split into {layer.params.group} groups",
            layer=layer.name,
            field="group",
        )
    return LayerShapes(tops=(shape,))


@shape_rule("Reorg")
def reorg_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    shape = bottoms[0]
    s = layer.params.stride
    if len(shape) != 4:
        raise ValidationError(
            f"needs a 4-D (N, C, H, W) bottom, got {list(shape)}", layer=layer.name, field="bottom"
        )
    n, c, h, w = shape
    bad = c % (s * s) or (not layer.params.reverse and (h % s or w % s))
    if bad:
        need = "channels divisible by stride²" + ("" if layer.params.reverse else ", H and W by it")
        raise ValidationError(
            f"bottom {list(shape)} does not fit stride {s} ({need})",
            layer=layer.name,
            field="stride",
        )
    if layer.params.reverse:
        return LayerShapes(tops=((n, c // (s * s), h * s, w * s),))
    return LayerShapes(tops=((n, c * s * s, h // s, w // s),))


@builder(
    "ShuffleChannel",
    emits="Reshape + Permute + Reshape",
    notes="`group`; channel i*(C/g)+j -> j*g+i",
    origin="ShuffleNet (farmingyard/ShuffleNet)",
)
def build_shuffle_channel(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Channels split into (g, C/g) and transposed. 4-D blobs are channels_last in Keras (the
    channels are the last axis); other ranks keep Caffe's order (channels on axis 1)."""
    import keras

    shape = ctx.bottom_shapes(layer)[0]
    c, g = shape[1], layer.params.group
    split: tuple[int, ...]
    swap: tuple[int, ...]
    back: tuple[int, ...]
    if len(shape) == 4:
        _, _, h, w = shape
        split, swap, back = (h, w, g, c // g), (1, 2, 4, 3), (h, w, c)
    else:
        rest = tuple(shape[2:])
        split, back = (g, c // g, *rest), tuple(shape[1:])
        swap = (2, 1, *range(3, len(rest) + 3))
    x = keras.layers.Reshape(split, name=ctx.names.make(layer.name, "split"))(inputs[0])
    x = keras.layers.Permute(swap, name=ctx.names.make(layer.name, "swap"))(x)
    return BuildResult(outputs=(keras.layers.Reshape(back, name=ctx.names.make(layer.name))(x),))


@builder(
    "Reorg",
    emits="Permute + Reshape + Permute + Reshape",
    notes="`stride`, `reverse`; darknet's index map (not space-to-depth)",
    origin="YOLO v2 Caffe ports (darknet reorg)",
)
def build_reorg(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Darknet's map as reshapes and transposes (see the module docstring for the formula)."""
    import keras

    _, c, h, w = ctx.bottom_shapes(layer)[0]
    s = layer.params.stride
    cs = c // (s * s)

    def layer_(kind: type, arg: tuple[int, ...], suffix: str) -> Any:
        return kind(arg, name=ctx.names.make(layer.name, suffix))

    x = inputs[0]  # (N, H, W, C)
    if layer.params.reverse:  # bottom [k*cs + c2, h, w] -> top [c2, h*s + k//s, w*s + k%s]
        x = layer_(keras.layers.Reshape, (h, w, s, s, cs), "blocks")(x)
        x = layer_(keras.layers.Permute, (1, 3, 2, 4, 5), "interleave")(x)
        return BuildResult(outputs=(layer_(keras.layers.Reshape, (h * s, w * s, cs), "")(x),))
    # the bottom's Caffe data read flat as (cs, H*s, W*s) = (cs, H, s, W, s) -> (k_h, k_w, c2, H, W)
    # is the top read flat as (C, H, W); the top's real shape is (C*s², H/s, W/s).
    x = layer_(keras.layers.Permute, (3, 1, 2), "nchw")(x)
    x = layer_(keras.layers.Reshape, (cs, h, s, w, s), "view")(x)
    x = layer_(keras.layers.Permute, (3, 5, 1, 2, 4), "gather")(x)
    x = layer_(keras.layers.Reshape, (c * s * s, h // s, w // s), "top")(x)
    return BuildResult(outputs=(layer_(keras.layers.Permute, (2, 3, 1), "")(x),))
