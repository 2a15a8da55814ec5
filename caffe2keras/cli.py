"""The command line: a thin click shell over :mod:`caffe2keras.api`.

Only this module turns errors into messages and exit codes. Nothing here imports TensorFlow or
Keras at import time, so ``--help`` and usage errors are instant.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from caffe2keras.errors import Caffe2KerasError

EXIT_INTERNAL = 70


def _parse_shape(text: str) -> tuple[str, tuple[int, ...]]:
    name, sep, dims = text.rpartition("=")
    try:
        shape = tuple(int(d) for d in dims.split(","))
    except ValueError:
        shape = ()
    if not sep or not name or not shape or any(d <= 0 for d in shape):
        raise click.BadParameter(f"expected NAME=N,C,H,W with positive integers, got '{text}'")
    return name, shape


def _shapes(values: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    return dict(_parse_shape(v) for v in values)


def _npy(values: tuple[str, ...], inputs: list[str] | None = None) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, path = v.rpartition("=")
        out[name if sep else ""] = path
    return out


def _run(fn: Callable[[], int], debug: bool) -> None:
    """Call ``fn``; our errors become one clear line and their exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    try:
        code = fn()
    except Caffe2KerasError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted; no output was written", err=True)
        sys.exit(130)
    except Exception as exc:  # an internal bug: say so plainly, traceback only with --debug
        if debug:
            raise
        click.echo(
            f"internal error ({type(exc).__name__}): {exc}. Re-run with --debug for the "
            "traceback and please report it.",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(code)


def _common(fn: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option(
            "--input-shape",
            "input_shape",
            multiple=True,
            metavar="NAME=N,C,H,W",
            help="Override an input's shape (Caffe NCHW order). Repeatable.",
        ),
        click.option(
            "--phase",
            type=click.Choice(["TEST", "TRAIN"]),
            default="TEST",
            show_default=True,
            help="Net state for include/exclude rules.",
        ),
        click.option("--stage", multiple=True, help="Net state stage (repeatable)."),
        click.option(
            "--rtol",
            type=float,
            default=1e-4,
            show_default=True,
            help="Tolerance relative to max|reference| per blob.",
        ),
        click.option(
            "--atol",
            type=float,
            default=0.0,
            show_default=True,
            help="Absolute tolerance per blob.",
        ),
        click.option(
            "--noise-factor",
            type=float,
            default=4.0,
            show_default=True,
            help="Also allow this many times the blob's float32 rounding noise (reference in "
            "float32 vs float64); 0 uses --rtol alone.",
        ),
        click.option(
            "--reference-dtype",
            type=click.Choice(["float64", "float32"]),
            default="float64",
            show_default=True,
            help="Precision of the numpy Caffe reference.",
        ),
        click.option(
            "--seed",
            type=int,
            default=0,
            show_default=True,
            help="Seed of the random verification inputs.",
        ),
        click.option(
            "--input",
            "input_npy",
            multiple=True,
            metavar="[NAME=]X.npy",
            help="Verification input (NCHW .npy) instead of random data.",
        ),
        click.option(
            "--report",
            "report_json",
            type=click.Path(dir_okay=False),
            help="Write the report as JSON.",
        ),
        click.option(
            "--report-md",
            "report_md",
            type=click.Path(dir_okay=False),
            help="Write the report as Markdown.",
        ),
        click.option("-q", "--quiet", is_flag=True, help="Print only errors."),
        click.option("--debug", is_flag=True, help="Show tracebacks."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _options(kw: dict[str, Any], **extra: Any) -> Any:
    from caffe2keras.api import ConvertOptions
    from caffe2keras.verify.compare import Tolerance

    npy = _npy(kw["input_npy"])
    return ConvertOptions(
        input_shapes=_shapes(kw["input_shape"]),
        phase=kw["phase"],
        stages=tuple(kw["stage"]),
        tolerance=Tolerance(rtol=kw["rtol"], atol=kw["atol"], noise_factor=kw["noise_factor"]),
        reference_dtype=kw["reference_dtype"],
        seed=kw["seed"],
        input_npy=npy,
        **extra,
    )


def _write_reports(report: Any, kw: dict[str, Any]) -> None:
    if kw["report_json"]:
        Path(kw["report_json"]).write_text(report.to_json())
    if kw["report_md"]:
        Path(kw["report_md"]).write_text(report.to_markdown())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="caffe2keras")
def main() -> None:
    """Convert Caffe models to Keras 3, exactly, and prove it blob by blob.

    Exit codes: 0 equivalent, 1 beyond tolerance, 2 usage error, 3 unreadable or invalid input
    files, 4 unsupported layers, 70 internal error.
    """


@main.command()
@click.argument("prototxt", type=click.Path(dir_okay=False))
@click.argument("caffemodel", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output: .h5 (full model), .keras, or .weights.h5.",
)
@click.option("--no-verify", is_flag=True, help="Skip the equivalence check.")
@click.option(
    "--write-on-failure",
    is_flag=True,
    help="Write the output even when verification fails (exit code stays 1).",
)
@_common
def convert(
    prototxt: str, caffemodel: str, output: str, no_verify: bool, write_on_failure: bool, **kw: Any
) -> None:
    """Convert PROTOTXT + CAFFEMODEL into a Keras model and verify it."""

    def go() -> int:
        from caffe2keras import api

        options = _options(kw, verify=not no_verify, write_on_failure=write_on_failure)
        result = api.convert(prototxt, caffemodel, output, options)
        if not kw["quiet"]:
            for note in result.notes:
                click.echo(f"note: {note}")
            click.echo(
                f"converted {result.caffe_layers} Caffe layers into "
                f"{result.keras_layers} Keras layers ({result.fused_batchnorms} "
                f"BatchNorm+Scale pairs fused), {result.parameters:,} parameters"
            )
        if result.report is not None:
            _write_reports(result.report, kw)
            if not kw["quiet"] or not result.report.passed:
                click.echo(result.report.to_text())
        if not kw["quiet"]:
            verb = "wrote" if result.written else "did NOT write (verification failed)"
            click.echo(f"{verb} {result.output} ({result.format})")
        return result.exit_code

    _run(go, kw["debug"])


@main.command()
@click.argument("prototxt", type=click.Path(dir_okay=False))
@click.argument("caffemodel", type=click.Path(dir_okay=False))
@click.argument("model", type=click.Path(dir_okay=False))
@_common
def verify(prototxt: str, caffemodel: str, model: str, **kw: Any) -> None:
    """Verify an existing Keras MODEL (.h5, .keras, .weights.h5) against the Caffe reference."""

    def go() -> int:
        from caffe2keras import api

        report = api.verify(prototxt, caffemodel, model, _options(kw))
        _write_reports(report, kw)
        if not kw["quiet"] or not report.passed:
            click.echo(report.to_text())
        return report.exit_code

    _run(go, kw["debug"])


if __name__ == "__main__":  # pragma: no cover
    main()
