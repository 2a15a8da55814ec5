"""The parts of a model page above and beside the plot, each a function of the JSON report."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

TYPE_NAMES = {"BatchNormScale": "BatchNorm+Scale"}  # fused nodes, as the layer column names them


def num(value: Any, digits: int = 3) -> str:
    """A number as the reports print it ('' for None)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return escape(str(value))
    return f"{value:.{digits}g}"


def table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """An HTML table; cells are already escaped HTML."""
    attr = f' class="{cls}"' if cls else ""
    out = [f"<table{attr}><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead>"]
    out.append("<tbody>")
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    return "".join(out) + "</tbody></table>"


def code(text: Any) -> str:
    return f"<code>{escape(str(text))}</code>"


def banner(doc: Mapping[str, Any]) -> str:
    """The verdict, the exit code, the counts, the worst errors and the culprit."""
    passed = bool(doc["passed"])
    s = doc["summary"]
    verdict = "EQUIVALENT" if passed else "NOT EQUIVALENT"
    lines = [
        f"{s['blobs_compared']} blobs compared against {escape(doc['reference'])}, "
        f"{s['blobs_failed']} beyond tolerance; worst relative error {num(s['max_rel_error'])} "
        f"(output blobs: {num(s['max_rel_error_outputs'])})"
    ]
    bad = doc.get("culprit")
    if bad:
        lines.append(
            f'likely culprit: layer <b id="culprit">{escape(bad["layer"])}</b> '
            f"({escape(type_name(bad['layer_type']))}) &rarr; blob {code(bad['blob'])}, "
            f"relative error {num(bad['max_rel'])} (allowed {num(bad['allowed_rel'])})"
        )
    cls = "pass" if passed else "fail"
    body = "".join(f"<p>{line}</p>" for line in lines)
    return (
        f'<section id="verdict" class="banner {cls}"><h1>{verdict}</h1>'
        f"<p>model {code(doc['model'])}, exit code {doc['exit_code']}</p>{body}</section>"
    )


def type_name(layer_type: str) -> str:
    return TYPE_NAMES.get(layer_type, layer_type)


def files(doc: Mapping[str, Any]) -> str:
    entries = doc.get("files") or []
    if not entries:
        return ""
    rows = [
        (
            escape(f["role"]),
            code(os.path.basename(f["path"])),
            f'<code class="hash">{escape(f["sha256"])}</code>',
            f"{f['bytes']:,}",
        )
        for f in entries
    ]
    return "<h2>Files</h2>" + table(("role", "file", "sha256", "bytes"), rows)


def tolerance(doc: Mapping[str, Any]) -> str:
    t = doc["tolerance"]
    rule = (
        f"a blob passes when max |keras &minus; ref| &le; {num(t['atol'])} + "
        f"max({num(t['rtol'])}, {num(t.get('noise_factor', 0))} &times; noise) &times; max |ref|"
    )
    extra = ""
    if "detection_rows" in t:
        extra = (
            f"; detection blobs pass when {t['detection_rows']:.0%} of their rows match one to one"
        )
    return (
        f"<h2>Tolerance</h2><p>{rule}{extra}. noise is the blob's float32 rounding noise: "
        f"max |ref32 &minus; ref64| / max |ref64| of the reference. rtol = {num(t['rtol'])}, "
        f"atol = {num(t['atol'])}, noise factor = {num(t.get('noise_factor', 0))}; "
        f"reference: {escape(doc['reference'])}; verification took {num(doc.get('seconds'))} s."
        "</p>"
    )


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{escape(str(k))}: {_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(v) for v in value)
    return num(value, 6)


def inputs(doc: Mapping[str, Any]) -> str:
    """Every recorded fact about the inputs: source, seed, shapes, images, preprocessing."""
    info = dict(doc.get("inputs") or {})
    pre = info.pop("preprocessing", None)
    rows = [(escape(str(k)), _value(v)) for k, v in info.items()]
    rows += [(f"preprocessing: {escape(str(k))}", _value(v)) for k, v in (pre or {}).items()]
    return "<h2>Inputs</h2>" + table(("what", "value"), rows, "kv")


def versions(doc: Mapping[str, Any]) -> str:
    env = doc.get("environment")
    if not env:
        return ""
    rows = [
        ("python", escape(env.get("python", ""))),
        ("Keras backend", escape(env.get("keras_backend", ""))),
    ]
    rows += [(escape(k), escape(v)) for k, v in env.get("packages", {}).items()]
    return "<h2>Versions</h2>" + table(("package", "version"), rows, "kv")


def classes(doc: Mapping[str, Any]) -> str:
    """Top-5 classes of the reference and of the Keras model, per image, side by side."""
    entries = doc.get("classes") or []
    if not entries:
        return ""
    out = ["<h2>Top-5 classes</h2>"]
    for e in entries:
        ref, ker = e["reference"], e["keras"]
        rows = []
        for rank in range(max(len(ref), len(ker))):
            r = ref[rank] if rank < len(ref) else ("", None)
            k = ker[rank] if rank < len(ker) else ("", None)
            same = "" if r[0] == k[0] else ' class="differs"'
            rows.append(
                (
                    str(rank + 1),
                    escape(str(r[0])),
                    num(r[1], 6),
                    f"<span{same}>{escape(str(k[0]))}</span>",
                    num(k[1], 6),
                )
            )
        where = escape(os.path.basename(str(e.get("image") or f"sample {e['sample']}")))
        out.append(f"<h3>{where}: blob {code(e['blob'])}</h3>")
        out.append(table(("rank", "reference class", "score", "Keras class", "score"), rows))
    return "".join(out)


def second_opinions(doc: Mapping[str, Any]) -> str:
    ops = doc.get("second_opinions") or {}
    if not ops:
        return ""
    rows = [
        (
            escape(name),
            escape(op.get("engine", "")),
            str(op.get("blobs_compared", "")),
            num(op.get("max_rel_error")),
            escape(op.get("error") or ""),
        )
        for name, op in ops.items()
    ]
    head = ("engine", "version", "blobs", "worst rel. error (known gaps left out)", "error")
    return "<h2>Second opinions (advice only)</h2>" + table(head, rows)


def export(doc: Mapping[str, Any]) -> str:
    """The ``export`` section: one row per output of each exported artifact."""
    artifacts = doc.get("export") or []
    if not artifacts:
        return ""
    rows = []
    flex = []
    for a in artifacts:
        for o in a.get("outputs", []):
            rows.append(
                (
                    escape(a.get("format", "")),
                    code(os.path.basename(str(a.get("path", "")))),
                    escape(a.get("runtime", "")),
                    "yes" if a.get("float16") else "no",
                    code(o.get("blob", "")),
                    escape(str(o.get("shape", ""))),
                    num(o.get("max_abs")),
                    num(o.get("max_rel")),
                    num(o.get("allowed_rel")),
                    num(o.get("top1"), 4),
                    num(o.get("top5"), 4),
                    "yes" if o.get("passed") else '<b class="no">no</b>',
                )
            )
        for op in a.get("select_tf_ops") or []:
            ops = ", ".join(op.get("ops", []))
            flex.append(
                f"<li>{escape(a.get('format', ''))}: layer {code(op.get('layer', ''))} "
                f"({escape(op.get('type', ''))}) needs SELECT_TF_OPS: {escape(ops)}</li>"
            )
    head = (
        "format",
        "file",
        "runtime",
        "float16",
        "blob",
        "shape",
        "max abs",
        "max rel",
        "allowed",
        "top-1",
        "top-5",
        "ok",
    )
    out = "<h2>Exported artifacts</h2>" + table(head, rows)
    return out + (f"<ul>{''.join(flex)}</ul>" if flex else "")


def notes(doc: Mapping[str, Any]) -> str:
    items = doc.get("notes") or []
    if not items:
        return ""
    return "<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in items) + "</ul>"


def blob_table(doc: Mapping[str, Any]) -> str:
    """Every blob, worst first; ``#`` is its position on the plot's axis."""
    rows = doc["blobs"]
    order = sorted(range(len(rows)), key=lambda i: -_sort_key(rows[i]["max_rel"]))
    culprit = (doc.get("culprit") or {}).get("blob")
    ops = doc.get("second_opinions") or {}
    rel = {name: {b["blob"]: b for b in op.get("blobs", [])} for name, op in ops.items()}
    body = []
    for i in order:
        r = rows[i]
        mark = " (culprit)" if r["blob"] == culprit else ""
        cells = [
            str(i),
            code(r["blob"]) + mark,
            code(r["layer"]),
            escape(type_name(r["layer_type"])),
            escape("x".join(map(str, r["shape"]))),
            num(r["max_abs"]),
            num(r["max_rel"]),
            num(r["allowed_rel"]),
            num(r["noise"]),
            f"{r['cosine']:.8f}" if r["cosine"] is not None else "",
            "yes" if r["passed"] else '<b class="no">no</b>',
        ]
        for name in ops:
            b = rel[name].get(r["blob"])
            gap = " gap" if b is not None and b.get("known_gap") else ""
            cells.append("-" if b is None else num(b["max_rel"]) + gap)
        body.append(cells)
    head = [
        "#",
        "blob",
        "layer",
        "type",
        "shape",
        "max abs",
        "max rel",
        "allowed",
        "noise",
        "cosine",
        "ok",
        *(f"{n} rel" for n in ops),
    ]
    return f"<h2>Blobs ({len(rows)}, worst first)</h2>" + table(head, body, "blobs")


def _sort_key(value: float) -> float:
    return float("inf") if value != value else value  # NaN sorts as the worst
