"""LRN (both regions) and MVN: params, shapes and builders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.families.activations import affine
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import (
    INT_MAX,
    LayerShapes,
    same_as_bottom,
    shape_rule,
)
from caffe2keras.keras_model.registry import (
    BuildContext,
    BuildResult,
    builder,
)
from caffe2keras.layout import keras_axis


@dataclass(frozen=True)
class LRNParams:
    local_size: int
    alpha: float
    beta: float
    k: float
    region: str  # "ACROSS_CHANNELS" | "WITHIN_CHANNEL"


@dataclass(frozen=True)
class MVNParams:
    normalize_variance: bool
    across_channels: bool
    eps: float


@param_parser("LRN")
def parse_lrn(layer_pb: Any) -> LRNParams:
    p = layer_pb.lrn_param
    require(
        p.local_size % 2 == 1,
        layer_pb,
        "local_size",
        f"Caffe requires an odd local_size, got {p.local_size}",
    )
    region = "WITHIN_CHANNEL" if p.norm_region == p.WITHIN_CHANNEL else "ACROSS_CHANNELS"
    return LRNParams(
        local_size=int(p.local_size),
        alpha=float(p.alpha),
        beta=float(p.beta),
        k=float(p.k),
        region=region,
    )


@param_parser("MVN")
def parse_mvn(layer_pb: Any) -> MVNParams:
    p = layer_pb.mvn_param
    return MVNParams(
        normalize_variance=bool(p.normalize_variance),
        across_channels=bool(p.across_channels),
        eps=float(p.eps),
    )


@shape_rule("LRN")
def lrn_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """Same shape as the bottom; the zero-padded window buffer must stay within INT_MAX elements.
    Across channels Caffe's ``lrn_layer.cpp`` allocates (1, C + local_size - 1, H, W) and Blob's
    INT_MAX check refuses more; within a channel Caffe pools without padding buffers, but ours
    (C, H + size - 1, W + size - 1) per sample would not fit either: unsupported."""
    shape, size = bottoms[0], layer.params.local_size
    if len(shape) == 4:
        _, c, h, w = shape
        across = layer.params.region == "ACROSS_CHANNELS"
        padded = (c + size - 1) * h * w if across else c * (h + size - 1) * (w + size - 1)
        if padded > INT_MAX:
            error = ValidationError if across else UnsupportedParameterError
            raise error(
                f"local_size {size} on a {list(shape)} bottom needs a padded buffer of {padded} "
                f"elements, beyond the limit of {INT_MAX}",
                layer=layer.name,
                field="local_size",
            )
    return LayerShapes(tops=(shape,))


shape_rule("MVN")(same_as_bottom)


def _window_mean_across(sq: Any, size: int, layer: Layer, ctx: BuildContext) -> Any:
    """Mean of ``sq`` over a window of ``size`` channels, zero-padded at both ends: the channels
    become the depth axis of an AveragePooling3D over (H, W, C, 1)."""
    import keras

    _, c, h, w = ctx.bottom_shapes(layer)[0]
    half = (size - 1) // 2
    x = keras.layers.Reshape((h, w, c, 1), name=ctx.names.make(layer.name, "fold"))(sq)
    x = keras.layers.ZeroPadding3D(
        ((0, 0), (0, 0), (half, half)),
        data_format="channels_last",
        name=ctx.names.make(layer.name, "pad"),
    )(x)
    x = keras.layers.AveragePooling3D(
        (1, 1, size), strides=1, data_format="channels_last", name=ctx.names.make(layer.name, "sum")
    )(x)
    return keras.layers.Reshape((h, w, c), name=ctx.names.make(layer.name, "unfold"))(x)


def _window_mean_within(sq: Any, size: int, layer: Layer, ctx: BuildContext) -> Any:
    """Caffe's size x size AVE pooling with pad (size - 1) / 2 and stride 1: every window lies
    inside the padded extent, so Caffe divides by size * size everywhere, padding included."""
    import keras

    half = (size - 1) // 2
    x = keras.layers.ZeroPadding2D(half, name=ctx.names.make(layer.name, "pad"))(sq)
    return keras.layers.AveragePooling2D(
        size, strides=1, padding="valid", name=ctx.names.make(layer.name, "sum")
    )(x)


@builder(
    "LRN",
    emits="Multiply + AveragePooling + Reshape + ElementwisePower (custom, keras.ops)",
    notes="ACROSS_CHANNELS / WITHIN_CHANNEL; `k`, alpha / local_size, Caffe's padded divisor",
)
def build_lrn(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe lrn_layer.cpp, y = x * scale ** -beta with
    ACROSS_CHANNELS: scale = k + alpha / size * (sum of x^2 over ``size`` channels, zero padded)
                           = k + alpha * window mean (the mean divides by ``size`` too);
    WITHIN_CHANNEL:  scale = 1 + alpha * (AVE pooling of x^2, size x size, pad (size - 1) / 2)
    (Caffe's within-channel path is Power(2) -> Pooling(AVE) -> Power(-beta, alpha, 1) -> PROD;
    it ignores ``k``)."""
    import keras

    from caffe2keras.layers import ElementwisePower

    p = layer.params
    if len(ctx.bottom_shapes(layer)[0]) != 4:
        raise UnsupportedParameterError(
            "LRN needs a 4-D (N, C, H, W) bottom, as in Caffe", layer=layer.name, field="bottom"
        )
    x = inputs[0]
    sq = keras.layers.Multiply(name=ctx.names.make(layer.name, "square"))([x, x])
    if p.region == "ACROSS_CHANNELS":
        mean, shift = _window_mean_across(sq, p.local_size, layer, ctx), p.k
    else:
        mean, shift = _window_mean_within(sq, p.local_size, layer, ctx), 1.0
    scale = affine(mean, p.alpha, shift, layer, ctx, "scale")
    factor = ElementwisePower(-p.beta, name=ctx.names.make(layer.name, "pow"))(scale)
    return BuildResult(
        outputs=(keras.layers.Multiply(name=ctx.names.make(layer.name))([x, factor]),)
    )


@builder(
    "MVN",
    emits="MeanVarianceNormalization (custom, keras.ops)",
    notes="Caffe divides by (std + eps)",
)
def build_mvn(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe mvn_layer.cpp: statistics per sample over (C,) H, W, i.e. over every axis after the
    channel axis, or after the batch axis with ``across_channels``; y = (x - mean) / (std + eps)."""
    from caffe2keras.layers import MeanVarianceNormalization

    p = layer.params
    rank = len(ctx.bottom_shapes(layer)[0])
    first = 1 if p.across_channels else 2
    axes = sorted(keras_axis(a, rank) for a in range(first, rank))
    mvn = MeanVarianceNormalization(
        axes, p.normalize_variance, p.eps, name=ctx.names.make(layer.name)
    )
    return BuildResult(outputs=(mvn(inputs[0]),))
