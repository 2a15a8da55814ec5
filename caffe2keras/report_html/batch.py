"""``convert-all --report-html INDEX``: one page per model beside the index, and the index."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from caffe2keras.report_html.page import index_page, model_page, model_page_name


def _files(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest entry's files as the report's ``files`` section."""
    files = [{"role": role, **entry[role]} for role in ("prototxt", "caffemodel") if role in entry]
    return files + [{"role": "output", **out} for out in entry.get("outputs", [])]


def write_batch(index: str | os.PathLike[str], outcomes: Sequence[Any], config: str) -> list[str]:
    """Write each verified model's page (``INDEX-stem.MODEL.html``) and then the index linking
    them; returns the paths written. Models without a report (errors) are listed, unlinked."""
    from caffe2keras.outputs import manifest
    from caffe2keras.outputs.writers import write_text_atomic

    folder = Path(index).parent
    env = manifest.environment()
    written, entries = [], []
    for o in outcomes:
        page = None
        if o.report is not None:
            page = model_page_name(index, o.name)
            doc = {**o.report, "files": _files(o.manifest), "environment": env}
            write_text_atomic(folder / page, model_page(doc))
            written.append(os.fspath(folder / page))
        entries.append(
            {
                "name": o.name,
                "status": o.status,
                "exit_code": o.exit_code,
                "error": o.error,
                "page": page,
                "report": o.report,
            }
        )
    write_text_atomic(index, index_page(config, entries))
    return [*written, os.fspath(index)]
