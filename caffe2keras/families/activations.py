"""Element-wise activations: ReLU (``negative_slope``), ReLU6, Sigmoid, TanH, ELU, PReLU, AbsVal,
BNLL, Clip and Swish: params, shapes and builders. Standard Keras layers wherever they compose
exactly; else :mod:`caffe2keras.layers`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.frontend.params.registry import no_params, param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import (
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

no_params("ReLU6", "Sigmoid", "TanH", "AbsVal", "BNLL")


@dataclass(frozen=True)
class ReLUParams:
    negative_slope: float


@dataclass(frozen=True)
class PReLUParams:
    channel_shared: bool


@dataclass(frozen=True)
class ELUParams:
    alpha: float


@dataclass(frozen=True)
class ClipParams:
    min: float
    max: float


@dataclass(frozen=True)
class SwishParams:
    beta: float


@param_parser("ReLU")
def parse_relu(layer_pb: Any) -> ReLUParams:
    return ReLUParams(negative_slope=float(layer_pb.relu_param.negative_slope))


@param_parser("PReLU")
def parse_prelu(layer_pb: Any) -> PReLUParams:
    return PReLUParams(channel_shared=bool(layer_pb.prelu_param.channel_shared))


@param_parser("ELU")
def parse_elu(layer_pb: Any) -> ELUParams:
    return ELUParams(alpha=float(layer_pb.elu_param.alpha))


@param_parser("Clip")
def parse_clip(layer_pb: Any) -> ClipParams:
    p = layer_pb.clip_param
    require(p.HasField("min"), layer_pb, "min", "Clip needs 'min'")
    require(p.HasField("max"), layer_pb, "max", "Clip needs 'max'")
    require(p.min <= p.max, layer_pb, "min", f"min {p.min} is greater than max {p.max}")
    return ClipParams(min=float(p.min), max=float(p.max))


@param_parser("Swish")
def parse_swish(layer_pb: Any) -> SwishParams:
    return SwishParams(beta=float(layer_pb.swish_param.beta))


shape_rule("ReLU", "ReLU6", "Sigmoid", "TanH", "AbsVal", "BNLL", "ELU", "Clip", "Swish")(
    same_as_bottom
)


@shape_rule("PReLU")
def prelu_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    shape = bottoms[0]
    c = shape[1] if len(shape) > 1 else 1
    blob: Shape = () if layer.params.channel_shared else (c,)
    return LayerShapes(tops=(shape,), blobs=(blob,))


def _one(y: Any) -> BuildResult:
    return BuildResult(outputs=(y,))


def abs_value(x: Any, layer: Layer, ctx: BuildContext, tag: str = "") -> Any:
    """|x| as max(x, -x): exact (negation and maximum do not round)."""
    import keras

    neg = keras.layers.Rescaling(
        -1.0, name=ctx.names.make(layer.name, f"{tag}_neg" if tag else "neg")
    )
    return keras.layers.Maximum(name=ctx.names.make(layer.name, tag))([x, neg(x)])


def affine(x: Any, scale: float, shift: float, layer: Layer, ctx: BuildContext, tag: str) -> Any:
    """``x * scale + shift`` (Rescaling rounds the product, then the sum, as Caffe does)."""
    import keras

    if scale == 1.0 and shift == 0.0:
        return x
    return keras.layers.Rescaling(scale, offset=shift, name=ctx.names.make(layer.name, tag))(x)


@builder("ReLU", emits="ReLU", notes="`negative_slope`")
def build_relu(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe: x > 0 ? x : negative_slope * x. Keras' ReLU refuses a negative (or NaN) slope;
    then a PReLU with every axis shared computes relu(x) - a * relu(-x), the same exactly."""
    import keras
    import numpy as np

    slope = layer.params.negative_slope
    if slope >= 0:
        relu = keras.layers.ReLU(negative_slope=slope, name=ctx.names.make(layer.name))
        return BuildResult(outputs=(relu(inputs[0]),))
    rank = len(ctx.bottom_shapes(layer)[0])
    prelu = keras.layers.PReLU(
        shared_axes=list(range(1, rank)) or None, name=ctx.names.make(layer.name)
    )
    y = prelu(inputs[0])
    alpha = np.full(tuple(prelu.alpha.shape), slope, np.float32)
    return BuildResult(outputs=(y,), weights=((prelu, (alpha,)),))


@builder("ReLU6", emits="ReLU(max_value=6)")
def build_relu6(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    import keras

    return BuildResult(
        outputs=(keras.layers.ReLU(max_value=6.0, name=ctx.names.make(layer.name))(inputs[0]),)
    )


@builder("Sigmoid", "TanH", emits={"Sigmoid": "Activation(sigmoid)", "TanH": "Activation(tanh)"})
def build_sigmoid_tanh(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    import keras

    fn = "sigmoid" if layer.type == "Sigmoid" else "tanh"
    return BuildResult(
        outputs=(keras.layers.Activation(fn, name=ctx.names.make(layer.name))(inputs[0]),)
    )


@builder("ELU", emits="ELU")
def build_elu(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe: x > 0 ? x : alpha * (exp(x) - 1)."""
    import keras

    return BuildResult(
        outputs=(
            keras.layers.ELU(alpha=layer.params.alpha, name=ctx.names.make(layer.name))(inputs[0]),
        )
    )


@builder("PReLU", emits="PReLU", notes="per channel, `channel_shared`")
def build_prelu(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe prelu_layer.cpp: max(0, x) + a * min(0, x), one ``a`` per channel (axis 1) or one
    for all (channel_shared). Keras PReLU computes relu(x) - a * relu(-x): the same, exactly."""
    import keras
    import numpy as np

    rank = len(ctx.bottom_shapes(layer)[0])
    channel = keras_axis(1, rank) if rank > 1 else None
    shared = [a for a in range(1, rank) if layer.params.channel_shared or a != channel]
    prelu = keras.layers.PReLU(shared_axes=shared or None, name=ctx.names.make(layer.name))
    y = prelu(inputs[0])
    if not layer.blobs:
        return _one(y)
    alpha = np.asarray(layer.blobs[0], np.float32).reshape(tuple(prelu.alpha.shape))
    return BuildResult(outputs=(y,), weights=((prelu, (alpha,)),))


@builder("AbsVal", emits="Rescaling(-1) + Maximum")
def build_absval(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe absval_layer.cpp: |x|."""
    return _one(abs_value(inputs[0], layer, ctx))


@builder("BNLL", emits="Activation(softplus)", notes="Caffe's stable form")
def build_bnll(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe bnll_layer.cpp: log(1 + exp(x)), computed stably: softplus."""
    import keras

    return _one(keras.layers.Activation("softplus", name=ctx.names.make(layer.name))(inputs[0]))


@builder(
    "Clip",
    emits="ReLU(max_value) or Clip (custom, keras.ops)",
    notes="custom only when min != 0",
)
def build_clip(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe clip_layer.cpp: max(min, min(x, max)); ReLU(max_value) when min is 0."""
    import keras

    from caffe2keras.layers import Clip

    p = layer.params
    name = ctx.names.make(layer.name)
    if p.min == 0.0:
        return _one(keras.layers.ReLU(max_value=p.max, name=name)(inputs[0]))
    return _one(Clip(p.min, p.max, name=name)(inputs[0]))


@builder("Swish", emits="Activation(silu) or Activation(sigmoid) + Multiply", notes="`beta`")
def build_swish(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe swish_layer.cpp: x * sigmoid(beta * x)."""
    import keras

    beta = layer.params.beta
    x = inputs[0]
    if beta == 1.0:
        return _one(keras.layers.Activation("silu", name=ctx.names.make(layer.name))(x))
    gate = keras.layers.Activation("sigmoid", name=ctx.names.make(layer.name, "sigmoid"))(
        affine(x, beta, 0.0, layer, ctx, "beta")
    )
    return _one(keras.layers.Multiply(name=ctx.names.make(layer.name))([x, gate]))
