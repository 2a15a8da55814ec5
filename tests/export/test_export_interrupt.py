"""Ctrl-C in the middle of an export leaves neither the output nor a temporary behind.

The CLI runs in a subprocess with the staging test hook (``CAFFE2KERAS_TEST_INTERRUPT=staged``,
caffe2keras/outputs/staging.py): the process sends itself a real SIGINT right after the artifact
has been written to its temporary path beside the target (for a SavedModel: a whole folder), at
that deterministic point, before the runtime check and the rename. No sleeps, no polling.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"


def _default_sigint() -> None:
    """SIGINT back to its default action in the child (a background job inherits it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(
    ("name", "extra"), [("tiny_sm", ["--format", "savedmodel"]), ("tiny.tflite", [])]
)
def test_sigint_mid_export_leaves_nothing(tmp_path: Path, name: str, extra: list[str]) -> None:
    out = tmp_path / "out" / name
    out.parent.mkdir()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CAFFE2KERAS_TEST_INTERRUPT": "staged"}
    argv = [sys.executable, "-m", "caffe2keras.cli", "convert", str(TINY / "tiny.prototxt")]
    done = subprocess.run(
        [*argv, str(TINY / "tiny.caffemodel"), "-o", str(out), *extra, "-q"],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=_default_sigint,
        check=False,
    )
    assert done.returncode == 130, done.stderr[-2000:]
    assert "interrupted; no output was written" in done.stderr
    assert "Traceback" not in done.stderr
    assert os.listdir(out.parent) == []  # neither the output nor a temporary


def test_staged_folder_is_removed_on_interrupt_even_when_committing(
    tmp_path: Path, monkeypatch
) -> None:
    """A KeyboardInterrupt inside the staged block (where the hook fires) removes the staged
    folder and never renames it into place, even after ``commit`` was set."""
    from caffe2keras.outputs import staging

    seen: list[bool] = []
    monkeypatch.setattr(staging, "interrupt_hook", lambda: seen.append(True))
    target = tmp_path / "sm"
    with pytest.raises(KeyboardInterrupt), staging.staged(target) as stage:
        (stage.path / "variables").mkdir(parents=True)
        (stage.path / "saved_model.pb").write_bytes(b"x")
        staging.interrupt_hook()
        assert stage.path.is_dir() and seen
        stage.commit = True
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []
