"""What ``convert`` writes beside the model: the manifest, and the manifest inside the reports."""

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
