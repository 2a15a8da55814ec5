"""Layers the passes remove before anything is built: Split, Dropout (an identity at test time)
and Silence. They have params, shape rules and reference ops, and no builder."""

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
    describe,
)

no_params("Split", "Silence")


@dataclass(frozen=True)
class DropoutParams:
    """BVLC's Dropout is an identity at test time (dropout_layer.cpp copies the bottom)."""

    ratio: float


@param_parser("Dropout")
def parse_dropout(layer_pb: Any) -> DropoutParams:
    p = layer_pb.dropout_param
    require(
        0.0 <= p.dropout_ratio < 1.0,
        layer_pb,
        "dropout_ratio",
        f"must be in [0, 1), got {p.dropout_ratio}",
    )
    return DropoutParams(ratio=float(p.dropout_ratio))


shape_rule("Dropout", "Split")(same_as_bottom)


@shape_rule("Silence")
def silence_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """Silence consumes its bottoms and has no tops (removed by a pass before building)."""
    return LayerShapes(tops=())


describe("Dropout", emits="nothing (identity at test time)", notes="removed")
describe("Split", emits="nothing (its consumers read the bottom)", notes="removed")
describe("Silence", emits="nothing (consumes blobs, computes nothing)", notes="removed")
