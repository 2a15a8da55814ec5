"""Quiet runs: a normal command writes on stderr only what caffe2keras itself prints.

What caffe2keras prints on stderr: ``error: ...`` / ``internal error ...`` / ``interrupted ...``
lines and ``convert-all``'s ``FAILED (...)`` line when something fails; the progress bar only
when stderr is a terminal; step lines only with ``-v``. A passing conversion without ``-v``
whose stderr is a pipe therefore leaves stderr empty: no TensorFlow, absl or oneDNN lines, no
Python warnings from Keras or numpy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from caffe2keras.runtime import quiet

# The two lines TensorFlow 2.21's import wrote twice per process before (issue 11).
ABSL = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
ONEDNN = (
    "I0000 00:00:1795963662.639931    6477 port.cc:153] oneDNN custom operations are on. You "
    "may see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`."
)
CPU_GUARD = (
    "I0000 00:00:1795963694.421510    7088 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations."
)
CPU_GUARD_2 = (
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags."
)
KEPT = [
    "W0000 00:00:1795963694.421510    7088 gpu_device.cc:2344] Cannot dlopen some GPU libraries.",
    "E0000 00:00:1795963694.421510    7088 cuda_driver.cc:152] failed call to cuInit",
    "error: /x/net.prototxt:3:1: expected '}'",
    "Traceback (most recent call last):",
    "/venv/keras/src/ops/nn.py:12: UserWarning: something real",
    "I am not an absl line",
]


@pytest.mark.parametrize("line", [ABSL, ONEDNN, CPU_GUARD, CPU_GUARD_2])
def test_tensorflow_start_up_lines_are_noise(line: str) -> None:
    assert quiet.is_noise(line)


@pytest.mark.parametrize("line", KEPT)
def test_warnings_errors_and_everything_else_are_kept(line: str) -> None:
    assert not quiet.is_noise(line)


def test_the_filter_drops_noise_at_the_descriptor_and_keeps_the_rest() -> None:
    code = (
        "import os, sys\n"
        "from caffe2keras.runtime import quiet\n"
        "with quiet.filtered_stderr():\n"
        "    for line in json.loads(sys.argv[1]):\n"
        "        os.write(2, (line + '\\n').encode())\n"
        "    print('from python', file=sys.stderr)\n"
        "print('after', file=sys.stderr)\n"
    )
    lines = [ABSL, KEPT[0], ONEDNN, KEPT[1], CPU_GUARD, CPU_GUARD_2, KEPT[3]]
    done = subprocess.run(
        [sys.executable, "-c", "import json\n" + code, json.dumps(lines)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr.splitlines() == [KEPT[0], KEPT[1], KEPT[3], "from python", "after"]


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command line in a fresh interpreter, stderr a pipe (no progress bar)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "PYTHONWARNINGS"))}
    return subprocess.run(
        [sys.executable, "-m", "caffe2keras.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )


@pytest.mark.slow
def test_converting_densenet_prints_nothing_on_stderr(golden_zoo, tmp_path) -> None:
    g = golden_zoo("densenet121")
    out = tmp_path / "densenet121.h5"
    done = _cli(["convert", str(g.prototxt), str(g.caffemodel), "-o", str(out)], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "EQUIVALENT" in done.stdout and out.is_file()
    assert done.stderr == ""


@pytest.mark.slow
def test_convert_all_in_worker_processes_prints_nothing_on_stderr(golden_zoo, tmp_path) -> None:
    names = ["lenet", "cifar10_quick", "squeezenet_v1.1"]
    entries = []
    for name in names:
        g = golden_zoo(name)
        entries.append(
            {
                "name": name,
                "prototxt": str(g.prototxt),
                "caffemodel": str(g.caffemodel),
                "input_shapes": {k: list(v) for k, v in g.input_shapes.items()},
                "outputs": [f"{name}.keras"],
            }
        )
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"model": entries}))
    done = _cli(
        ["convert-all", str(config), "--out-dir", str(tmp_path / "out"), "-j", "2"], tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"all {len(names)} models passed" in done.stdout
    assert done.stderr == ""
