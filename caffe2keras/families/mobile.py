"""brocolli-caffe's mobile-network layers: HardSwish and HardSigmoid (MobileNetV3's gates) and
PixelShuffle (sub-pixel upsampling): params, shapes and builders, from standard Keras layers.

- HardSwish (``hardswish_layer.cpp``): x * min(max(x / 6 + 0.5, 0), 1), no params.
- HardSigmoid (``hardsigmoid_layer.cpp``): min(max(x * alpha + beta, 0), 1), alpha 0.2 and
  beta 0.5 by default.
- PixelShuffle (``pixelshuffle_layer.cpp``): top (n, p, i * r + sh, j * r + sw) = bottom
  (n, p * r * r + sh * r + sw, i, j): PyTorch's channel order (the output channel is the slowest
  of the three), not TensorFlow's depth_to_space (where it is the fastest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.frontend.params.registry import no_params, param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.geometry import need_4d
from caffe2keras.ir.shapes.registry import LayerShapes, same_as_bottom, shape_rule
from caffe2keras.keras_model.registry import BuildContext, BuildResult, builder

ORIGIN = "brocolli-caffe (inisis/caffe)"

no_params("HardSwish")


@dataclass(frozen=True)
class HardSigmoidParams:
    alpha: float
    beta: float


@dataclass(frozen=True)
class PixelShuffleParams:
    upscale_factor: int


@param_parser("HardSigmoid")
def parse_hardsigmoid(layer_pb: Any) -> HardSigmoidParams:
    p = layer_pb.hardsigmoid_param
    return HardSigmoidParams(alpha=float(p.alpha), beta=float(p.beta))


@param_parser("PixelShuffle")
def parse_pixelshuffle(layer_pb: Any) -> PixelShuffleParams:
    p = layer_pb.pixelshuffle_param
    require(
        p.HasField("upscale_factor"),
        layer_pb,
        "upscale_factor",
        "PixelShuffle needs 'upscale_factor' (required in brocolli-caffe)",
    )
    r = int(p.upscale_factor)
    require(r > 0, layer_pb, "upscale_factor", f"upscale_factor must be positive, got {r}")
    return PixelShuffleParams(upscale_factor=r)


shape_rule("HardSwish", "HardSigmoid")(same_as_bottom)


@shape_rule("PixelShuffle")
def pixelshuffle_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """``pixelshuffle_layer.cpp`` Reshape: C / r**2 channels, H * r rows, W * r columns. Caffe
    checks only C % r == 0 and then silently drops the last C % r**2 channels: refused."""
    shape = bottoms[0]
    need_4d(layer, shape)
    n, c, h, w = shape
    r = layer.params.upscale_factor
    if c % r:
        raise ValidationError(
            f"{c} channels are not a multiple of upscale_factor {r} (Caffe's check)",
            layer=layer.name,
            field="upscale_factor",
        )
    if c % (r * r):
        raise UnsupportedParameterError(
            f"{c} channels are not a multiple of upscale_factor**2 = {r * r}: Caffe would drop "
            f"the last {c % (r * r)} channels",
            layer=layer.name,
            field="upscale_factor",
        )
    return LayerShapes(tops=((n, c // (r * r), h * r, w * r),))


def _one(y: Any) -> BuildResult:
    return BuildResult(outputs=(y,))


@builder(
    "HardSwish",
    emits="Rescaling(1/6, offset 0.5) + ReLU(max_value=1) + Multiply",
    notes="x * clip(x / 6 + 0.5, 0, 1) (brocolli's form; x / 6 as x * (1/6): within 1 ulp)",
    origin=ORIGIN,
)
def build_hardswish(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    import keras

    x = inputs[0]
    gate = keras.layers.Rescaling(1.0 / 6.0, offset=0.5, name=ctx.names.make(layer.name, "affine"))(
        x
    )
    gate = keras.layers.ReLU(max_value=1.0, name=ctx.names.make(layer.name, "gate"))(gate)
    return _one(keras.layers.Multiply(name=ctx.names.make(layer.name))([x, gate]))


@builder(
    "HardSigmoid",
    emits="Rescaling(alpha, offset beta) + ReLU(max_value=1)",
    notes="`alpha`, `beta`",
    origin=ORIGIN,
)
def build_hardsigmoid(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """x * alpha, then + beta (Rescaling rounds in Caffe's order), then clipped to [0, 1]."""
    import keras

    p = layer.params
    y = keras.layers.Rescaling(p.alpha, offset=p.beta, name=ctx.names.make(layer.name, "affine"))(
        inputs[0]
    )
    return _one(keras.layers.ReLU(max_value=1.0, name=ctx.names.make(layer.name))(y))


@builder(
    "PixelShuffle",
    emits="Reshape + Permute + Reshape",
    notes="`upscale_factor`; PyTorch's channel order (c, sh, sw)",
    origin=ORIGIN,
)
def build_pixelshuffle(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """NHWC channel q = p * r * r + sh * r + sw: split it into (p, sh, sw), move sh next to H
    and sw next to W, merge."""
    import keras

    _, c, h, w = ctx.bottom_shapes(layer)[0]
    r = layer.params.upscale_factor
    out_c = c // (r * r)
    y = keras.layers.Reshape((h, w, out_c, r, r), name=ctx.names.make(layer.name, "split"))(
        inputs[0]
    )
    y = keras.layers.Permute((1, 4, 2, 5, 3), name=ctx.names.make(layer.name, "interleave"))(y)
    return _one(keras.layers.Reshape((h * r, w * r, out_c), name=ctx.names.make(layer.name))(y))
