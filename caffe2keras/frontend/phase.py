"""Caffe's include/exclude rules (``net.cpp``: FilterNet and StateMeetsRule)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import ValidationError


@dataclass(frozen=True)
class NetState:
    """The state a net is instantiated in: phase, level and stages."""

    phase: str = "TEST"  # "TRAIN" | "TEST"
    level: int = 0
    stages: tuple[str, ...] = ()


def _meets(state: NetState, rule: Any) -> bool:
    if rule.HasField("phase") and ("TRAIN", "TEST")[rule.phase] != state.phase:
        return False
    if rule.HasField("min_level") and state.level < rule.min_level:
        return False
    if rule.HasField("max_level") and state.level > rule.max_level:
        return False
    if any(stage not in state.stages for stage in rule.stage):
        return False
    return not any(stage in state.stages for stage in rule.not_stage)


def layer_included(layer_pb: Any, state: NetState) -> bool:
    """Whether Caffe keeps this layer in a net of the given state."""
    if layer_pb.include and layer_pb.exclude:
        raise ValidationError(
            "a layer may specify include or exclude rules, not both",
            layer=layer_pb.name,
            field="include",
        )
    if layer_pb.include:
        return any(_meets(state, rule) for rule in layer_pb.include)
    return not any(_meets(state, rule) for rule in layer_pb.exclude)
