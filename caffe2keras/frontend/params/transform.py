"""Data preprocessing recorded in a layer's ``transform_param`` (Caffe's data_transformer.cpp).

Not a per-type parser: any layer may carry ``transform_param`` (data layers do). The converter
never applies it (a converted model takes already-preprocessed input, as Caffe's net does); it is
reported by ``inspect`` and recorded in manifests so users preprocess the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TransformParams:
    """The fields a user must reproduce; only fields set in the prototxt are kept in ``fields``.

    Caffe applies, per pixel: ``(value - mean) * scale`` after cropping to ``crop_size``, where
    the mean is ``mean_file`` (a BlobProto image) or ``mean_value`` (one per channel, or one for
    all), and ``mirror`` flips at random during training only.
    """

    layer: str
    fields: tuple[tuple[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.fields)


_FIELDS = ("scale", "mean_value", "mean_file", "crop_size", "mirror", "force_color", "force_gray")


def parse_transform(layer_pb: Any) -> TransformParams | None:
    """The layer's ``transform_param`` (fields explicitly set), or None when it has none."""
    if not layer_pb.HasField("transform_param"):
        return None
    tp = layer_pb.transform_param
    found: list[tuple[str, Any]] = []
    for name in _FIELDS:
        if name == "mean_value":
            if tp.mean_value:
                found.append((name, [float(v) for v in tp.mean_value]))
        elif tp.HasField(name):
            value = getattr(tp, name)
            found.append((name, value if isinstance(value, (bool, str)) else float(value)))
    fixed = [(k, int(v)) if k == "crop_size" else (k, v) for k, v in found]
    return TransformParams(layer=layer_pb.name, fields=tuple(fixed))
