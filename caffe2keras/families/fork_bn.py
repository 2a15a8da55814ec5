"""The forks' ``BN`` layer (one type name, two layer families): params, shapes and the builder.

- yjxiong/caffe and hszhao/PSPNet (``bn_layer.cpp``): blobs slope, bias, mean, variance (yjxiong
  stores them (1, C), PSPNet (1, C, 1, 1)); with the stored statistics (TEST phase or ``frozen``)
  ``y = slope * (x - mean) / sqrt(variance + eps) + bias``, ``eps`` from ``bn_param`` (1e-5).
- SegNet/ENet (alexgkendall/caffe-segnet ``bn_layer.cpp``): blobs scale, shift (1, C, 1, 1);
  ``bn_mode: INFERENCE`` computes ``y = scale * x + shift`` (the statistics were folded into them
  by SegNet's ``compute_bn_statistics.py``); ``LEARN``, the default, normalises with the batch's
  own statistics even at test time, which a converted model cannot do: refused.

The two are told apart by the ``bn_param`` fields each fork defines and by the caffemodel's blob
count (:mod:`caffe2keras.passes.fork_bn` settles ``variant`` and refuses contradictions). Both
become one Keras ``BatchNormalization``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.families.batchnorm import affine_batch_norm, channel_axis
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import LayerShapes, shape_rule
from caffe2keras.keras_model.registry import BuildContext, BuildResult, builder

YJXIONG = "yjxiong"  # yjxiong/caffe, hszhao/PSPNet: slope, bias, mean, variance
SEGNET = "segnet"  # alexgkendall/caffe-segnet: scale, shift
# The bn_param fields only one of the forks defines (both share none).
YJXIONG_FIELDS = ("slope_filler", "bias_filler", "momentum", "eps", "frozen", "engine")
SEGNET_FIELDS = ("bn_mode", "scale_filler", "shift_filler")
BLOB_NAMES = {YJXIONG: "slope, bias, mean, variance", SEGNET: "scale, shift"}
FORK_NAMES = {YJXIONG: "yjxiong/caffe or PSPNet", SEGNET: "SegNet"}


@dataclass(frozen=True)
class BNParams:
    """``variant``: YJXIONG, SEGNET, or "" while only the caffemodel can tell (no fork-specific
    field set). ``fields``: the fork-specific fields the prototxt sets. ``test_phase``: the net's
    phase is TEST (set by the loader; yjxiong's layer then uses the stored statistics)."""

    variant: str
    fields: tuple[str, ...]
    eps: float
    frozen: bool
    learn: bool  # SegNet bn_mode LEARN (its default)
    test_phase: bool = True


@param_parser("BN")
def parse_bn(layer_pb: Any) -> BNParams:
    p = layer_pb.bn_param
    yj = tuple(f for f in YJXIONG_FIELDS if p.HasField(f))
    seg = tuple(f for f in SEGNET_FIELDS if p.HasField(f))
    if yj and seg:
        raise ValidationError(
            f"bn_param mixes yjxiong/PSPNet's fields ({', '.join(yj)}) with SegNet's "
            f"({', '.join(seg)}): no fork's BN has both",
            layer=layer_pb.name,
            field=seg[0],
        )
    require(p.eps >= 0, layer_pb, "eps", f"must be >= 0, got {p.eps}")
    variant = YJXIONG if yj else SEGNET if seg else ""
    learn = p.bn_mode == p.LEARN
    return BNParams(variant, yj or seg, float(p.eps), bool(p.frozen), learn)


def resolved_variant(params: BNParams) -> str:
    """The variant once the caffemodel has spoken; yjxiong's without any evidence (no fields, no
    caffemodel), as its ``bn_param`` defaults need no field to be set."""
    return params.variant or YJXIONG


@shape_rule("BN")
def bn_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    shape = bottoms[0]
    if len(shape) < 2:
        raise ValidationError(
            f"needs a channel axis, got a {len(shape)}-D bottom", layer=layer.name, field="bottom"
        )
    count = 4 if resolved_variant(layer.params) == YJXIONG else 2
    return LayerShapes(tops=(shape,), blobs=((1, shape[1], 1, 1),) * count)


def refusal(layer: Layer) -> UnsupportedParameterError | None:
    """Why the layer normalises with batch statistics at test time, if it does."""
    params: BNParams = layer.params
    if resolved_variant(params) == SEGNET and params.learn:
        return UnsupportedParameterError(
            "bn_mode LEARN (SegNet's default) normalises with the statistics of each batch, at "
            "test time too; a converted model cannot reproduce that. Fold the statistics into "
            "scale/shift (SegNet's compute_bn_statistics.py) and set bn_mode: INFERENCE",
            layer=layer.name,
            field="bn_mode",
        )
    if resolved_variant(params) == YJXIONG and not (params.frozen or params.test_phase):
        return UnsupportedParameterError(
            "in the TRAIN phase a BN that is not frozen normalises with the statistics of each "
            "batch; a converted model cannot reproduce that (convert the TEST phase)",
            layer=layer.name,
            field="frozen",
        )
    return None


@builder(
    "BN",
    emits="BatchNormalization",
    notes="yjxiong/PSPNet (slope, bias, mean, variance; `eps`) or SegNet `bn_mode: INFERENCE` "
    "(scale, shift); SegNet's LEARN refused",
    origin="yjxiong/caffe, PSPNet, SegNet",
)
def build_bn(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """yjxiong/PSPNet: BatchNormalization(epsilon=eps) with gamma = slope, beta = bias and the
    stored mean and variance. SegNet INFERENCE: the exact affine BatchNormalization."""
    import keras

    error = refusal(layer)
    if error is not None:
        raise error
    axis = channel_axis(layer, ctx)
    flat = tuple(b.reshape(-1) for b in layer.blobs)
    if resolved_variant(layer.params) == SEGNET:
        c = ctx.bottom_shapes(layer)[0][1]
        bn, stats = affine_batch_norm(axis, True, True, c, layer, ctx)
        weights = ((bn, (*flat, *stats)),) if flat else ()
        return BuildResult(outputs=(bn(inputs[0]),), weights=weights)
    bn = keras.layers.BatchNormalization(
        axis=axis, epsilon=layer.params.eps, name=ctx.names.make(layer.name)
    )
    return BuildResult(outputs=(bn(inputs[0]),), weights=((bn, flat),) if flat else ())
