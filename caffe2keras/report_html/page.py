"""Whole pages: one per model, and the ``convert-all`` index linking them.

A page is one file: styles inline, the plot an inline ``<svg>``, no script, and a Content Security
Policy that forbids every fetch (``default-src 'none'``), so it opens the same offline, from a CI
artifact or a mail attachment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from caffe2keras.report_html import sections
from caffe2keras.report_html.plot import error_plot_svg

CSP = "default-src 'none'; style-src 'unsafe-inline'"
CSS = """
body{font:14px/1.4 system-ui,'DejaVu Sans',Arial,sans-serif;margin:1.5em auto;max-width:1100px;
color:#222;padding:0 1em}
h1{margin:.1em 0;font-size:1.8em}h2{margin-top:1.4em;border-bottom:1px solid #ddd}
.banner{padding:.6em 1em;border-radius:6px;border:2px solid}
.banner p{margin:.2em 0}
.pass{background:#e8f6e8;border-color:#2e7d32}.pass h1{color:#2e7d32}
.fail{background:#fdecea;border-color:#c62828}.fail h1{color:#c62828}
table{border-collapse:collapse;margin:.4em 0;font-size:13px}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}
table.blobs td:nth-child(n+6){text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}
table.blobs code{word-break:break-all}
.no,.differs{color:#c62828}.hash{font-size:11px}
code{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12px}
svg{max-width:100%;height:auto}
.facts{display:grid;grid-template-columns:3fr 2fr;gap:1.5em}
figure{margin:.5em 0}figcaption{color:#555;font-size:13px}
"""


def _document(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def model_page(doc: Mapping[str, Any]) -> str:
    """The page of one verification; ``doc`` is its JSON report (``Report.to_dict()``), with
    ``files`` and ``environment`` when the caller knows them."""
    verdict = "equivalent" if doc["passed"] else "NOT equivalent"
    parts = [
        sections.banner(doc),
        sections.files(doc),
        sections.tolerance(doc),
        f'<div class="facts"><div>{sections.inputs(doc)}</div>'
        f"<div>{sections.versions(doc)}</div></div>",
        '<h2>Relative error along the net</h2><figure id="plot">',
        error_plot_svg(doc),
        "<figcaption>Each dot is one compared blob, in topological order (the <code>#</code> "
        "column below); red crosses fail; the red line is the error each blob was allowed, the "
        "dashed line the reference's own float32 rounding noise.</figcaption></figure>",
        sections.classes(doc),
        sections.second_opinions(doc),
        sections.export(doc),
        sections.notes(doc),
        sections.blob_table(doc),
    ]
    return _document(f"caffe2keras: {doc['model']} {verdict}", "\n".join(p for p in parts if p))


def model_page_name(index_path: str | os.PathLike[str], model: str) -> str:
    """The file name of a model's page beside the index: ``report.html`` -> ``report.NAME.html``."""
    stem = os.path.splitext(os.path.basename(os.fspath(index_path)))[0]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model)
    return f"{stem}.{safe}.html"


def index_page(title: str, models: Sequence[Mapping[str, Any]]) -> str:
    """The ``convert-all`` index: one row per model, linking its page when it has one.

    Each entry: ``name``, ``status``, ``exit_code``, ``error``, ``page`` (relative link or
    None) and ``report`` (the model's JSON report or None)."""
    failed = [m["name"] for m in models if m["exit_code"] != 0]
    passed = not failed
    verdict = "ALL EQUIVALENT" if passed else f"FAILED: {', '.join(failed)}"
    rows = []
    for m in models:
        report = m.get("report") or {}
        summary = report.get("summary", {})
        culprit = report.get("culprit")
        name = escape(m["name"])
        link = f'<a href="{escape(m["page"])}">{name}</a>' if m.get("page") else name
        detail = escape(m.get("error") or "")
        if culprit:
            rel = sections.num(culprit["max_rel"])
            detail = f"culprit {sections.code(culprit['layer'])}, rel. error {rel}"
        rows.append(
            (
                link,
                escape(m["status"]),
                str(m["exit_code"]),
                str(summary.get("blobs_compared", "")),
                str(summary.get("blobs_failed", "")),
                sections.num(summary.get("max_rel_error")),
                detail,
            )
        )
    head = ("model", "status", "exit", "blobs", "failed", "worst rel. error", "culprit / error")
    cls = "pass" if passed else "fail"
    body = (
        f'<section id="verdict" class="banner {cls}"><h1>{escape(verdict)}</h1>'
        f"<p>{len(models)} models from {sections.code(title)}</p></section>"
        + "<h2>Models</h2>"
        + sections.table(head, rows)
    )
    return _document(f"caffe2keras convert-all: {title}", body)
