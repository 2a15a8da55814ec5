"""What ``convert`` and ``verify`` write beside the model: the reports with their provenance
(files and versions), the manifest, and the manifest inside the reports."""

from __future__ import annotations

from typing import Any


def record_manifest(
    prototxt: str, caffemodel: str, options: Any, result: Any, kw: dict[str, Any]
) -> None:
    """Write --manifest and add the manifest to the JSON/Markdown reports already written."""
    from pathlib import Path

    from caffe2keras.outputs import manifest
    from caffe2keras.outputs.writers import write_text_atomic

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


def add_provenance(report: Any, files: list[tuple[str, str]], kw: dict[str, Any]) -> None:
    """The ``files`` (role, path, sha256, bytes) and ``environment`` (versions) sections of the
    reports, when any report is written (hashing a large caffemodel takes a moment)."""
    from caffe2keras.outputs import manifest

    if not (kw.get("report_json") or kw.get("report_md") or kw.get("report_html")):
        return
    report.extra["files"] = [{"role": role, **manifest.file_entry(p)} for role, p in files]
    report.extra["environment"] = manifest.environment()


def write_reports(report: Any, kw: dict[str, Any]) -> None:
    """--report, --report-md and --report-html, each complete or absent, each named on stdout."""
    import click

    from caffe2keras.outputs.writers import write_text_atomic

    renderers = {"report_json": report.to_json, "report_md": report.to_markdown}
    renderers["report_html"] = lambda: html_page(report.to_dict())
    for key, render in renderers.items():
        if kw.get(key):
            write_text_atomic(kw[key], render())  # complete or absent, like the model
            if not kw["quiet"]:
                click.echo(f"wrote report {kw[key]}")


def html_page(doc: dict[str, Any]) -> str:
    """The HTML report of one JSON report (matplotlib imported only here)."""
    from caffe2keras.report_html.page import model_page

    return model_page(doc)
