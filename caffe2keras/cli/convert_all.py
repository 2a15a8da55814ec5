"""``caffe2keras convert-all``: convert and verify every model of a list (the work itself is
:mod:`caffe2keras.convert_all`)."""

from __future__ import annotations

import click

from caffe2keras.cli.exits import run


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
    help="Models converted at a time, by that many worker processes (each converts many).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="TensorFlow and BLAS threads per worker process with --jobs >= 2 "
    "(default: the usable cores / jobs, at least 1).",
)
@click.option(
    "--process-per-model",
    is_flag=True,
    hidden=True,
    help="The slower isolation mode: a fresh worker process for every model.",
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
    "--report-html",
    "report_html",
    type=click.Path(dir_okay=False),
    help="Write an HTML index page here, linking one self-contained page per model "
    "(INDEX.MODEL.html beside it; needs pip install 'caffe2keras[report]').",
)
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False),
    help="Write the manifest here (default: manifest.json in the output folder).",
)
@click.option(
    "--timeline",
    "timeline_path",
    type=click.Path(dir_okay=False),
    hidden=True,
    help="Write each model's worker, start, end and step times here (JSON; for benchmarks).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only failures.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def convert_all_command(
    model_list: str,
    out_dir: str | None,
    jobs: int,
    threads: int | None,
    process_per_model: bool,
    report_json: str | None,
    report_md: str | None,
    report_html: str | None,
    manifest_path: str | None,
    timeline_path: str | None,
    quiet: bool,
    debug: bool,
) -> None:
    """Convert and verify every model of MODEL_LIST (.toml or .json; see the README).

    Writes each model's outputs, one combined report (report.json, report.md) and one manifest
    (manifest.json) into the output folder unless given elsewhere. Exit code 0 when every model
    passed, else the largest model exit code; the failing models are named.
    """

    def go() -> int:
        import time
        from pathlib import Path

        from caffe2keras.convert_all import run as batch
        from caffe2keras.convert_all.config import read_model_list
        from caffe2keras.outputs import manifest
        from caffe2keras.outputs.writers import write_text_atomic
        from caffe2keras.runtime import paths

        paths.check_options(
            {"report_json": report_json, "report_md": report_md, "manifest_path": manifest_path}
            | {"report_html": report_html, "timeline_path": timeline_path}
        )
        if report_html:
            from caffe2keras.report_html.deps import require_matplotlib

            require_matplotlib()
        models = read_model_list(model_list, out_dir)
        paths.output_folder(models.out_dir, "--out-dir" if out_dir else "the list's out_dir")
        folder = Path(models.out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        options = batch.BatchOptions(
            jobs=jobs, process_per_model=process_per_model, threads=threads
        )
        t0 = time.time()
        outcomes = batch.run_all(models.models, options)
        if timeline_path:
            from caffe2keras.convert_all.timeline import document

            names, timings = [o.name for o in outcomes], [o.timing for o in outcomes]
            manifest.write(timeline_path, document(names, timings, t0))
        doc = batch.combined_report(outcomes, model_list)
        manifest.write(report_json or folder / "report.json", doc)
        write_text_atomic(
            report_md or folder / "report.md", batch.combined_markdown(outcomes, model_list)
        )
        manifest.write(manifest_path or folder / "manifest.json", batch.manifest_document(outcomes))
        if report_html:
            from caffe2keras.report_html.batch import write_batch

            write_batch(report_html, outcomes, model_list)
        for o in outcomes:
            if not (quiet and o.passed):
                detail = f": {o.error}" if o.error else ""
                click.echo(f"{o.status:>14s}  {o.name}{detail}")
        if doc["failed"]:
            click.echo(f"FAILED ({len(doc['failed'])}): {', '.join(doc['failed'])}", err=True)
        elif not quiet:
            click.echo(f"all {len(outcomes)} models passed; reports in {folder}")
        return int(doc["exit_code"])

    run(go, debug)
