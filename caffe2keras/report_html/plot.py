"""The error curve: every compared blob's relative error against its topological position.

Drawn by matplotlib as SVG with text kept as text (``svg.fonttype: none``, a system font stack:
no embedded glyphs, no web fonts) and a fixed hash salt, so the same report gives the same bytes.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from caffe2keras.report_html.deps import require_matplotlib
from caffe2keras.report_html.sections import type_name

FLOOR = 1e-12  # lowest place exact zeros are drawn on the log axis
# matplotlib's SVG metadata (RDF with URLs of its vocabularies) left out: None drops a key
NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
COLORS = {"opencv": "#8c564b", "caffe": "#9467bd"}
PLOT_ID = "error-plot"


def _finite(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v) and v > 0]


def _clip(value: float | None, top: float, floor: float) -> float:
    """A value for the log axis: exact zeros at ``floor``, NaN/Inf at the top."""
    if value is None:
        return math.nan
    if not math.isfinite(value):
        return top
    return max(value, floor)


def _opinion_series(doc: Mapping[str, Any], index: Mapping[str, int]) -> dict[str, Any]:
    """Each second opinion's (positions, relative errors), known gaps left out."""
    out = {}
    for name, op in (doc.get("second_opinions") or {}).items():
        points = [
            (index[b["blob"]], b["max_rel"])
            for b in op.get("blobs", [])
            if b["blob"] in index and not b.get("known_gap")
        ]
        if points:
            out[name] = (op.get("engine", name), points)
    return out


def error_plot_svg(doc: Mapping[str, Any]) -> str:
    """The plot of ``doc`` (a JSON report) as an ``<svg>`` element to inline in HTML."""
    matplotlib = require_matplotlib()
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    rows = doc["blobs"]
    index = {r["blob"]: i for i, r in enumerate(rows)}
    xs = list(range(len(rows)))
    errors = [r["max_rel"] for r in rows]
    known = _finite(errors + [r["allowed_rel"] for r in rows] + [r["noise"] for r in rows])
    top = max(known, default=1.0) * 10
    floor = max(min(known, default=FLOOR) / 10, FLOOR)
    rc = {
        "svg.fonttype": "none",
        "svg.hashsalt": "caffe2keras",
        "font.family": ["sans-serif"],
        "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
        "font.size": 9,
    }
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(10, 4.6))
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        ax.set_yscale("log")
        ax.step(
            xs,
            [_clip(r["allowed_rel"], top, floor) for r in rows],
            where="mid",
            color="#d62728",
            lw=1,
            label="allowed relative error",
        )
        ax.step(
            xs,
            [_clip(r["noise"], top, floor) for r in rows],
            where="mid",
            color="#7f7f7f",
            lw=0.8,
            ls="--",
            label="float32 noise of the reference",
        )
        ax.plot(
            xs,
            [_clip(e, top, floor) for e in errors],
            ".",
            ms=3,
            color="#1f77b4",
            label="Keras vs reference",
        )
        for name, (engine, points) in _opinion_series(doc, index).items():
            ax.plot(
                [p for p, _ in points],
                [_clip(e, top, floor) for _, e in points],
                "+",
                ms=4,
                color=COLORS.get(name, "#2ca02c"),
                label=f"{engine} vs reference",
            )
        bad = [i for i, r in enumerate(rows) if not r["passed"]]
        if bad:
            ax.plot(
                bad,
                [_clip(errors[i], top, floor) for i in bad],
                "x",
                ms=6,
                mew=1.5,
                color="#d62728",
                label=f"failing blobs ({len(bad)})",
            )
        _label_culprit(ax, doc, index, top, floor)
        ax.set_xlim(-1, max(len(rows), 2))
        ax.set_xlabel("blob position in topological order (inputs first)")
        ax.set_ylabel(f"max |keras - ref| / max |ref|   (0 drawn at {floor:.0e})")
        ax.grid(True, which="major", lw=0.3, alpha=0.6)
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize=8, frameon=False
        )
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata=NO_METADATA)
    return _inline(buf.getvalue())


def _label_culprit(
    ax: Any, doc: Mapping[str, Any], index: Mapping[str, int], top: float, floor: float
) -> None:
    culprit = doc.get("culprit")
    if not culprit or culprit["blob"] not in index:
        return
    x, y = index[culprit["blob"]], _clip(culprit["max_rel"], top, floor)
    ax.axvline(x, color="#d62728", lw=0.6, alpha=0.5)
    ax.annotate(  # in the lower middle of the axes, clear of the points, an arrow to the blob
        f"culprit: {culprit['layer']} ({type_name(culprit['layer_type'])})",
        (x, y),
        xytext=(min(x / max(len(index), 1) + 0.03, 0.55), 0.3),
        textcoords="axes fraction",
        color="#d62728",
        fontsize=9,
        fontweight="bold",
        bbox={"boxstyle": "round", "fc": "white", "ec": "#d62728", "alpha": 0.95},
        arrowprops={"arrowstyle": "->", "color": "#d62728"},
    )


def _inline(svg: str) -> str:
    """The ``<svg>`` element alone, as HTML inlines it: no XML declaration or DOCTYPE, no
    namespace declarations (HTML's parser puts ``<svg>`` in the SVG namespace itself, and they
    are URLs), ``href`` for ``xlink:href`` (SVG 2); with an id for the page."""
    start = svg.index("<svg")
    out = svg[start:].replace("<svg", f'<svg id="{PLOT_ID}" role="img"', 1).strip()
    out = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", out)
    return out.replace("xlink:href=", "href=")
