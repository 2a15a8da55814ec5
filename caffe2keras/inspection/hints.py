"""Preprocessing hints: ``transform_param`` blocks and preprocessing values left in comments.

Deploy prototxts usually drop their data layers, and with them the preprocessing; authors often
keep it as a comment (shicai's MobileNet: ``#  transform_param { scale: 0.017 ... }``). The
converter never applies preprocessing; these hints tell the user what the original net expects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from caffe2keras.frontend.fasttext import comment_start
from caffe2keras.frontend.params.transform import parse_transform

_KEYS = (
    "mean_value",
    "mean_file",
    "mean",
    "scale",
    "input_scale",
    "raw_scale",
    "crop_size",
    "channel_swap",
    "mirror",
    "std",
)
_VALUE = r"(\[[^\]]*\]|\([^)]*\)|\"[^\"]*\"|'[^']*'|true|false|[-+]?[0-9][-+0-9.eE]*)"
_PATTERN = re.compile(rf"\b({'|'.join(_KEYS)})\s*[:=]\s*{_VALUE}", re.IGNORECASE)


@dataclass(frozen=True)
class Hint:
    """One preprocessing value: where it was found and what it says."""

    source: str  # "transform_param" | "comment"
    where: str  # layer name, or "line N"
    key: str
    value: Any

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "where": self.where, "key": self.key, "value": self.value}


def _comment(line: str) -> str | None:
    """The comment part of a prototxt line ('#' outside a quoted string), or None."""
    start = comment_start(line)
    return None if start is None else line[start + 1 :]


def _value(text: str) -> Any:
    text = text.strip()
    if text[0] in "\"'":
        return text[1:-1]
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    numbers = [t for t in re.split(r"[\s,\[\]()]+", text) if t]
    try:
        values = [float(t) for t in numbers]
    except ValueError:
        return text
    return values if text[0] in "[(" or len(values) != 1 else values[0]


def comment_hints(text: str) -> list[Hint]:
    """Preprocessing keys with values found in comments; repeated ``mean_value`` lines merge."""
    hints: list[Hint] = []
    for number, line in enumerate(text.splitlines(), start=1):
        comment = _comment(line)
        if comment is None:
            continue
        for match in _PATTERN.finditer(comment):
            key, value = match.group(1).lower(), _value(match.group(2))
            last = hints[-1] if hints else None
            if key == "mean_value" and last is not None and last.key == key:
                merged = [*_as_list(last.value), *_as_list(value)]
                hints[-1] = Hint("comment", last.where, key, merged)
                continue
            hints.append(Hint("comment", f"line {number}", key, value))
    return hints


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def transform_hints(layers_pb: Iterable[Any]) -> list[Hint]:
    """Every field set in a layer's ``transform_param``."""
    hints = []
    for layer_pb in layers_pb:
        params = parse_transform(layer_pb)
        if params is not None:
            hints += [Hint("transform_param", params.layer, k, v) for k, v in params.fields]
    return hints


def preprocessing_hints(net_pb: Any, text: str) -> list[Hint]:
    """All hints of a parsed net (V2 form) and its prototxt text, transform_param first."""
    return transform_hints(net_pb.layer) + comment_hints(text)
