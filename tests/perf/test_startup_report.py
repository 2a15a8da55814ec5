"""matplotlib (the ``report`` extra) is needed only for --report-html: --help and inspect never
import it, and a plain conversion with its JSON and Markdown reports runs without it.

(Keras 3 itself imports ``matplotlib.pyplot`` when matplotlib is installed, from
``keras.src.visualization``: so with the extra installed any conversion loads it through Keras.
The conversion test therefore blocks the import: it must succeed all the same.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from test_startup import REPO, TINY, run_cli

BLOCKED = """
import json, sys
sys.modules["matplotlib"] = None  # import matplotlib -> ImportError
from click.testing import CliRunner
from caffe2keras.cli import main
result = CliRunner().invoke(main, json.loads(sys.argv[1]))
print(json.dumps({"code": result.exit_code, "output": result.output}))
"""


def run_blocked(args: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", BLOCKED, json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["convert", "--help"],
        ["inspect", str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel")],
    ],
)
def test_no_matplotlib_without_report_html(args: list[str]) -> None:
    got = run_cli(args)
    assert got["code"] == 0, got["output"]
    assert "matplotlib" not in got["modules"]


def test_plain_conversion_with_reports_runs_without_matplotlib(tmp_path) -> None:
    args = ["convert", str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel")]
    args += ["-o", str(tmp_path / "t.h5"), "--report", str(tmp_path / "r.json")]
    got = run_blocked([*args, "--report-md", str(tmp_path / "r.md")])
    assert got["code"] == 0, got["output"]
    assert (tmp_path / "t.h5").is_file() and (tmp_path / "r.md").is_file()
    # the control: the same block makes --report-html a usage error naming the extra
    got = run_blocked([*args, "--report-html", str(tmp_path / "r.html")])
    assert got["code"] == 2 and "caffe2keras[report]" in got["output"], got["output"]
