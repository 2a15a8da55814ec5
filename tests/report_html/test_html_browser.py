"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``) renders the
DenseNet-121 pages, passing and broken (one BatchNorm's variance scaled), with the network
closed. Skipped with a reason when no Chromium is found, except in CI (``CI`` set), where
``.ci/run`` installs it and its absence fails.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from html_browser import dump_dom, find_chromium, page_fetches, pixel_stats, screenshot
from html_sabotage import BROKEN_LAYER, scaled_variance

from caffe2keras.cli import main

MAX_BYTES = 2 * 1024 * 1024  # issue 16: the 427-blob DenseNet-121 page


@pytest.fixture(scope="module")
def browser() -> str:
    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no chromium on PATH in CI: .ci/run installs Debian's chromium package")
        pytest.skip("no chromium binary on PATH (Debian: apt-get install chromium)")
    pytest.importorskip("matplotlib")
    return found


def drawn(png: Path) -> bool:
    """Whether a screenshot shows a page: a blank one has no non-white pixels, no contrast."""
    nonwhite, std = pixel_stats(png)
    return nonwhite > 0.05 and std > 10


def check_in_browser(page: Path, tmp_path: Path) -> str:
    """Screenshot and DOM of ``page``: non-blank, no console message, nothing fetched."""
    png = tmp_path / f"{page.stem}.png"
    shot = screenshot(page, png, tmp_path / "profile-shot")
    assert drawn(png), pixel_stats(png)
    netlog = tmp_path / f"{page.stem}.netlog.json"
    dom = dump_dom(page, tmp_path / "profile-dom", netlog)
    assert shot.console == [] and dom.console == [], shot.console + dom.console
    assert page_fetches(netlog) == []
    assert not re.search(r"https?://", dom.stdout)
    return dom.stdout


def test_the_checks_can_fail(browser, tmp_path) -> None:
    """A control page with a console error, a fetch and nothing drawn trips every check."""
    page = tmp_path / "control.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="https://example.invalid/x.png">'
        '<script>console.error("control")</script></body></html>'
    )
    png = tmp_path / "control.png"
    screenshot(page, png, tmp_path / "p1")
    assert not drawn(png), pixel_stats(png)  # a broken-image icon at most
    netlog = tmp_path / "control.netlog.json"
    run = dump_dom(page, tmp_path / "p2", netlog)
    assert any('"control"' in line for line in run.console), run.stderr[-2000:]
    assert page_fetches(netlog) == ["https://example.invalid/x.png"]


def convert_densenet(golden_zoo, tmp_path: Path, name: str, code: int) -> Path:
    g = golden_zoo("densenet121")
    page = tmp_path / f"{name}.html"
    args = [
        "convert",
        str(g.prototxt),
        str(g.caffemodel),
        "-o",
        str(tmp_path / f"{name}.weights.h5"),
    ]
    args += ["--report-html", str(page), "--report", str(tmp_path / f"{name}.json"), "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, result.output
    return page


@pytest.mark.slow
def test_densenet121_pages_in_chromium(browser, golden_zoo, tmp_path) -> None:
    passing = convert_densenet(golden_zoo, tmp_path, "pass", 0)
    with scaled_variance():
        failing = convert_densenet(golden_zoo, tmp_path, "fail", 1)
    for page in (passing, failing):
        doc = json.loads(page.with_suffix(".json").read_text())
        assert len(doc["blobs"]) == 427
        assert page.stat().st_size <= MAX_BYTES, page.stat().st_size
        text = page.read_text()
        assert not re.search(r"https?://", text)
        dom = check_in_browser(page, tmp_path)
        assert '<svg id="error-plot"' in dom and "Keras vs reference" in dom
        assert dom.count("<tr><td>") >= 427
    dom = check_in_browser(passing, tmp_path)
    assert "<h1>EQUIVALENT</h1>" in dom and "culprit" not in dom.split("<h2>")[0]
    dom = check_in_browser(failing, tmp_path)
    culprit = f"{BROKEN_LAYER}+conv3_1/x1/scale"
    assert "<h1>NOT EQUIVALENT</h1>" in dom and "exit code 1" in dom
    assert f'<b id="culprit">{culprit}</b>' in dom
    assert f"culprit: {culprit} (BatchNorm+Scale)" in dom  # the label on the plot
