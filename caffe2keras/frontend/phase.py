"""Which layers a net state keeps: Caffe's include/exclude rules (``net.cpp``: FilterNet and
StateMeetsRule), training-only layers, and data layers that only a stage rule excludes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from caffe2keras.errors import ValidationError
from caffe2keras.families.io import DATA_LAYER_TYPES

# Layers that only matter for training: dropped, with a note.
TRAINING_ONLY_SUFFIXES = ("Loss", "Accuracy")


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


def including_stages(layer_pb: Any, state: NetState) -> tuple[str, ...] | None:
    """The stages of the first include rule that would keep the layer in this phase and level,
    were exactly those stages given; None if stages alone cannot include it."""
    for rule in layer_pb.include:
        stages = tuple(rule.stage)
        if _meets(replace(state, stages=stages), rule):
            return stages
    return None


def rule_stages(layers: Iterable[Any]) -> tuple[str, ...]:
    """Every stage name the layers' include/exclude rules mention, sorted."""
    found = {
        stage
        for layer_pb in layers
        for rule in (*layer_pb.include, *layer_pb.exclude)
        for stage in (*rule.stage, *rule.not_stage)
    }
    return tuple(sorted(found))


def describe(state: NetState) -> str:
    """The state as a user would type it."""
    stages = ", ".join(f"'{s}'" for s in state.stages) or "none"
    return f"phase {state.phase}, stages {stages}"


@dataclass(frozen=True)
class Selection:
    """The layers a state keeps (indices into the net's layers, in file order) and notes."""

    indices: tuple[int, ...]
    notes: tuple[str, ...]


def select_layers(layers: Sequence[Any], state: NetState, declared: Iterable[str]) -> Selection:
    """Caffe's FilterNet, then: training-only layers (losses, accuracy) dropped with a note; with
    no stage given, a data layer that only a stage rule excludes still supplies its blob (its
    source does not matter for a conversion); a blob whose writers are all left out is an error
    that names them and the stages the net's rules use."""
    notes: list[str] = []
    kept: list[int] = []
    for i, layer_pb in enumerate(layers):
        if not layer_included(layer_pb, state):
            continue
        if layer_pb.type.endswith(TRAINING_ONLY_SUFFIXES):
            notes.append(f"dropped training-only layer '{layer_pb.name}' ({layer_pb.type})")
        else:
            kept.append(i)
    if not state.stages:
        extra, stage_notes = _stage_sources(layers, kept, state, set(declared))
        kept = sorted(kept + extra)
        notes += stage_notes
    _check_writers(layers, kept, state, set(declared))
    return Selection(indices=tuple(kept), notes=tuple(notes))


def _unwritten(layers: Sequence[Any], kept: list[int], declared: set[str]) -> list[tuple[Any, str]]:
    """(kept layer, bottom) pairs whose bottom no kept layer or net input provides."""
    written = declared | {top for i in kept for top in layers[i].top}
    return [(layers[i], b) for i in kept for b in layers[i].bottom if b not in written]


def _stage_sources(
    layers: Sequence[Any], kept: list[int], state: NetState, declared: set[str]
) -> tuple[list[int], list[str]]:
    extra: list[int] = []
    notes: list[str] = []
    for _, blob in _unwritten(layers, kept + extra, declared):
        if any(blob in layers[j].top for j in extra):
            continue
        candidates = [
            (j, stages)
            for j, layer_pb in enumerate(layers)
            if j not in kept
            and layer_pb.type in DATA_LAYER_TYPES
            and blob in layer_pb.top
            and (stages := including_stages(layer_pb, state)) is not None
        ]
        if not candidates:
            continue
        (j, stages), others = candidates[0], candidates[1:]
        extra.append(j)
        note = (
            f"no --stage given: input '{blob}' comes from data layer '{layers[j].name}' "
            f"({layers[j].type}), which the prototxt includes with {_stage_flags(stages)}"
        )
        if others:
            alts = ", ".join(f"'{layers[k].name}' with {_stage_flags(s)}" for k, s in others)
            note += f" (alternatives that only read other data: {alts})"
        notes.append(note)
    return extra, notes


def _stage_flags(stages: tuple[str, ...]) -> str:
    return " ".join(f"--stage {s}" for s in stages) or "no stage"


def _describe_rules(layer_pb: Any) -> str:
    """``'name' (Type, include { phase: TEST stage: "x" })`` for messages."""
    from google.protobuf import text_format

    rules = [
        f"{kind} {{ {text_format.MessageToString(rule, as_one_line=True)} }}"
        for kind, found in (("include", layer_pb.include), ("exclude", layer_pb.exclude))
        for rule in found
    ]
    if layer_pb.type.endswith(TRAINING_ONLY_SUFFIXES):
        rules.append("training-only")
    return f"'{layer_pb.name}' ({', '.join([layer_pb.type, *rules])})"


def _check_writers(
    layers: Sequence[Any], kept: list[int], state: NetState, declared: set[str]
) -> None:
    kept_set = set(kept)
    for layer_pb, blob in _unwritten(layers, kept, declared):
        writers = [w for j, w in enumerate(layers) if j not in kept_set and blob in w.top]
        if not writers:
            continue  # nobody writes it: the graph checker reports the missing bottom
        described = "; ".join(_describe_rules(w) for w in writers)
        stages = rule_stages(layers)
        hint = (
            f"the net's rules use the stages {', '.join(repr(s) for s in stages)}: choose with "
            "--stage (repeatable) or --phase"
            if stages
            else "choose another --phase"
        )
        raise ValidationError(
            f"reads '{blob}', but every layer that writes it is left out in {describe(state)} "
            f"({described}); {hint}",
            layer=layer_pb.name,
            field="bottom",
        )
