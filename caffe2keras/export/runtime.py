"""Run an exported artifact in a fresh Python process that cannot import caffe2keras.

The child is :mod:`caffe2keras.export.deployer` run as a script: it loads the artifact the way
a deployer would and runs its ``serving_default`` signature. Inputs and outputs travel as
``.npz`` files in a temporary folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEPLOYER = Path(__file__).with_name("deployer.py")
RUNTIMES = {"tflite": "tf.lite.Interpreter", "savedmodel": "tf.saved_model.load"}


@dataclass(frozen=True)
class Deployed:
    """What the artifact computed in its own runtime: ``outputs`` by signature name
    (``output_0``, ...), the operators of a TFLite file, or the ``error`` the child reported."""

    outputs: dict[str, Any]
    ops: tuple[str, ...]
    error: str = ""


def _last_lines(text: str, n: int = 2) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-n:])


def run_deployed(fmt: str, artifact: str | os.PathLike[str], feed: Mapping[str, Any]) -> Deployed:
    """Run ``artifact`` (format ``fmt``) on ``feed`` (signature input name -> array) in a fresh
    interpreter that blocks ``import caffe2keras``."""
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="caffe2keras-deploy-") as tmp:
        inputs, outputs = Path(tmp) / "inputs.npz", Path(tmp) / "outputs.npz"
        arrays: dict[str, Any] = {k: np.asarray(v, np.float32) for k, v in feed.items()}
        np.savez(inputs, **arrays)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONNOUSERSITE": "1"}
        command = [sys.executable, os.fspath(DEPLOYER), fmt, os.path.abspath(artifact)]
        done = subprocess.run(
            [*command, os.fspath(inputs), os.fspath(outputs)],
            cwd=tmp,  # nothing of the caller's folder on the child's path
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not outputs.exists():
            why = _last_lines(done.stderr) or f"exit code {done.returncode}"
            return Deployed({}, (), f"the {RUNTIMES[fmt]} runtime failed: {why}")
        with np.load(outputs, allow_pickle=False) as data:
            result = {k: data[k] for k in data.files}
    ops = tuple(str(op) for op in result.pop("__ops__", ()))
    return Deployed(result, ops)
