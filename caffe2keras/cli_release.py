"""Release parts of the CLI: ``inspect``, ``convert-all`` and convert's output options.

Registered on the main group by :mod:`caffe2keras.cli` (which this module imports only inside
functions). Nothing here imports Keras or TensorFlow at import time; ``inspect`` never does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from caffe2keras.cli_options import NET_OPTIONS, with_options


def _net_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    return with_options(fn, *NET_OPTIONS)


@click.command("inspect")
@click.argument("prototxt", type=click.Path(dir_okay=False))
@click.argument("caffemodel", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (inspect.schema.json).")
@_net_options
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def inspect_command(
    prototxt: str,
    caffemodel: str | None,
    as_json: bool,
    input_shape: tuple[str, ...],
    phase: str,
    stage: tuple[str, ...],
    plugin: tuple[str, ...],
    debug: bool,
) -> None:
    """The layer table of PROTOTXT (and a check of CAFFEMODEL's blobs, if given).

    Per layer: type, bottoms -> tops, Caffe output shape, parameter count and what it becomes in
    Keras (or which BatchNorm+Scale fusion absorbs it); then totals, unsupported types, inputs and
    preprocessing hints from transform_param and comments. Never imports TensorFlow. Exit code 4
    when some layer type is unsupported.
    """

    from caffe2keras.cli import _parse_shape, _run

    def go() -> int:
        from caffe2keras import paths

        paths.check_command({"plugin": plugin}, prototxt, caffemodel)  # before any work
        # not through caffe2keras.api, whose verification imports would cost start-up time
        from caffe2keras.frontend.load import LoadOptions
        from caffe2keras.frontend.phase import NetState
        from caffe2keras.inspection import inspect_net, to_text

        options = LoadOptions(
            input_shapes=dict(_parse_shape(s) for s in input_shape),
            state=NetState(phase=phase, stages=tuple(stage)),
        )
        found = inspect_net(prototxt, caffemodel, options, plugin)
        import json

        # compact JSON: json's C encoder does not indent, and inspect must stay fast
        text = json.dumps(found.to_dict()) if as_json else to_text(found)
        click.echo(text)
        return found.exit_code

    _run(go, debug)


@click.command("convert-all")
@click.argument("model_list", type=click.Path(dir_okay=False))
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    help="Folder for outputs and reports (default: the list's out_dir, else its folder).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Models converted at a time, each in its own process.",
)
@click.option(
    "--report",
    "report_json",
    type=click.Path(dir_okay=False),
    help="Write the combined JSON report here (default: report.json in the output folder).",
)
@click.option(
    "--report-md",
    "report_md",
    type=click.Path(dir_okay=False),
    help="Write the combined Markdown report here (default: report.md in the output folder).",
)
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False),
    help="Write the manifest here (default: manifest.json in the output folder).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only failures.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def convert_all_command(
    model_list: str,
    out_dir: str | None,
    jobs: int,
    report_json: str | None,
    report_md: str | None,
    manifest_path: str | None,
    quiet: bool,
    debug: bool,
) -> None:
    """Convert and verify every model of MODEL_LIST (.toml or .json; see the README).

    Writes each model's outputs, one combined report (report.json, report.md) and one manifest
    (manifest.json) into the output folder unless given elsewhere. Exit code 0 when every model
    passed, else the largest model exit code; the failing models are named.
    """
    from caffe2keras.cli import _run

    def go() -> int:
        from pathlib import Path

        from caffe2keras import batch, manifest, paths
        from caffe2keras.batch_config import read_model_list
        from caffe2keras.writers import write_text_atomic

        paths.check_options(
            {"report_json": report_json, "report_md": report_md, "manifest_path": manifest_path}
        )
        models = read_model_list(model_list, out_dir)
        paths.output_folder(models.out_dir, "--out-dir" if out_dir else "the list's out_dir")
        folder = Path(models.out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        outcomes = batch.run_all(models.models, jobs)
        doc = batch.combined_report(outcomes, model_list)
        manifest.write(report_json or folder / "report.json", doc)
        write_text_atomic(
            report_md or folder / "report.md", batch.combined_markdown(outcomes, model_list)
        )
        manifest.write(manifest_path or folder / "manifest.json", batch.manifest_document(outcomes))
        for o in outcomes:
            if not (quiet and o.passed):
                detail = f": {o.error}" if o.error else ""
                click.echo(f"{o.status:>14s}  {o.name}{detail}")
        if doc["failed"]:
            click.echo(f"FAILED ({len(doc['failed'])}): {', '.join(doc['failed'])}", err=True)
        elif not quiet:
            click.echo(f"all {len(outcomes)} models passed; reports in {folder}")
        return int(doc["exit_code"])

    _run(go, debug)


def register(group: Any) -> None:
    """Add the release commands to the main click group."""
    group.add_command(inspect_command)
    group.add_command(convert_all_command)


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``convert``'s --format, --split-scale and --manifest."""
    opts = [
        click.option(
            "--format",
            "output_format",
            type=click.Choice(["keras2-weights"]),
            help="Write a legacy Keras-2 HDF5 weights file (load_weights(path, by_name=True)) "
            "instead of choosing by the output's suffix.",
        ),
        click.option(
            "--split-scale",
            is_flag=True,
            help="keras2-weights: put each fused Scale's gamma/beta into its own group named "
            "after the Scale layer (for models with separate Scale layers).",
        ),
        click.option(
            "--manifest",
            type=click.Path(dir_okay=False),
            help="Write a JSON manifest: sha256 of inputs and outputs, versions, shapes, "
            "preprocessing, verification summary.",
        ),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def record_manifest(
    prototxt: str, caffemodel: str, options: Any, result: Any, kw: dict[str, Any]
) -> None:
    """Write --manifest and add the manifest to the JSON/Markdown reports already written."""
    from pathlib import Path

    from caffe2keras import manifest
    from caffe2keras.writers import write_text_atomic

    if not (kw["manifest"] or kw["report_json"] or kw["report_md"]):
        return
    outputs = [result.output] if result.written else []
    entry = manifest.model_entry(
        Path(prototxt).stem, prototxt, caffemodel, options, outputs, result.report
    )
    if kw["manifest"]:
        manifest.write(kw["manifest"], manifest.document([entry]))
    if result.report is None:
        return
    result.report.extra["manifest"] = entry
    if kw["report_json"]:
        write_text_atomic(kw["report_json"], result.report.to_json())
    if kw["report_md"]:
        text = Path(kw["report_md"]).read_text(encoding="utf-8")
        write_text_atomic(kw["report_md"], text + manifest.to_markdown(entry))
