"""Element-wise activation builders."""

from __future__ import annotations

from typing import Any

import numpy as np

from caffe2keras.build.registry import BuildContext, BuildResult, builder
from caffe2keras.ir.graph import Layer


@builder("ReLU")
def build_relu(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe: x > 0 ? x : negative_slope * x. Keras' ReLU refuses a negative (or NaN) slope;
    then a PReLU with every axis shared computes relu(x) - a * relu(-x), the same exactly."""
    import keras

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


@builder("ReLU6")
def build_relu6(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    import keras

    return BuildResult(
        outputs=(keras.layers.ReLU(max_value=6.0, name=ctx.names.make(layer.name))(inputs[0]),)
    )


@builder("Sigmoid", "TanH")
def build_sigmoid_tanh(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    import keras

    fn = "sigmoid" if layer.type == "Sigmoid" else "tanh"
    return BuildResult(
        outputs=(keras.layers.Activation(fn, name=ctx.names.make(layer.name))(inputs[0]),)
    )


@builder("ELU")
def build_elu(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe: x > 0 ? x : alpha * (exp(x) - 1)."""
    import keras

    return BuildResult(
        outputs=(
            keras.layers.ELU(alpha=layer.params.alpha, name=ctx.names.make(layer.name))(inputs[0]),
        )
    )
