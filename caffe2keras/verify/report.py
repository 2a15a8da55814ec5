"""The equivalence report: owns the verdict and the exit code, renders text, JSON and Markdown."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from caffe2keras.errors import EXIT_MISMATCH, EXIT_OK
from caffe2keras.ir.counts import blobs_text
from caffe2keras.verify.compare import BlobComparison, Tolerance, culprit
from caffe2keras.verify.report_md import export_section, summary_block
from caffe2keras.verify.second import SecondOpinion

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Report:
    """Everything a verification found. ``rows`` are in topological order."""

    model: str
    rows: tuple[BlobComparison, ...]
    tolerance: Tolerance
    inputs: dict[str, Any]  # how the inputs were made (source, seed, shapes, preprocessing)
    reference: str  # "numpy-float64", ...
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    second_opinions: tuple[SecondOpinion, ...] = ()  # advice only: never part of the verdict

    @property
    def passed(self) -> bool:
        """Every blob within tolerance, and every exported artifact too (``export`` section)."""
        exports = self.extra.get("export", ())
        return (
            bool(self.rows)
            and all(row.passed for row in self.rows)
            and all(e["passed"] for e in exports)
        )

    @property
    def culprit(self) -> BlobComparison | None:
        return culprit(self.rows)

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.passed else EXIT_MISMATCH

    def worst(self, n: int = 10) -> list[BlobComparison]:
        """The ``n`` blobs with the largest relative error, worst first."""
        return sorted(self.rows, key=lambda r: -r.max_rel)[:n]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (schema in the README, version ``schema_version``)."""
        bad = self.culprit
        outputs = [r for r in self.rows if r.is_output]
        return {
            "schema_version": SCHEMA_VERSION,
            "model": self.model,
            "passed": self.passed,
            "exit_code": self.exit_code,
            "tolerance": asdict(self.tolerance),
            "reference": self.reference,
            "inputs": self.inputs,
            "seconds": round(self.seconds, 3),
            "summary": {
                "blobs_compared": len(self.rows),
                "blobs_failed": sum(not r.passed for r in self.rows),
                "max_rel_error": max((r.max_rel for r in self.rows), default=0.0),
                "max_rel_error_outputs": max((r.max_rel for r in outputs), default=0.0),
            },
            "culprit": None if bad is None else _row(bad),
            "blobs": [_row(r) for r in self.rows],
            "second_opinions": {op.name: op.to_dict() for op in self.second_opinions},
            **self.extra,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=False, allow_nan=True)

    def to_markdown(self) -> str:
        """A Markdown summary block, then the table (worst blobs first), for CI artifacts."""
        verdict = "PASSED" if self.passed else "FAILED"
        doc = self.to_dict()
        lines = [f"## caffe2keras verification of `{self.model}`: **{verdict}**", ""]
        lines += [*summary_block(doc), ""]
        lines.append(
            f"Tolerance per blob: max abs error <= {self.tolerance.atol:g} + "
            f"max({self.tolerance.rtol:g}, {self.tolerance.noise_factor:g} x float32 noise) "
            f"x max|reference|. Reference: {self.reference}."
        )
        lines += [
            "",
            "| blob | layer | type | shape | max abs | max rel | allowed | cosine | top-1 | ok |"
            + "".join(f" {op.name} rel |" for op in self.second_opinions),
            "|---|---|---|---|---:|---:|---:|---:|---:|:-:|" + "---:|" * len(self.second_opinions),
        ]
        for r in self.worst(len(self.rows)):
            top1 = "" if r.top1 is None else f"{r.top1:.2f}"
            lines.append(
                f"| `{r.blob}` | `{r.layer}` | {r.layer_type} | {list(r.shape)} | "
                f"{r.max_abs:.3g} | {r.max_rel:.3g} | {r.allowed_rel:.3g} | "
                f"{r.cosine:.8f} | {top1} | "
                f"{'yes' if r.passed else '**no**'} |"
                + "".join(f" {_opinion_cell(op, r.blob)} |" for op in self.second_opinions)
            )
        if self.second_opinions:
            lines.append("")
            lines += [f"- {op.summary()}" for op in self.second_opinions]
        lines += export_section(doc)
        return "\n".join(lines) + "\n"

    def _shown_text(self, shown: int) -> str:
        if shown == len(self.rows):
            return f"all {shown} blobs, worst first"
        return f"the {shown} worst of {len(self.rows)} blobs (all of them in --report/--report-md)"

    def _compared_text(self) -> str:
        """'427 blobs (the 1 input and the tops of the 426 converter nodes)': the same words as
        ``inspect`` and ``convert`` (caffe2keras.ir.counts)."""
        inputs = sum(1 for r in self.rows if r.layer_type == "Input")
        nodes = len({r.layer for r in self.rows if r.layer_type != "Input"})
        return blobs_text(len(self.rows), inputs, nodes)

    def to_text(self, limit: int = 12) -> str:
        """A terminal table of the worst blobs, the culprit marked."""
        bad = self.culprit
        head = (
            f"{'blob':32s} {'layer type':16s} {'max abs':>10s} {'max rel':>10s} "
            f"{'allowed':>9s} {'cosine':>12s}"
            + "".join(f" {op.name + ' rel':>11s}" for op in self.second_opinions)
        )
        shown = self.worst(limit)
        lines = [f"{self._shown_text(len(shown))}:", head, "-" * len(head)]
        for r in shown:
            mark = "  <-- first failure" if bad is not None and r.blob == bad.blob else ""
            flag = "" if r.passed else " FAIL"
            lines.append(
                f"{r.blob[:32]:32s} {r.layer_type[:16]:16s} {r.max_abs:10.3g} "
                f"{r.max_rel:10.3g} {r.allowed_rel:9.2g} {r.cosine:12.9f}"
                + "".join(f" {_opinion_cell(op, r.blob):>11s}" for op in self.second_opinions)
                + f"{flag}{mark}"
            )
        outs = [r for r in self.rows if r.is_output]
        for r in outs:
            if r.top1 is not None:
                top5 = "" if r.top5 is None else f", top-5 agreement {r.top5:.2f}"
                lines.append(f"output {r.blob}: top-1 agreement {r.top1:.2f}{top5}")
        for r in self.rows:
            if r.rows_matched_own_inputs is not None and r.rows_matched is not None:
                lines.append(
                    f"detections {r.blob}: {r.rows_matched_own_inputs:.1%} of rows match the "
                    f"reference layer on Keras' own inputs (required "
                    f"{self.tolerance.detection_rows:.0%}); {r.rows_matched:.1%} match the "
                    "reference's whole forward pass (deep SSDs are ill-conditioned there)"
                )
            elif r.rows_matched is not None:
                lines.append(
                    f"detections {r.blob}: {r.rows_matched:.1%} of rows match one to one "
                    f"(required {self.tolerance.detection_rows:.0%})"
                )
        verdict = "EQUIVALENT" if self.passed else "NOT EQUIVALENT"
        lines.append(
            f"{verdict}: {self._compared_text()} compared against {self.reference}, "
            f"worst relative error {max((r.max_rel for r in self.rows), default=0):.3g} "
            f"(rtol={self.tolerance.rtol:g}, atol={self.tolerance.atol:g}, "
            f"noise factor {self.tolerance.noise_factor:g}), "
            f"{self.seconds:.1f} s"
        )
        if bad is not None:
            lines.append(
                f"likely culprit: layer '{bad.layer}' ({bad.layer_type}) -> blob "
                f"'{bad.blob}', relative error {bad.max_rel:.3g}"
            )
        lines += [op.summary() + " (advice only)" for op in self.second_opinions]
        return "\n".join(lines)


def _opinion_cell(op: SecondOpinion, blob: str) -> str:
    """A second opinion's relative error on ``blob``: a number, 'gap' or '-' (not compared)."""
    rel = op.rel(blob)
    if rel is None:
        return "-"
    return f"{rel:.2g} gap" if blob in op.gaps else f"{rel:.3g}"


def _row(r: BlobComparison) -> dict[str, Any]:
    d = asdict(r)
    d["shape"] = list(r.shape)
    return d
