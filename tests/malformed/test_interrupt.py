"""Ctrl-C while the output is being written leaves neither the output nor a temporary file.

``caffe2keras convert`` runs in a subprocess on a net with a 32 MiB InnerProduct; the test waits
until the temporary file appears beside the target (the writer is mid-write), sends SIGINT, and
expects exit code 130, the interruption message and an empty folder (inputs aside).
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from protowire import ld, varint

ROWS, COLS = 2048, 4096  # 32 MiB of float32 weights

PROTOTXT = f"""\
name: "big"
layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ dim: 1 dim: {COLS} }} }} }}
layer {{ name: "fc" type: "InnerProduct" bottom: "data" top: "fc"
  inner_product_param {{ num_output: {ROWS} bias_term: false }} }}
"""


def big_caffemodel() -> bytes:
    """A NetParameter with one InnerProduct layer 'fc' and its (ROWS, COLS) weight blob, encoded
    directly (packed float data straight from numpy)."""
    weights = np.random.default_rng(0).standard_normal((ROWS, COLS), np.float32) * 0.01
    dims = b"".join(varint(d) for d in (ROWS, COLS))
    blob = ld(7, ld(1, dims)) + ld(5, weights.astype("<f4").tobytes())
    layer = ld(1, b"fc") + ld(2, b"InnerProduct") + ld(7, blob)
    return ld(100, layer)


def _default_sigint() -> None:
    """In the child, before exec: SIGINT back to its default action. A shell's background job
    (``cmd &``, nohup) starts with SIGINT ignored, children inherit that, and Python then
    installs no KeyboardInterrupt handler: the tests must not depend on how they were launched."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _partial_files(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if "partial" in name]


@pytest.mark.parametrize("suffix", [".h5", ".weights.h5", ".keras"])
def test_sigint_while_writing_leaves_nothing(tmp_path: Path, suffix: str) -> None:
    proto, model = tmp_path / "big.prototxt", tmp_path / "big.caffemodel"
    proto.write_text(PROTOTXT)
    model.write_bytes(big_caffemodel())
    out = tmp_path / f"big{suffix}"
    argv = [sys.executable, "-m", "caffe2keras.cli", "convert", str(proto), str(model)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        [*argv, "-o", str(out), "--no-verify", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 300
    while not _partial_files(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    seen = _partial_files(tmp_path)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert seen, f"the writer never got to a temporary file (exit {proc.returncode}): {stderr}"
    assert proc.returncode == 130, stderr
    assert "interrupted; no output was written" in stderr
    assert "Traceback" not in stderr
    assert sorted(os.listdir(tmp_path)) == ["big.caffemodel", "big.prototxt"]


@pytest.mark.usefixtures("python_sigint_handler")
def test_ctrl_c_dropped_inside_a_gc_callback_still_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Python drops a KeyboardInterrupt raised inside a garbage-collector callback (JAX installs
    one); the recorded Ctrl-C must still stop the commit, exit 130, and print no traceback."""
    from caffe2keras.cli import exits
    from caffe2keras.outputs import writers

    def dropped_ctrl_c(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            signal.raise_signal(signal.SIGINT)  # the handler raises here, inside the callback

    def convert() -> int:
        gc.callbacks.append(dropped_ctrl_c)
        try:
            gc.collect()  # returns normally: the KeyboardInterrupt was dropped
        finally:
            gc.callbacks.remove(dropped_ctrl_c)
        with writers.atomic_path(tmp_path / "out.h5") as tmp:
            tmp.write_bytes(b"complete")
        return 0

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(SystemExit) as exit_:
        exits.run(convert, debug=False)
    err = capsys.readouterr().err
    assert exit_.value.code == 130, err
    assert "interrupted; no output was written" in err
    assert "Exception ignored" not in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []
