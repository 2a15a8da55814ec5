"""The pycaffe second opinion: real Caffe runs the net in a child process.

Caffe aborts the process on any error (a glog CHECK failure), so it never runs in ours: the
child (:mod:`caffe2keras.verify.caffe_worker`) gets the instantiated prototxt, the caffemodel
path and the inputs in a temporary folder, runs each layer alone and saves every top. A crash or
an abort becomes the second opinion's ``error``; the verdict stays the numpy reference's.

What is compared: every top of every layer our reference graph has, by (layer name, top index);
Caffe's own ``*_split_*`` layers are skipped. In-place blobs are compared version by version.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from caffe2keras.errors import UsageError
from caffe2keras.frontend.phase import NetState
from caffe2keras.ir.graph import Graph
from caffe2keras.verify.netdef import engine_runner
from caffe2keras.verify.second import EngineRun, EngineRunner

TIMEOUT_SECONDS = 1800


def check_pycaffe() -> None:
    """A UsageError unless ``import caffe`` can find pycaffe."""
    if importlib.util.find_spec("caffe") is None:
        raise UsageError(
            "--reference caffe needs pycaffe ('import caffe'), which is not installed "
            "(build Caffe with its Python bindings and put them on PYTHONPATH)"
        )


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # the same imports as ours
    env.setdefault("GLOG_minloglevel", "2")  # Caffe's INFO/WARNING chatter
    return env


def _failure(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith(("F", "Check failed", "Error"))]
    detail = (fatal or lines or ["no message"])[-1]
    if proc.returncode < 0:
        return f"Caffe aborted (signal {-proc.returncode}): {detail}"
    return f"Caffe failed (exit code {proc.returncode}): {detail}"


def run_caffe(
    prototxt_text: str,
    caffemodel: str | os.PathLike[str],
    graph: Graph,
    inputs: Mapping[str, np.ndarray],
) -> EngineRun:
    """Run the worker on the rewritten net and map its tops to our blob names."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="caffe2keras-caffe-") as tmp:
        Path(tmp, "net.prototxt").write_text(prototxt_text)
        request = {"caffemodel": os.path.abspath(os.fspath(caffemodel))}
        Path(tmp, "request.json").write_text(json.dumps(request))
        feed: dict[str, Any] = {k: np.ascontiguousarray(v, np.float32) for k, v in inputs.items()}
        np.savez(Path(tmp, "inputs.npz"), **feed)
        cmd = [sys.executable, "-m", "caffe2keras.verify.caffe_worker", tmp]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, env=_child_env(), timeout=TIMEOUT_SECONDS
            )
        except subprocess.TimeoutExpired:
            return EngineRun("Caffe", error=f"Caffe took more than {TIMEOUT_SECONDS} s")
        if proc.returncode != 0:
            return EngineRun("Caffe", error=_failure(proc))
        result = json.loads(Path(tmp, "result.json").read_text())
        with np.load(Path(tmp, "blobs.npz"), allow_pickle=False) as saved:
            values = {key: saved[key] for key in saved.files}
    tops = {layer.name: layer.tops for layer in graph.layers}
    blobs = {}
    for layer, index, key in result["tops"]:
        if layer in tops and index < len(tops[layer]):
            blobs[tops[layer][index]] = values[key]
    missing = [name for name in tops if tops[name] and tops[name][0] not in blobs]
    notes = (f"{len(missing)} layers not found in Caffe's net: {', '.join(missing[:5])}",)
    return EngineRun(
        str(result.get("engine", "Caffe")),
        blobs=blobs,
        notes=notes if missing else (),
        seconds=time.perf_counter() - start,
    )


def caffe_runner(
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str],
    graph: Graph,
    state: NetState,
) -> EngineRunner:
    """A runner for ``verify_model``; fails now (UsageError) when pycaffe is not installed."""
    check_pycaffe()
    return engine_runner(
        "caffe",
        prototxt,
        caffemodel,
        graph,
        state,
        lambda text, inputs: run_caffe(text, caffemodel, graph, inputs),
    )
