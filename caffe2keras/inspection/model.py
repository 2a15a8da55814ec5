"""What ``inspect`` found: one row per Caffe layer plus the net-level facts, as JSON-ready data."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from caffe2keras.inspection.hints import Hint
from caffe2keras.ir.counts import NetCounts

SCHEMA_VERSION = 1

# What happens to a Caffe layer on the way to Keras.
ROLES = ("converted", "fused", "absorbed", "removed", "unsupported")


@dataclass(frozen=True)
class LayerRow:
    """One Caffe layer (in the net state inspected), in prototxt order.

    ``shapes`` are the Caffe shapes of its tops (batch first; None when the type is
    unsupported); ``parameters`` counts the values its learned blobs must hold.
    """

    name: str
    type: str
    bottoms: tuple[str, ...]
    tops: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...] | None
    parameters: int
    role: str
    keras: str
    fused_with: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "bottoms": list(self.bottoms),
            "tops": list(self.tops),
            "shapes": None if self.shapes is None else [list(s) for s in self.shapes],
            "parameters": self.parameters,
            "role": self.role,
            "keras": self.keras,
            "fused_with": list(self.fused_with),
        }


@dataclass(frozen=True)
class Inspection:
    """The whole answer of ``inspect``."""

    net: str
    prototxt: str
    caffemodel: str | None
    inputs: tuple[tuple[str, tuple[int, ...]], ...]
    outputs: tuple[str, ...]
    layers: tuple[LayerRow, ...]
    unsupported: dict[str, tuple[str, ...]]
    hints: tuple[Hint, ...]
    notes: tuple[str, ...]
    # unsupported type -> where the prototxt uses it and the nearest known type (text only)
    unsupported_details: dict[str, str] = field(default_factory=dict)
    counts: NetCounts | None = None  # None when some type is unsupported (nothing inferred)
    # input -> layout kind (caffe2keras.layout) when not Caffe's: recurrent inputs (text only)
    layouts: dict[str, str] = field(default_factory=dict)
    # layers whose TFLite export needs TensorFlow ops (caffe2keras.export.select_ops)
    select_tf_ops: tuple[dict[str, Any], ...] = ()

    @property
    def exit_code(self) -> int:
        """0, or 4 (like ``convert``) when some layer type is unsupported."""
        return 4 if self.unsupported else 0

    def totals(self) -> dict[str, Any]:
        roles = Counter(row.role for row in self.layers)
        return {
            "layers": len(self.layers),
            "parameters": sum(row.parameters for row in self.layers),
            "by_type": dict(sorted(Counter(row.type for row in self.layers).items())),
            "by_role": {role: roles.get(role, 0) for role in ROLES},
            "fusions": sum(1 for row in self.layers if row.role == "fused"),
            **self._counts(),
        }

    def _counts(self) -> dict[str, int]:
        """The numbers convert and verify print too (:mod:`caffe2keras.ir.counts`)."""
        c = self.counts
        if c is None:
            return {}
        return {"converter_nodes": c.nodes, "blobs": c.blobs, "bn_factors": c.bn_factors}

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document (schema: ``caffe2keras/inspection/inspect.schema.json``)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "net": self.net,
            "prototxt": self.prototxt,
            "caffemodel": self.caffemodel,
            "inputs": [{"name": n, "shape": list(s)} for n, s in self.inputs],
            "outputs": list(self.outputs),
            "layers": [row.to_dict() for row in self.layers],
            "totals": self.totals(),
            "unsupported": {t: list(names) for t, names in self.unsupported.items()},
            "preprocessing": [hint.to_dict() for hint in self.hints],
            "notes": list(self.notes),
            "select_tf_ops": list(self.select_tf_ops),
        }
