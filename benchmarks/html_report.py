"""The HTML report of DenseNet-121, passing and deliberately broken: page size, Chromium render
time, screenshots.

    python benchmarks/html_report.py [--out DIR] [--runs 5] [--docs]

Converts DenseNet-121 (weights made by ``../shared/tools/make_caffemodel.py``) twice through the
CLI with ``--report-html``: as it is, and with one BatchNorm's variance scaled on the Keras side
(``tests/report_html/html_sabotage.py``). Then, for each page, headless Chromium (network closed)
takes a screenshot ``--runs`` times; the median wall time is quoted beside the same for an empty
page (Chromium's own start-up). ``--docs`` writes the two screenshots, reduced, to ``docs/``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO / "tests" / "report_html"))

from html_browser import find_chromium, pixel_stats, screenshot  # noqa: E402
from html_sabotage import scaled_variance  # noqa: E402

DOCS = {"pass": "report-densenet121-pass.png", "fail": "report-densenet121-fail.png"}


def caffemodel(out: Path) -> Path:
    path = out / "densenet121.caffemodel"
    if not path.exists():
        tool = SHARED / "tools" / "make_caffemodel.py"
        manifest = SHARED / "golden" / "zoo" / "densenet121" / "manifest.json"
        subprocess.run([sys.executable, str(tool), str(manifest), str(path)], check=True)
    return path


def convert(out: Path, name: str, broken: bool) -> Path:
    from contextlib import nullcontext

    from click.testing import CliRunner

    from caffe2keras.cli import main

    prototxt = SHARED / "golden" / "zoo" / "densenet121" / "net.prototxt"
    page = out / f"{name}.html"
    args = ["convert", str(prototxt), str(caffemodel(out)), "-o", str(out / f"{name}.weights.h5")]
    args += ["--report-html", str(page), "--report", str(out / f"{name}.json"), "-q"]
    with scaled_variance() if broken else nullcontext():
        result = CliRunner().invoke(main, args)
    assert result.exit_code == (1 if broken else 0), result.output
    return page


TIMER = (
    '<script>addEventListener("load", () => { void document.body.offsetHeight; '
    'document.title = "rendered " + performance.now().toFixed(1); });</script>'
)


def in_page_ms(page: Path, out: Path) -> float:
    """Navigation start to the load event with the layout done (a forced reflow), in the page's
    own clock: a copy of the page without its CSP and with a timer script."""
    import re

    from html_browser import chromium

    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text())
    timed = out / f"{page.stem}.timed.html"
    timed.write_text(text.replace("</body>", TIMER + "</body>"))
    with tempfile.TemporaryDirectory() as profile:
        run = chromium(timed, "--dump-dom", profile=Path(profile))
    found = re.search(r"<title>rendered ([0-9.]+)</title>", run.stdout)
    assert found, run.stdout[:500]
    return float(found.group(1))


def reduce_png(src: Path, dst: Path) -> None:
    """A docs copy: two thirds of the size, 256 colours."""
    from PIL import Image

    img = Image.open(src).convert("RGB")
    img = img.resize((img.width * 2 // 3, img.height * 2 // 3), Image.Resampling.LANCZOS)
    img.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(dst, optimize=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="keep the pages here (default: a temporary folder)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--docs", action="store_true", help="write the screenshots to docs/")
    args = ap.parse_args()
    if find_chromium() is None:
        sys.exit("no chromium binary on PATH (Debian: apt-get install chromium)")
    out = args.out or Path(tempfile.mkdtemp(prefix="c2k-html-"))
    out.mkdir(parents=True, exist_ok=True)
    blank = out / "blank.html"
    blank.write_text("<!DOCTYPE html><html><head><title>blank</title></head><body></body></html>\n")
    print(f"load average at start: {os.getloadavg()}")
    pages = {}
    for name, broken in (("pass", False), ("fail", True)):
        have = out / f"{name}.html"  # --out with pages from an earlier run: reused
        pages[name] = have if have.exists() else convert(out, name, broken)
    rows = []
    for name, page in {"blank": blank, **pages}.items():
        times, inner = [], []
        for _ in range(args.runs):
            png = out / f"{name}.png"
            with tempfile.TemporaryDirectory() as profile:
                run = screenshot(page, png, Path(profile))
            times.append(run.seconds)
            inner.append(in_page_ms(page, out))
        nonwhite, std = pixel_stats(out / f"{name}.png")
        blobs = ""
        if name != "blank":
            blobs = str(len(json.loads((out / f"{name}.json").read_text())["blobs"]))
        rows.append(
            (
                name,
                blobs,
                page.stat().st_size,
                statistics.median(times),
                min(times),
                max(times),
                statistics.median(inner),
                nonwhite,
                std,
            )
        )
    print(
        "\n| page | blobs | bytes | screenshot run: median s | min s | max s | "
        "in page: load + layout ms (median) | non-white | grey std |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, blobs, size, med, lo, hi, ms, nonwhite, std in rows:
        print(
            f"| {name} | {blobs} | {size:,} | {med:.2f} | {lo:.2f} | {hi:.2f} | {ms:.0f} | "
            f"{nonwhite:.3f} | {std:.1f} |"
        )
    print(f"load average at end: {os.getloadavg()}; pages in {out}")
    if args.docs:
        for name, file in DOCS.items():
            reduce_png(out / f"{name}.png", REPO / "docs" / file)
            print(f"wrote docs/{file} ({(REPO / 'docs' / file).stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
