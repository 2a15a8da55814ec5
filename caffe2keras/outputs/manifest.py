"""Manifests: what went in and what came out, with sha256 hashes to pin (``get_file(file_hash=)``).

A manifest is JSON (``schema_version`` 1): the tool and environment versions, then one entry per
model with the sha256 of its prototxt and caffemodel, its input shapes, the preprocessing the
prototxt records (never applied by the converter), the options, every output's sha256 and size,
and the verification summary. It holds no timestamps, so converting the same inputs with the same
versions gives the same manifest. The same provenance goes into HDF5 outputs as ``caffe2keras_*``
attributes (:func:`provenance`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import stat
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from caffe2keras.frontend.load import LoadOptions, build_raw_graph, parse_prototxt
from caffe2keras.frontend.phase import NetState
from caffe2keras.inspection.hints import preprocessing_hints
from caffe2keras.ir.graph import Graph

SCHEMA_VERSION = 1
_PACKAGES = (
    "caffe2keras",
    "keras",
    "tensorflow",
    "tensorflow-cpu",
    "jax",
    "torch",
    "numpy",
    "h5py",
)


def _key(path: str | os.PathLike[str]) -> tuple[str, int, int]:
    st = os.stat(path)
    return os.path.realpath(path), st.st_size, st.st_mtime_ns


def sha256(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks. Remembered per (file, size, mtime): the h5
    provenance and the manifest both hash the caffemodel, which may be hundreds of MB. Waits for
    a hash :func:`prefetch_sha256` started."""
    key = _key(path)
    pending = _PREFETCHED.pop(key, None)
    if pending is not None:
        return pending.result()
    return _sha256(*key)


# Hashes under way in background threads, by (file, size, mtime); taken by sha256().
_PREFETCHED: dict[tuple[str, int, int], Future[str]] = {}


def prefetch_sha256(*paths: str | os.PathLike[str]) -> None:
    """Start hashing ``paths`` in a background thread (hashlib releases the GIL while it hashes),
    so a conversion's build and write overlap the hash of a large caffemodel. A daemon thread: an
    early error or exit does not wait for it."""
    keys = []
    for path in paths:  # regular files only; errors are the reader's to report, not ours
        try:
            if stat.S_ISREG(os.stat(path).st_mode):
                keys.append(_key(path))
        except (OSError, ValueError):
            continue
    futures: list[Future[str]] = [Future() for _ in keys]

    def work() -> None:
        for key, future in zip(keys, futures):
            try:
                future.set_result(_sha256(*key))
            except BaseException as exc:  # handed to the waiting sha256() call
                future.set_exception(exc)

    _PREFETCHED.update(zip(keys, futures))
    threading.Thread(target=work, name="caffe2keras-sha256", daemon=True).start()


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_entry(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Name, sha256 and size of one file; of a folder (a SavedModel), the sha256 of its files'
    relative paths and sha256s in sorted order, and their total size."""
    if not os.path.isdir(path):
        return {"path": os.fspath(path), "sha256": sha256(path), "bytes": os.path.getsize(path)}
    files = sorted(p for p in Path(path).rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for p in files:
        digest.update(f"{p.relative_to(path).as_posix()}\0{sha256(p)}\n".encode())
    size = sum(p.stat().st_size for p in files)
    return {"path": os.fspath(path), "sha256": digest.hexdigest(), "bytes": size}


def provenance(
    prototxt: str | os.PathLike[str], caffemodel: str | os.PathLike[str], graph: Graph
) -> dict[str, Any]:
    """The provenance stored in HDF5 outputs (with the converter version and layer-name map)."""
    return {
        "prototxt_sha256": sha256(prototxt),
        "caffemodel": os.path.basename(os.fspath(caffemodel)),
        "caffemodel_sha256": sha256(caffemodel),
        "input_shapes": {spec.name: list(spec.shape) for spec in graph.inputs},
    }


def environment() -> dict[str, Any]:
    """Versions of the tool and of what produced the outputs (installed packages only)."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    keras = sys.modules.get("keras")  # only when the caller already uses it
    backend = keras.config.backend() if keras else os.environ.get("KERAS_BACKEND", "tensorflow")
    return {"python": platform.python_version(), "keras_backend": backend, "packages": versions}


def net_facts(prototxt: str | os.PathLike[str], options: Any) -> dict[str, Any]:
    """Input shapes (after overrides) and preprocessing hints, without Keras."""
    load = LoadOptions(
        input_shapes=options.input_shapes,
        state=NetState(phase=options.phase, stages=tuple(options.stages)),
    )
    parsed = parse_prototxt(prototxt)  # with plugin layers' own fields, as convert reads them
    net_pb = parsed.net
    raw = build_raw_graph(net_pb, None, load, parsed.custom_fields)
    text = Path(prototxt).read_text(encoding="utf-8", errors="replace")  # comments may be GBK
    hints = preprocessing_hints(net_pb, text)
    return {
        "input_shapes": {spec.name: list(spec.shape) for spec in raw.inputs},
        "preprocessing": [hint.to_dict() for hint in hints],
    }


def verification(report: Any) -> dict[str, Any] | None:
    """The verdict and numbers of a report, without timings (manifests stay reproducible)."""
    if report is None:
        return None
    doc = report.to_dict()
    return {
        "passed": doc["passed"],
        **doc["summary"],
        "culprit": None if doc["culprit"] is None else doc["culprit"]["layer"],
        "tolerance": doc["tolerance"],
        "reference": doc["reference"],
        "inputs": {k: v for k, v in doc["inputs"].items() if k != "shapes"},
    }


def options_entry(options: Any) -> dict[str, Any]:
    """The conversion options that shape the outputs and the verdict."""
    return {
        "phase": options.phase,
        "stages": list(options.stages),
        "tolerance": asdict(options.tolerance),
        "reference_dtype": options.reference_dtype,
        "seed": options.seed,
        "format": getattr(options, "format", None),
        "split_scale": getattr(options, "split_scale", False),
    }


def model_entry(
    name: str,
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str],
    options: Any,
    outputs: Sequence[str | os.PathLike[str]],
    report: Any = None,
) -> dict[str, Any]:
    """One model's manifest entry; ``outputs`` are the files actually written."""
    return {
        "name": name,
        "prototxt": file_entry(prototxt),
        "caffemodel": file_entry(caffemodel),
        **net_facts(prototxt, options),
        "options": options_entry(options),
        "outputs": [file_entry(p) for p in outputs],
        "verification": verification(report),
    }


def document(models: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The whole manifest."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": "caffe2keras",
        "environment": environment(),
        "models": list(models),
    }


def write(path: str | os.PathLike[str], doc: dict[str, Any]) -> None:
    """Write a manifest (or any JSON document) with a trailing newline, atomically."""
    from caffe2keras.outputs.writers import write_text_atomic

    write_text_atomic(path, json.dumps(doc, indent=1) + "\n")


def to_markdown(entry: dict[str, Any]) -> str:
    """A Markdown section for a report: inputs and outputs with their sha256."""
    lines = ["", "### Manifest", "", "| file | role | sha256 | bytes |", "|---|---|---|---:|"]
    files = [("prototxt", entry["prototxt"]), ("caffemodel", entry["caffemodel"])]
    files += [("output", out) for out in entry["outputs"]]
    for role, f in files:
        lines.append(
            f"| `{os.path.basename(f['path'])}` | {role} | `{f['sha256']}` | {f['bytes']} |"
        )
    shapes = ", ".join(f"{k}={'x'.join(map(str, v))}" for k, v in entry["input_shapes"].items())
    lines += ["", f"Input shapes (N,C,H,W): {shapes or 'none'}."]
    hints = "; ".join(f"{h['key']} = {h['value']} ({h['where']})" for h in entry["preprocessing"])
    lines.append(f"Preprocessing recorded in the prototxt: {hints or 'none'}.")
    return "\n".join(lines) + "\n"
