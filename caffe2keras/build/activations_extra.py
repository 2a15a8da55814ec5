"""Builders of the remaining element-wise layers: AbsVal, BNLL, Power, Exp, Log, Threshold, Clip,
Swish and PReLU. Standard layers wherever they compose exactly; else :mod:`caffe2keras.layers`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from caffe2keras.build.registry import BuildContext, BuildResult, builder
from caffe2keras.ir.graph import Layer
from caffe2keras.layout import keras_axis


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


@builder("AbsVal")
def build_absval(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe absval_layer.cpp: |x|."""
    return _one(abs_value(inputs[0], layer, ctx))


@builder("BNLL")
def build_bnll(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe bnll_layer.cpp: log(1 + exp(x)), computed stably: softplus."""
    import keras

    return _one(keras.layers.Activation("softplus", name=ctx.names.make(layer.name))(inputs[0]))


def _power_constant(p: Any) -> float | None:
    """Caffe power_layer.cpp: when power * scale == 0 the output ignores the input and is
    1 (power 0) or shift ** power (scale 0), in float32."""
    if p.power * p.scale != 0.0:
        return None
    if p.power == 0.0:
        return 1.0
    with np.errstate(all="ignore"):
        return float(np.power(np.float32(p.shift), np.float32(p.power)))


@builder("Power")
def build_power(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe: (shift + scale * x) ** power; x * x for power 2, ElementwisePower otherwise."""
    import keras

    from caffe2keras.layers import ElementwisePower

    p = layer.params
    constant = _power_constant(p)
    if constant is not None:
        # x ** 0 is 1 for every x (inf and NaN too), so this is the constant for every input
        ones = ElementwisePower(0.0, name=ctx.names.make(layer.name, "ones"))(inputs[0])
        return _one(affine(ones, constant, 0.0, layer, ctx, ""))
    y = affine(inputs[0], p.scale, p.shift, layer, ctx, "affine")
    if p.power == 1.0:
        return _one(y)
    if p.power == 2.0:
        return _one(keras.layers.Multiply(name=ctx.names.make(layer.name))([y, y]))
    return _one(ElementwisePower(p.power, name=ctx.names.make(layer.name))(y))


@builder("Exp")
def build_exp(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe exp_layer.cpp: base ** (shift + scale * x) = outer * exp(inner * x) with
    inner = ln(base) * scale and outer = base ** shift."""
    import keras

    p = layer.params
    inner = math.log(p.base) * p.scale
    outer = 1.0 if p.shift == 0.0 else (math.exp(p.shift) if p.base == math.e else p.base**p.shift)
    x = affine(inputs[0], inner, 0.0, layer, ctx, "inner")
    y = keras.layers.Activation("exponential", name=ctx.names.make(layer.name, "exp"))(x)
    return _one(affine(y, outer, 0.0, layer, ctx, "outer"))


@builder("Log")
def build_log(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe log_layer.cpp: log_base(shift + scale * x) = ln(shift + scale * x) / ln(base)."""
    from caffe2keras.layers import ElementwiseLog

    p = layer.params
    x = affine(inputs[0], p.scale, p.shift, layer, ctx, "affine")
    y = ElementwiseLog(name=ctx.names.make(layer.name, "ln"))(x)
    base_scale = 1.0 if p.base == math.e else 1.0 / math.log(p.base)
    return _one(affine(y, base_scale, 0.0, layer, ctx, "base"))


@builder("Threshold")
def build_threshold(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe threshold_layer.cpp: x > threshold ? 1 : 0."""
    from caffe2keras.layers import Step

    return _one(Step(layer.params.threshold, name=ctx.names.make(layer.name))(inputs[0]))


@builder("Clip")
def build_clip(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe clip_layer.cpp: max(min, min(x, max)); ReLU(max_value) when min is 0."""
    import keras

    from caffe2keras.layers import Clip

    p = layer.params
    name = ctx.names.make(layer.name)
    if p.min == 0.0:
        return _one(keras.layers.ReLU(max_value=p.max, name=name)(inputs[0]))
    return _one(Clip(p.min, p.max, name=name)(inputs[0]))


@builder("Swish")
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


@builder("PReLU")
def build_prelu(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe prelu_layer.cpp: max(0, x) + a * min(0, x), one ``a`` per channel (axis 1) or one
    for all (channel_shared). Keras PReLU computes relu(x) - a * relu(-x): the same, exactly."""
    import keras

    rank = len(ctx.bottom_shapes(layer)[0])
    channel = keras_axis(1, rank) if rank > 1 else None
    shared = [a for a in range(1, rank) if layer.params.channel_shared or a != channel]
    prelu = keras.layers.PReLU(shared_axes=shared or None, name=ctx.names.make(layer.name))
    y = prelu(inputs[0])
    if not layer.blobs:
        return _one(y)
    alpha = np.asarray(layer.blobs[0], np.float32).reshape(tuple(prelu.alpha.shape))
    return BuildResult(outputs=(y,), weights=((prelu, (alpha,)),))
