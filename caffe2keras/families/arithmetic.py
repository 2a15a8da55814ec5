"""Element-wise arithmetic: Power, Exp, Log (``base``/``scale``/``shift``) and Threshold: params,
shapes and builders."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from caffe2keras.families.activations import _one, affine
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes.registry import (
    same_as_bottom,
    shape_rule,
)
from caffe2keras.keras_model.registry import (
    BuildContext,
    BuildResult,
    builder,
)


@dataclass(frozen=True)
class PowerParams:
    """(shift + scale * x) ** power."""

    power: float
    scale: float
    shift: float


@dataclass(frozen=True)
class ExpLogParams:
    """Exp: base ** (shift + scale * x); Log: log_base(shift + scale * x). base -1 means e."""

    base: float
    scale: float
    shift: float


@dataclass(frozen=True)
class ThresholdParams:
    threshold: float


@param_parser("Power")
def parse_power(layer_pb: Any) -> PowerParams:
    p = layer_pb.power_param
    return PowerParams(power=float(p.power), scale=float(p.scale), shift=float(p.shift))


def _exp_log(layer_pb: Any, p: Any) -> ExpLogParams:
    base = float(p.base)
    require(base == -1.0 or base > 0, layer_pb, "base", f"must be -1 (e) or positive, got {base}")
    require(base != 1.0, layer_pb, "base", "base 1 is not allowed (Caffe refuses it too)")
    return ExpLogParams(
        base=math.e if base == -1.0 else base, scale=float(p.scale), shift=float(p.shift)
    )


@param_parser("Exp")
def parse_exp(layer_pb: Any) -> ExpLogParams:
    return _exp_log(layer_pb, layer_pb.exp_param)


@param_parser("Log")
def parse_log(layer_pb: Any) -> ExpLogParams:
    return _exp_log(layer_pb, layer_pb.log_param)


@param_parser("Threshold")
def parse_threshold(layer_pb: Any) -> ThresholdParams:
    return ThresholdParams(threshold=float(layer_pb.threshold_param.threshold))


shape_rule("Power", "Exp", "Log", "Threshold")(same_as_bottom)


def _power_constant(p: Any) -> float | None:
    """Caffe power_layer.cpp: when power * scale == 0 the output ignores the input and is
    1 (power 0) or shift ** power (scale 0), in float32."""
    import numpy as np

    if p.power * p.scale != 0.0:
        return None
    if p.power == 0.0:
        return 1.0
    with np.errstate(all="ignore"):
        return float(np.power(np.float32(p.shift), np.float32(p.power)))


@builder(
    "Power",
    emits="Rescaling / Multiply / ElementwisePower (custom, keras.ops)",
    notes="`power` 1 and 2 use standard layers",
)
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


@builder("Exp", emits="Activation(exponential) + Rescaling")
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


@builder("Log", emits="ElementwiseLog (custom, keras.ops) + Rescaling")
def build_log(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe log_layer.cpp: log_base(shift + scale * x) = ln(shift + scale * x) / ln(base)."""
    from caffe2keras.layers import ElementwiseLog

    p = layer.params
    x = affine(inputs[0], p.scale, p.shift, layer, ctx, "affine")
    y = ElementwiseLog(name=ctx.names.make(layer.name, "ln"))(x)
    base_scale = 1.0 if p.base == math.e else 1.0 / math.log(p.base)
    return _one(affine(y, base_scale, 0.0, layer, ctx, "base"))


@builder("Threshold", emits="Step (custom, keras.ops)", notes="x > t -> 1, else 0")
def build_threshold(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe threshold_layer.cpp: x > threshold ? 1 : 0."""
    from caffe2keras.layers import Step

    return _one(Step(layer.params.threshold, name=ctx.names.make(layer.name))(inputs[0]))
