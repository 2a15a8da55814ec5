"""Start-up: --help, argument errors and inspect never import TensorFlow or Keras (and --help not
even numpy or protobuf). Each case runs in a fresh interpreter; timings live in
benchmarks/bench_convert.py, not here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
HEAVY = ("tensorflow", "keras", "h5py")

PROBE = """
import json, sys
from click.testing import CliRunner
from caffe2keras.cli import main
result = CliRunner().invoke(main, json.loads(sys.argv[1]))
print(json.dumps({"code": result.exit_code, "output": result.output,
                  "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def run_cli(args: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_help_imports_no_numpy_protobuf_or_keras() -> None:
    got = run_cli(["--help"])
    assert got["code"] == 0 and "convert" in got["output"]
    loaded = set(got["modules"])
    assert not loaded & {*HEAVY, "numpy", "google"}, sorted(loaded & {*HEAVY, "numpy", "google"})


@pytest.mark.parametrize("command", ["convert", "verify"])
def test_subcommand_help_is_light(command: str) -> None:
    got = run_cli([command, "--help"])
    assert got["code"] == 0
    assert not set(got["modules"]) & {*HEAVY, "numpy"}


@pytest.mark.parametrize(
    "args, code",
    [
        (["convert", "a.prototxt"], 2),  # missing argument
        (["convert", "a.prototxt", "b.caffemodel", "-o", "x.h5", "--phase", "EVAL"], 2),
        (["convert", str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel"), "-o", "x.txt"], 2),
        (
            ["convert", str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel"), "-o", "x.h5"]
            + ["--input-shape", "bad"],
            2,
        ),
    ],
)
def test_argument_errors_never_import_keras(args: list[str], code: int) -> None:
    got = run_cli(args)
    assert got["code"] == code, got["output"]
    assert not set(got["modules"]) & set(HEAVY), got["modules"]


def test_inspect_never_imports_keras() -> None:
    got = run_cli(["inspect", str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel")])
    assert got["code"] == 0, got["output"]
    assert not set(got["modules"]) & {"tensorflow", "keras"}


def test_inspect_of_a_bare_prototxt_imports_no_numpy() -> None:
    got = run_cli(["inspect", str(TINY / "tiny.prototxt")])
    assert got["code"] == 0, got["output"]
    assert "BatchNormalization" in got["output"] or "Conv2D" in got["output"]
    assert not set(got["modules"]) & {*HEAVY, "numpy"}, sorted(set(got["modules"]) & {"numpy"})
