"""The terminal rendering of an :class:`~caffe2keras.inspection.model.Inspection`."""

from __future__ import annotations

from caffe2keras.inspection.model import Inspection, LayerRow

_HEAD = ("#", "layer", "type", "bottoms -> tops", "output shape", "params", "keras")


def _cells(index: int, row: LayerRow) -> tuple[str, ...]:
    flow = f"{', '.join(row.bottoms) or '-'} -> {', '.join(row.tops) or '-'}"
    shapes = "?" if row.shapes is None else " ".join("x".join(map(str, s)) for s in row.shapes)
    return (
        str(index),
        row.name,
        row.type,
        flow,
        shapes or "-",
        f"{row.parameters:,}" if row.parameters else "",
        row.keras,
    )


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEAD))]
    right = {0, 5}
    out = []
    for r in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))
        ]
        out.append("  ".join(cells).rstrip())
    out.insert(1, "  ".join("-" * w for w in widths))
    return out


_LAYOUTS = {
    "sequence": "(T, N, ...) time-major; the Keras model takes it batch-major (N, T, ...)",
    "state": "(1, N, H) recurrent state; the Keras model takes it as (N, H)",
}


def to_text(ins: Inspection) -> str:
    """Inputs, the layer table, totals, unsupported types, preprocessing hints and notes."""
    lines = [f"net '{ins.net}' ({ins.prototxt})"]
    for name, shape in ins.inputs:
        layout = _LAYOUTS.get(ins.layouts.get(name, ""), "(N, C, H, W)")
        lines.append(f"input {name}: {'x'.join(map(str, shape))} {layout}")
    lines.append("")
    lines += _table([_HEAD, *(_cells(i, r) for i, r in enumerate(ins.layers, start=1))])
    t = ins.totals()
    roles = ", ".join(f"{n} {role}" for role, n in t["by_role"].items() if n)
    lines.append("")
    c = ins.counts
    if c is None:
        lines.append(f"{t['layers']} Caffe layers ({roles})")
    else:  # the same numbers and words as convert and verify (caffe2keras.ir.counts)
        lines += [
            f"{c.layers_text()}; by role: {roles}",
            f"to verify: {c.blobs_text()}",
            c.parameters_text(),
        ]
    lines.append(f"outputs: {', '.join(ins.outputs) or 'none'}")
    for ltype, names in ins.unsupported.items():
        detail = ins.unsupported_details.get(ltype)
        lines.append(
            f"UNSUPPORTED {ltype}: {', '.join(names)}" + (f" ({detail})" if detail else "")
        )
    if ins.hints:
        lines.append("preprocessing hints (not applied by the converter):")
        lines += [f"  {h.key} = {h.value}  [{h.source}, {h.where}]" for h in ins.hints]
    else:
        lines.append("preprocessing hints: none found (transform_param or comments)")
    lines += [
        f"TFLite: layer '{e['layer']}' ({e['type']}) needs SELECT_TF_OPS: {', '.join(e['ops'])}"
        for e in ins.select_tf_ops
    ]
    lines += [f"note: {note}" for note in ins.notes]
    return "\n".join(lines)
