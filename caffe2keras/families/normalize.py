"""SSD's Normalize (weiliu89/caffe ``normalize_layer.cpp``): L2 normalisation with a learned
scale: params, shapes and builder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import ValidationError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import LayerShapes, shape_rule
from caffe2keras.keras_model.registry import BuildContext, BuildResult, builder
from caffe2keras.layout import keras_axis

SSD = "SSD (weiliu89/caffe)"


@dataclass(frozen=True)
class NormalizeParams:
    across_spatial: bool  # one norm per sample over C, H, W; else one per pixel over C
    channel_shared: bool  # one scale value; else one per channel
    eps: float  # added to the sum of squares, inside the square root


@param_parser("Normalize")
def parse_normalize(layer_pb: Any) -> NormalizeParams:
    p = layer_pb.norm_param
    require(p.eps >= 0, layer_pb, "eps", f"eps must not be negative, got {p.eps}")
    return NormalizeParams(
        across_spatial=bool(p.across_spatial),
        channel_shared=bool(p.channel_shared),
        eps=float(p.eps),
    )


@shape_rule("Normalize")
def normalize_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """Same shape as the bottom. Caffe reads it through ``channels()``/``height()``/``width()``:
    at least 2 axes (CHECK_GE), at most 4 (the legacy accessors' CHECK_LE). The scale blob is
    one value when channel_shared (Caffe creates it with shape ()), else (C,)."""
    shape = bottoms[0]
    if not 2 <= len(shape) <= 4:
        raise ValidationError(
            f"Normalize needs a bottom of 2 to 4 axes (N, C[, H[, W]]), got {list(shape)}",
            layer=layer.name,
            field="bottom",
        )
    blob: Shape = () if layer.params.channel_shared else (shape[1],)
    return LayerShapes(tops=(shape,), blobs=(blob,))


def _describe(layer: Layer, bottoms: list[Shape]) -> str:
    p = layer.params
    over = "C, H, W per sample" if p.across_spatial else "C per pixel"
    scale = "one scale" if p.channel_shared else "a scale per channel"
    return f"ScaledL2Normalization (custom, keras.ops; over {over}, {scale})"


@builder(
    "Normalize",
    emits="ScaledL2Normalization (custom, keras.ops)",
    refine=_describe,
    notes="`across_spatial`, `channel_shared`, `eps` inside the square root",
    origin=SSD,
)
def build_normalize(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """normalize_layer.cpp: norm = sqrt(sum of x^2 + eps) over C, H, W of each sample
    (across_spatial) or over C at each pixel; y = x / norm * scale."""
    from caffe2keras.layers import ScaledL2Normalization

    p = layer.params
    rank = len(ctx.bottom_shapes(layer)[0])
    caffe_axes = range(1, rank) if p.across_spatial else (1,)
    norm = ScaledL2Normalization(
        axes=sorted(keras_axis(a, rank) for a in caffe_axes),
        channel_axis=keras_axis(1, rank),
        epsilon=p.eps,
        channel_shared=p.channel_shared,
        name=ctx.names.make(layer.name),
    )
    y = norm(inputs[0])
    scale = layer.blobs[0].reshape(()) if p.channel_shared else layer.blobs[0].reshape(-1)
    return BuildResult(outputs=(y,), weights=((norm, (scale,)),))
