"""Builders of layers that combine blobs: Eltwise and Concat."""

from __future__ import annotations

from typing import Any

from caffe2keras.build.registry import BuildContext, BuildResult, builder
from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes import canonical_axis
from caffe2keras.layout import keras_axis


@builder("Eltwise")
def build_eltwise(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """SUM (coefficients as Rescaling layers), PROD -> Multiply, MAX -> Maximum."""
    import keras

    p = layer.params
    if p.operation == "PROD":
        return BuildResult(
            outputs=(keras.layers.Multiply(name=ctx.names.make(layer.name))(inputs),)
        )
    if p.operation == "MAX":
        return BuildResult(outputs=(keras.layers.Maximum(name=ctx.names.make(layer.name))(inputs),))
    terms = []
    for i, (x, c) in enumerate(zip(inputs, p.coeffs or (1.0,) * len(inputs))):
        if c != 1.0:
            x = keras.layers.Rescaling(c, name=ctx.names.make(layer.name, f"coeff{i}"))(x)
        terms.append(x)
    return BuildResult(outputs=(keras.layers.Add(name=ctx.names.make(layer.name))(terms),))


@builder("Concat")
def build_concat(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Concatenate on the Keras axis that holds Caffe's axis."""
    import keras

    rank = len(ctx.bottom_shapes(layer)[0])
    axis = keras_axis(canonical_axis(layer.params.axis, rank, layer), rank)
    if len(inputs) == 1:
        return BuildResult(outputs=(inputs[0],))
    cat = keras.layers.Concatenate(axis=axis, name=ctx.names.make(layer.name))
    return BuildResult(outputs=(cat(inputs),))
