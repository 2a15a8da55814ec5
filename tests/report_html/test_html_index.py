"""``convert-all --report-html``: an index page linking one self-contained page per model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from caffe2keras.cli import main

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
THREE = ["lenet", "cifar10_quick", "cifar10_full"]

pytest.importorskip("matplotlib")


def run_list(tmp_path: Path, entries: list[dict], code: int) -> Path:
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"models": entries}))
    index = tmp_path / "site" / "index.html"
    index.parent.mkdir()
    args = ["convert-all", str(config), "--out-dir", str(tmp_path / "out")]
    result = CliRunner().invoke(main, [*args, "--report-html", str(index)])
    assert result.exit_code == code, result.output
    return index


def links(index: Path) -> dict[str, Path]:
    html = index.read_text()
    assert not re.search(r"https?://", html)
    found = re.findall(r'<a href="([^"]+)">([^<]+)</a>', html)
    return {name: index.parent / href for href, name in found}


@pytest.mark.slow
def test_three_zoo_models(golden_zoo, tmp_path) -> None:
    entries = []
    for name in THREE:
        g = golden_zoo(name)
        entries.append(
            {
                "name": name,
                "prototxt": str(g.prototxt),
                "caffemodel": str(g.caffemodel),
                "outputs": [f"{name}.h5"],
            }
        )
    index = run_list(tmp_path, entries, 0)
    pages = links(index)
    assert list(pages) == THREE
    assert "<h1>ALL EQUIVALENT</h1>" in index.read_text()
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    for model in report["models"]:
        page = pages[model["name"]]
        assert page.name == f"index.{model['name']}.html"
        html = page.read_text()
        assert "<h1>EQUIVALENT</h1>" in html and '<svg id="error-plot"' in html
        assert f"{len(model['report']['blobs'])} blobs compared" in html
        assert not re.search(r"https?://", html)


def test_failures_and_errors_are_listed(tmp_path) -> None:
    tiny = {"prototxt": str(TINY / "tiny.prototxt"), "caffemodel": str(TINY / "tiny.caffemodel")}
    entries = [
        {"name": "tiny", **tiny, "outputs": ["tiny.h5"]},
        {"name": "tiny-exact", **tiny, "outputs": ["exact.h5"], "rtol": 0, "noise_factor": 0},
        {
            "name": "swapped",
            "prototxt": tiny["caffemodel"],
            "caffemodel": tiny["prototxt"],
            "outputs": ["swapped.h5"],
        },
    ]
    index = run_list(tmp_path, entries, 3)
    html = index.read_text()
    assert "<h1>FAILED: tiny-exact, swapped</h1>" in html
    pages = links(index)
    assert list(pages) == ["tiny", "tiny-exact"]  # an error has no report, so no page
    assert "<h1>NOT EQUIVALENT</h1>" in pages["tiny-exact"].read_text()
    assert re.search(r"<td>swapped</td><td>error</td><td>3</td>", html)
