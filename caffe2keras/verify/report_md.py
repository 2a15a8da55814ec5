"""Markdown blocks of the report built from its JSON document: the summary at the top and the
exported artifacts. (The table itself stays in :meth:`Report.to_markdown`.)"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any


def _g(value: Any) -> str:
    return "" if value is None else f"{value:.3g}"


def _fmt(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ",".join(_fmt(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def inputs_text(info: Mapping[str, Any]) -> str:
    """The inputs in one line: source, seed, batch, shapes, files, every preprocessing value."""
    parts = [str(info.get("source", "?"))]
    if "seed" in info:
        parts.append(f"seed {info['seed']}")
    if "batch" in info:
        parts.append(f"batch {info['batch']}")
    shapes = info.get("shapes") or {}
    if shapes:
        parts.append(", ".join(f"`{k}` {'x'.join(map(str, v))}" for k, v in shapes.items()))
    for key in ("files", "images"):
        for name, paths in (info.get(key) or {}).items():
            names = [paths] if isinstance(paths, str) else list(paths)
            parts.append(f"`{name}` from " + ", ".join(f"`{os.path.basename(p)}`" for p in names))
    pre = info.get("preprocessing") or {}
    if pre:
        values = "; ".join(
            f"{k} {_fmt(v)}" for k, v in pre.items() if k not in ("order", "pixel_range")
        )
        parts.append(f"preprocessing (in order {', '.join(pre.get('order', []))}): {values}")
    return "; ".join(parts)


def summary_block(doc: Mapping[str, Any]) -> list[str]:
    """Counts, worst error, culprit and inputs: what a reader needs before the table."""
    s = doc["summary"]
    rows = doc["blobs"]
    worst = max(rows, key=lambda r: (r["max_rel"] != r["max_rel"], r["max_rel"]), default=None)
    lines = [
        f"- **Blobs**: {s['blobs_compared']} compared, {s['blobs_failed']} beyond tolerance "
        f"(exit code {doc['exit_code']})",
    ]
    if worst is not None:
        lines.append(
            f"- **Worst relative error**: {_g(worst['max_rel'])} on `{worst['blob']}` (layer "
            f"`{worst['layer']}`, {worst['layer_type']}); output blobs: "
            f"{_g(s['max_rel_error_outputs'])}"
        )
    bad = doc.get("culprit")
    lines.append(
        "- **Culprit**: none"
        if bad is None
        else f"- **Culprit** (first failing blob in topological order): layer `{bad['layer']}` "
        f"({bad['layer_type']}) -> blob `{bad['blob']}`, relative error {_g(bad['max_rel'])} "
        f"(allowed {_g(bad['allowed_rel'])})"
    )
    lines.append(f"- **Inputs**: {inputs_text(doc.get('inputs') or {})}")
    return lines


def export_section(doc: Mapping[str, Any]) -> list[str]:
    """The ``export`` artifacts: one row per output of each, SELECT_TF_OPS layers listed."""
    artifacts = doc.get("export") or []
    if not artifacts:
        return []
    lines = [
        "",
        "### Exported artifacts",
        "",
        "| format | file | runtime | float16 | blob | shape | max abs | max rel | allowed | "
        "top-1 | top-5 | ok |",
        "|---|---|---|:-:|---|---|---:|---:|---:|---:|---:|:-:|",
    ]
    flex = []
    for a in artifacts:
        for o in a.get("outputs", []):
            lines.append(
                f"| {a.get('format', '')} | `{os.path.basename(str(a.get('path', '')))}` | "
                f"{a.get('runtime', '')} | {'yes' if a.get('float16') else 'no'} | "
                f"`{o.get('blob', '')}` | {o.get('shape', '')} | {_g(o.get('max_abs'))} | "
                f"{_g(o.get('max_rel'))} | {_g(o.get('allowed_rel'))} | {_g(o.get('top1'))} | "
                f"{_g(o.get('top5'))} | {'yes' if o.get('passed') else '**no**'} |"
            )
        flex += [
            f"- {a.get('format', '')}: layer `{op.get('layer', '')}` ({op.get('type', '')}) "
            f"needs SELECT_TF_OPS: {', '.join(op.get('ops', []))}"
            for op in a.get("select_tf_ops") or []
        ]
    return lines + ([""] + flex if flex else [])
