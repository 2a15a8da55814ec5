"""The main click group with ``convert`` and ``verify``; ``inspect`` and ``convert-all`` are
added from their own modules. A thin shell: options -> an API call -> an exit code (see
:mod:`.exits`). Nothing here imports TensorFlow or Keras at import time, so ``--help`` and usage
errors are instant.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from caffe2keras.cli.convert_all import convert_all_command
from caffe2keras.cli.exits import parse_npy, parse_shapes, run
from caffe2keras.cli.inspect_command import inspect_command
from caffe2keras.cli.options import CHECK_OPTIONS, NET_OPTIONS, output_options, with_options
from caffe2keras.cli.outputs import add_provenance, record_manifest, write_reports
from caffe2keras.runtime import paths


def _common(fn: Callable[..., Any]) -> Callable[..., Any]:
    return with_options(fn, *NET_OPTIONS, *CHECK_OPTIONS)


def _options(kw: dict[str, Any], **extra: Any) -> Any:
    from caffe2keras.api import ConvertOptions
    from caffe2keras.verify.compare import Tolerance
    from caffe2keras.verify.images import image_options

    npy = parse_npy(kw["input_npy"])
    return ConvertOptions(
        input_shapes=parse_shapes(kw["input_shape"]),
        phase=kw["phase"],
        stages=tuple(kw["stage"]),
        tolerance=Tolerance(
            rtol=kw["rtol"],
            atol=kw["atol"],
            noise_factor=kw["noise_factor"],
            detection_rows=kw["detection_rows"],
        ),
        reference_dtype=kw["reference_dtype"],
        seed=kw["seed"],
        input_npy=npy,
        plugins=tuple(kw.get("plugin", ())),
        image=image_options(
            kw["image"], kw["mean"], kw["scale"], kw["channel_order"], kw["resize"]
        ),
        second_opinions=tuple(kw["references"]),
        **extra,
    )


def _reporter(kw: dict[str, Any]) -> Any:
    """Progress on stderr: a bar on a terminal, step details with -v, nothing with -q."""
    from caffe2keras.runtime.progress import make_reporter

    return make_reporter(quiet=kw["quiet"], verbose=kw.get("verbose", False))


def _check_extras(kw: dict[str, Any]) -> None:
    """Optional dependencies the options need, before any work (a usage error naming the extra)."""
    if kw.get("report_html"):
        from caffe2keras.report_html.deps import require_matplotlib

        require_matplotlib()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="caffe2keras")
def main() -> None:
    """Convert Caffe models to Keras 3, exactly, and prove it blob by blob.

    Exit codes: 0 equivalent, 1 beyond tolerance, 2 usage error, 3 unreadable or invalid input
    files, 4 unsupported layers, 70 internal error, 71 out of memory, 130 interrupted.
    """


@main.command()
@click.argument("prototxt", type=click.Path(dir_okay=False))
@click.argument("caffemodel", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="Output: .h5 (full model), .keras, .weights.h5, .tflite, or a SavedModel folder "
    "(--format savedmodel).",
)
@click.option("--no-verify", is_flag=True, help="Skip the equivalence check.")
@click.option(
    "--write-on-failure",
    is_flag=True,
    help="Write the output even when verification fails (exit code stays 1).",
)
@output_options
@_common
def convert(
    prototxt: str, caffemodel: str, output: str, no_verify: bool, write_on_failure: bool, **kw: Any
) -> None:
    """Convert PROTOTXT + CAFFEMODEL into a Keras model and verify it."""

    def go() -> int:
        folder = kw["output_format"] == "savedmodel"  # checked by api.convert
        paths.check_command(kw, prototxt, caffemodel, output=None if folder else output)
        _check_extras(kw)
        from caffe2keras import api

        options = _options(
            kw,
            verify=not no_verify,
            write_on_failure=write_on_failure,
            format=kw["output_format"],
            split_scale=kw["split_scale"],
            tflite_float16=kw["tflite_float16"],
        )
        result = api.convert(prototxt, caffemodel, output, options, reporter=_reporter(kw))
        if not kw["quiet"]:
            for note in result.notes:
                click.echo(f"note: {note}")
            click.echo(result.summary())
        if result.report is not None:
            written = [("output", result.output)] if result.written else []
            written = [(role, path) for role, path in written if os.path.isfile(path)]
            files = [("prototxt", prototxt), ("caffemodel", caffemodel), *written]
            add_provenance(result.report, files, kw)
            write_reports(result.report, kw)
            if not kw["quiet"] or not result.report.passed:
                click.echo(result.report.to_text())
            if "export" in result.report.extra:
                from caffe2keras.export import render

                click.echo(render.to_text(result.report.extra["export"]))
        record_manifest(prototxt, caffemodel, options, result, kw)
        if not kw["quiet"]:
            verb = "wrote" if result.written else "did NOT write (verification failed)"
            click.echo(f"{verb} {result.output} ({result.format})")
        return result.exit_code

    run(go, kw["debug"])


@main.command()
@click.argument("prototxt", type=click.Path(dir_okay=False))
@click.argument("caffemodel", type=click.Path(dir_okay=False))
@click.argument("model", type=click.Path(dir_okay=False))
@_common
def verify(prototxt: str, caffemodel: str, model: str, **kw: Any) -> None:
    """Verify an existing Keras MODEL (.h5, .keras, .weights.h5) against the Caffe reference."""

    def go() -> int:
        paths.check_command(kw, prototxt, caffemodel, model=model)  # before any work
        _check_extras(kw)
        from caffe2keras import api

        report = api.verify(prototxt, caffemodel, model, _options(kw), reporter=_reporter(kw))
        files = [("prototxt", prototxt), ("caffemodel", caffemodel), ("model", model)]
        add_provenance(report, files, kw)
        write_reports(report, kw)
        if not kw["quiet"] or not report.passed:
            click.echo(report.to_text())
        return report.exit_code

    run(go, kw["debug"])


main.add_command(inspect_command)
main.add_command(convert_all_command)
