"""``convert-all``: convert and verify a list of models, one combined report, one manifest.

Each model is converted once with verification into its first output; only if that passes are
its other outputs written (verification off: the same graph and weights). A model that fails -
beyond tolerance, unreadable files, unsupported layers, even an internal error - is recorded with
its exit code and message and the batch goes on; the batch's exit code is the largest of them.
Independent models run in warm worker processes with ``jobs > 1`` (spawned: TensorFlow and fork
do not mix; each converts many models, and a model that kills its worker fails alone: see
:mod:`caffe2keras.convert_all.pool`); results are always reported in the list's order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from caffe2keras.convert_all import warm
from caffe2keras.convert_all.config import ModelSpec
from caffe2keras.convert_all.pool import Death
from caffe2keras.convert_all.warm import BatchOptions
from caffe2keras.errors import EXIT_OK, Caffe2KerasError

EXIT_INTERNAL = 70
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ModelOutcome:
    """What happened to one model (picklable: it comes back from worker processes)."""

    name: str
    exit_code: int
    outputs: tuple[str, ...]
    error: str | None = None
    report: dict[str, Any] | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, Any] = field(default_factory=dict, compare=False)  # see timeline

    @property
    def passed(self) -> bool:
        return self.exit_code == EXIT_OK

    @property
    def status(self) -> str:
        if self.passed:
            return "passed"
        return "not equivalent" if self.error is None else "error"


def convert_options(spec: ModelSpec) -> Any:
    """The API options of one model."""
    from caffe2keras.api import ConvertOptions
    from caffe2keras.verify.compare import Tolerance

    o = spec.options
    default = Tolerance()
    tolerance = Tolerance(
        rtol=float(o.get("rtol", default.rtol)),
        atol=float(o.get("atol", default.atol)),
        noise_factor=float(o.get("noise_factor", default.noise_factor)),
        detection_rows=float(o.get("detection_rows", default.detection_rows)),
    )
    return ConvertOptions(
        input_shapes=spec.input_shapes,
        phase=o.get("phase", "TEST"),
        stages=tuple(o.get("stages", ())),
        verify=o.get("verify", True),
        tolerance=tolerance,
        reference_dtype=o.get("reference_dtype", "float64"),
        seed=o.get("seed", 0),
        batch=o.get("batch", 2),
    )


def _convert(spec: ModelSpec) -> ModelOutcome:
    from caffe2keras import api
    from caffe2keras.convert_all.timeline import StepClock
    from caffe2keras.outputs import manifest

    clock = StepClock()
    options = convert_options(spec)
    first, *rest = spec.outputs
    for out in spec.outputs:
        Path(out.path).parent.mkdir(parents=True, exist_ok=True)
    step = replace(options, format=first.format, split_scale=first.split_scale)
    result = api.convert(spec.prototxt, spec.caffemodel, first.path, step, clock)
    written = [first.path] if result.written else []
    if result.written and result.exit_code == EXIT_OK:
        for out in rest:
            more = replace(options, verify=False, format=out.format, split_scale=out.split_scale)
            api.convert(spec.prototxt, spec.caffemodel, out.path, more, clock)
            written.append(out.path)
    report = result.report
    entry = manifest.model_entry(
        spec.name, spec.prototxt, spec.caffemodel, options, written, report
    )
    return ModelOutcome(
        name=spec.name,
        exit_code=result.exit_code,
        outputs=tuple(written),
        report=None if report is None else report.to_dict(),
        manifest=entry,
        timing=clock.record(),
    )


def run_model(spec: ModelSpec) -> ModelOutcome:
    """Convert and verify one model; every failure becomes an outcome, never an exception."""
    try:
        return _convert(spec)
    except Caffe2KerasError as exc:
        return ModelOutcome(spec.name, exc.exit_code, (), error=str(exc))
    except Exception as exc:  # an internal bug: recorded and reported, the batch goes on
        message = f"internal error ({type(exc).__name__}): {exc}"
        return ModelOutcome(spec.name, EXIT_INTERNAL, (), error=message)


def run_all(
    specs: Sequence[ModelSpec],
    jobs: int | BatchOptions = 1,
    task: Callable[[ModelSpec], ModelOutcome] = run_model,
) -> list[ModelOutcome]:
    """Every model's outcome, in the list's order. One job (and one model) runs in this process;
    more run in warm worker processes (:mod:`caffe2keras.convert_all.warm`), as does
    ``process_per_model``. ``task`` is :func:`run_model` (tests substitute one that crashes)."""
    options = jobs if isinstance(jobs, BatchOptions) else BatchOptions(jobs=jobs)
    if not options.process_per_model and (options.jobs <= 1 or len(specs) <= 1):
        return [task(spec) for spec in specs]
    return warm.run_parallel(specs, options, task, worker_died)


def worker_died(spec: ModelSpec, death: Death) -> ModelOutcome:
    """The outcome of a model whose worker process died under it (the internal-error code: a
    crash is never the model files' fault)."""
    message = (
        f"model '{spec.name}' did not finish: {death.describe()}; its outputs from that step "
        "were not written, and the other models went on in a new worker"
    )
    return ModelOutcome(spec.name, EXIT_INTERNAL, (), error=message)


def exit_code(outcomes: Sequence[ModelOutcome]) -> int:
    """0 when every model passed, else the largest model exit code."""
    return max((o.exit_code for o in outcomes), default=EXIT_OK)


def combined_report(outcomes: Sequence[ModelOutcome], config: str) -> dict[str, Any]:
    """The combined JSON report: the verdict, the failing models by name, every report."""
    return {
        "schema_version": SCHEMA_VERSION,
        "config": config,
        "passed": all(o.passed for o in outcomes),
        "exit_code": exit_code(outcomes),
        "failed": [o.name for o in outcomes if not o.passed],
        "models": [
            {
                "name": o.name,
                "status": o.status,
                "exit_code": o.exit_code,
                "error": o.error,
                "outputs": list(o.outputs),
                "report": o.report,
            }
            for o in outcomes
        ],
    }


def _culprit(o: ModelOutcome) -> str:
    if o.error is not None:
        return o.error.replace("|", "\\|")
    bad = (o.report or {}).get("culprit")
    if bad is None:
        return ""
    return (
        f"first failing blob `{bad['blob']}` ({bad['layer_type']}), rel. error {bad['max_rel']:.3g}"
    )


def combined_markdown(outcomes: Sequence[ModelOutcome], config: str) -> str:
    """A Markdown summary table, failing models named first."""
    failed = [o.name for o in outcomes if not o.passed]
    verdict = f"**FAILED**: {', '.join(failed)}" if failed else "**all passed**"
    lines = [f"## caffe2keras convert-all `{config}`: {verdict}", ""]
    lines += [
        "| model | status | exit | blobs | worst rel. error | outputs | culprit / error |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for o in outcomes:
        summary = (o.report or {}).get("summary", {})
        worst = summary.get("max_rel_error")
        outs = ", ".join(f"`{os.path.basename(p)}`" for p in o.outputs)
        lines.append(
            f"| {o.name} | {o.status} | {o.exit_code} | {summary.get('blobs_compared', '')} | "
            f"{'' if worst is None else f'{worst:.3g}'} | {outs} | {_culprit(o)} |"
        )
    return "\n".join(lines) + "\n"


def manifest_document(outcomes: Sequence[ModelOutcome]) -> dict[str, Any]:
    """One manifest for the batch; failed models carry their status and error."""
    from caffe2keras.outputs import manifest

    entries = [
        {**o.manifest, "name": o.name, "status": o.status, "error": o.error} for o in outcomes
    ]
    return manifest.document(entries)
