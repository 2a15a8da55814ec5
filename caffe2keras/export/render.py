"""The ``export`` section of a report as terminal text and Markdown (the JSON is the entries)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _num(value: Any, fmt: str = ".3g") -> str:
    return "" if value is None else format(value, fmt)


def _flex_text(entry: dict[str, Any]) -> str:
    layers = entry.get("select_tf_ops") or []
    if not layers:
        return "builtin TFLite ops only" if entry["format"] == "tflite" else ""
    parts = [f"{e['layer'] or '(no layer claims them)'}: {', '.join(e['ops'])}" for e in layers]
    return "needs SELECT_TF_OPS (Flex delegate): " + "; ".join(parts)


def _rows_text(o: dict[str, Any]) -> str:
    if "rows_matched" not in o:
        return ""
    own = o.get("rows_matched_own_inputs")
    head = "" if own is None else f", {own:.1%} of rows match the reference layer on own bottoms"
    return f"{head}, {o['rows_matched']:.1%} match the reference's whole forward pass"


def to_text(entries: Sequence[dict[str, Any]]) -> str:
    """One block per exported artifact: verdict, runtime, per-output errors, Flex ops."""
    lines = []
    for e in entries:
        verdict = "PASSED" if e["passed"] else "FAILED"
        f16 = " (float16 weights)" if e["float16"] else ""
        lines.append(
            f"export {e['format']}{f16} {e['path']}: {verdict} in {e['runtime']} "
            f"(fresh process, caffe2keras blocked), {e['bytes'] / 1e6:.1f} MB, {e['seconds']:.1f} s"
        )
        if e.get("error"):
            lines.append(f"  {e['error']}")
        for o in e["outputs"]:
            if "error" in o:
                lines.append(f"  output {o['blob']}: {o['error']}")
                continue
            top = "" if o["top1"] is None else f", top-1 agreement {o['top1']:.2f}"
            rows = _rows_text(o)
            lines.append(
                f"  output {o['blob']}: max rel {o['max_rel']:.3g} (allowed "
                f"{o['allowed_rel']:.3g}){top}{rows}{'' if o['passed'] else ' FAIL'}"
            )
        flex = _flex_text(e)
        if flex:
            lines.append(f"  {flex}")
    return "\n".join(lines)


def to_markdown(entries: Sequence[dict[str, Any]]) -> str:
    """The "Exported artifacts" section: one table row per output of each artifact."""
    if not entries:
        return ""
    lines = [
        "",
        "### Exported artifacts",
        "",
        "| artifact | format | runtime | output | shape | max abs | max rel | allowed | top-1 "
        "| ok |",
        "|---|---|---|---|---|---:|---:|---:|---:|:-:|",
    ]
    for e in entries:
        fmt = e["format"] + (" float16" if e["float16"] else "")
        for o in e["outputs"] or [{"blob": e.get("error", ""), "passed": False}]:
            lines.append(
                f"| `{e['path']}` | {fmt} | {e['runtime']} | `{o['blob']}` | "
                f"{o.get('shape', '')} | {_num(o.get('max_abs'))} | {_num(o.get('max_rel'))} | "
                f"{_num(o.get('allowed_rel'))} | {_num(o.get('top1'), '.2f')} | "
                f"{'yes' if o['passed'] else '**no**'} |"
            )
    lines.append("")
    for e in entries:
        flex = _flex_text(e)
        if flex:
            lines.append(f"- `{e['path']}`: {flex}")
        lines.append(f"- `{e['path']}` bar: {e['bar']}")
    return "\n".join(lines) + "\n"
