"""Second opinions: another engine's blobs compared with the numpy reference.

A second opinion (OpenCV's dnn module, pycaffe) runs the same net on the same inputs; each blob it
can show is compared with the numpy reference's value of that blob, with the numbers and the
tolerance the Keras comparison uses. It is advice beside the verdict: the exit code is the numpy
reference's alone (an engine's known gaps, version quirks or crashes must not fail a CI job that
converted correctly).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from caffe2keras.ir.graph import Graph
from caffe2keras.verify.compare import BlobComparison, Tolerance, compare_blob

ENGINES = ("opencv", "caffe")


@dataclass(frozen=True)
class EngineRun:
    """What an engine produced: blob values by reference-graph blob name, or an error."""

    engine: str  # "OpenCV 4.14.0 dnn", ...
    blobs: dict[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    gaps: dict[str, str] = field(default_factory=dict)  # blob -> a known gap of the engine
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class SecondOpinion:
    """One engine's rows (engine vs numpy reference, topological order) and what to know."""

    name: str  # "opencv" | "caffe"
    engine: str
    rows: tuple[BlobComparison, ...]
    gaps: dict[str, str]
    notes: tuple[str, ...]
    error: str | None
    seconds: float

    @cached_property
    def _rel(self) -> dict[str, float]:
        return {row.blob: row.max_rel for row in self.rows}

    def rel(self, blob: str) -> float | None:
        """This engine's relative error on ``blob`` (None when it has no value for it)."""
        return self._rel.get(blob)

    @property
    def max_rel(self) -> float:
        """The worst relative error away from the engine's known gaps."""
        return max((r.max_rel for r in self.rows if r.blob not in self.gaps), default=0.0)

    def summary(self) -> str:
        """One line for the terminal and Markdown reports."""
        if self.error is not None:
            return f"second opinion {self.name} ({self.engine}): could not run: {self.error}"
        failed = sum(not r.passed for r in self.rows if r.blob not in self.gaps)
        text = (
            f"second opinion {self.name} ({self.engine}): {len(self.rows)} blobs vs the numpy "
            f"reference, worst relative error {self.max_rel:.3g}"
        )
        if failed:
            text += f", {failed} beyond tolerance"
        if self.gaps:
            roots = [f"'{b}': {why}" for b, why in self.gaps.items() if "known gap:" in why]
            text += (
                f"; {len(self.gaps)} blobs at or after known gaps of the engine not counted "
                f"({'; '.join(roots[:3])}{' ...' if len(roots) > 3 else ''})"
            )
        return "; ".join((text, *self.notes))

    def to_dict(self) -> dict[str, Any]:
        """The ``second_opinions.<name>`` section of the JSON report."""
        outputs = [r for r in self.rows if r.is_output and r.blob not in self.gaps]
        return {
            "engine": self.engine,
            "error": self.error,
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
            "blobs_compared": len(self.rows),
            "max_rel_error": self.max_rel,
            "max_rel_error_outputs": max((r.max_rel for r in outputs), default=0.0),
            "blobs": [
                {**asdict(r), "shape": list(r.shape), "known_gap": self.gaps.get(r.blob)}
                for r in self.rows
            ],
        }


def downstream(graph: Graph, blobs: Mapping[str, str]) -> dict[str, str]:
    """``blobs`` (blob -> reason) plus every blob computed from them, marked as after the gap."""
    out = dict(blobs)
    for layer in graph.layers:
        hit = next((b for b in layer.bottoms if b in out), None)
        if hit is None:
            continue
        for top in layer.tops:
            out.setdefault(top, f"after a known gap at '{hit}'")
    return out


def compare_engine(
    name: str,
    run: EngineRun,
    ref: Mapping[str, np.ndarray],
    graph: Graph,
    tolerance: Tolerance,
    noise: Mapping[str, float],
) -> SecondOpinion:
    """Compare an engine's blobs with the numpy reference, in the graph's topological order
    (inputs are not compared: every engine is fed the same arrays)."""
    rows = []
    for layer in graph.layers:
        for blob in layer.tops:
            if blob not in run.blobs or blob not in ref:
                continue
            value = np.asarray(run.blobs[blob])
            want = np.shape(ref[blob])
            if value.shape != want and value.size == int(np.prod(want)):
                value = value.reshape(want)  # e.g. (N, K, 1, 1) for Caffe's (N, K)
            rows.append(
                compare_blob(
                    blob,
                    "+".join(layer.sources),
                    layer.type,
                    value,
                    ref[blob],
                    tolerance,
                    blob in graph.outputs,
                    noise.get(blob, 0.0),
                )
            )
    return SecondOpinion(
        name=name,
        engine=run.engine,
        rows=tuple(rows),
        gaps=dict(run.gaps),
        notes=run.notes,
        error=run.error,
        seconds=run.seconds,
    )


# An engine runner: inputs (NCHW, by Caffe input name) -> what the engine computed.
EngineRunner = Callable[[Mapping[str, np.ndarray]], EngineRun]
