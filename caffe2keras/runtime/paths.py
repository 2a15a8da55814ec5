"""Check every path of a command line before any work: usage errors (exit 2) in milliseconds.

A file the user names must exist and be a file; an output must not be a folder and its folder
must exist and be writable; an output folder that will be created must have a writable existing
parent. Whether an existing input file can be *read* and parsed stays with the loaders (exit 3,
an unreadable or invalid input file). Only ``os`` and ``pathlib``: no numpy, no Keras.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from caffe2keras.errors import UsageError

# Options (click keyword -> how the user spelled it) naming files that must exist.
INPUT_FILE_OPTIONS = {"plugin": "--plugin", "input_npy": "--input", "image": "--image"}
# Options naming files to write.
OUTPUT_FILE_OPTIONS = {
    "report_json": "--report",
    "report_md": "--report-md",
    "report_html": "--report-html",
    "manifest": "--manifest",
    "manifest_path": "--manifest",
    "timeline_path": "--timeline",
}
# Options whose values may be NAME=PATH.
NAMED_OPTIONS = ("input_npy", "image")


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def input_file(path: str | os.PathLike[str], what: str) -> None:
    """``path`` exists and is a file (``what`` names the argument or option in the message)."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{what} '{os.fspath(path)}' is a folder, not a file")
    if not p.exists():
        raise UsageError(f"{what} '{os.fspath(path)}': no such file")


def output_file(path: str | os.PathLike[str], what: str) -> None:
    """``path`` can be written: not a folder, in an existing writable folder."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{what} '{os.fspath(path)}' is an existing folder, not a file name")
    folder = p.absolute().parent
    if not folder.is_dir():
        shown = os.fspath(p.parent)
        reason = "is a file" if folder.exists() else "does not exist"
        raise UsageError(f"{what} '{os.fspath(path)}': the folder '{shown}' {reason}")
    if not _writable(folder):
        raise UsageError(f"{what} '{os.fspath(path)}': the folder '{folder}' is not writable")


def output_folder(path: str | os.PathLike[str], what: str) -> None:
    """``path`` is a writable folder, or can be created (its nearest existing parent is one)."""
    p = Path(path).absolute()
    if p.exists() and not p.is_dir():
        raise UsageError(f"{what} '{os.fspath(path)}' is a file, not a folder")
    existing = p
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{what} '{os.fspath(path)}' cannot be created: '{existing}' is a file")
    if not _writable(existing):
        raise UsageError(f"{what} '{os.fspath(path)}': the folder '{existing}' is not writable")


def _named_path(text: str) -> str:
    """The path of a ``[NAME=]PATH`` value (a path with '=' in it that exists is a path)."""
    name, sep, path = text.rpartition("=")
    return path if sep and name and not os.path.exists(text) else text


def _values(key: str, value: Any) -> Iterable[str]:
    values = value if isinstance(value, (tuple, list)) else (value,)
    for v in values:
        if v:
            yield _named_path(v) if key in NAMED_OPTIONS else v


def check_options(kw: Mapping[str, Any]) -> None:
    """Check the path options present in a command's click keywords."""
    for key, option in INPUT_FILE_OPTIONS.items():
        for path in _values(key, kw.get(key)):
            input_file(path, option)
    for key, option in OUTPUT_FILE_OPTIONS.items():
        for path in _values(key, kw.get(key)):
            output_file(path, option)


def check_net_files(prototxt: str, caffemodel: str | None) -> None:
    """The PROTOTXT and CAFFEMODEL arguments exist and are files."""
    input_file(prototxt, "the prototxt")
    if caffemodel is not None:
        input_file(caffemodel, "the caffemodel")


def check_command(
    kw: Mapping[str, Any],
    prototxt: str,
    caffemodel: str | None,
    output: str | None = None,
    model: str | None = None,
) -> None:
    """Every path of a convert / verify / inspect command line (``kw``: its click keywords)."""
    check_net_files(prototxt, caffemodel)
    if model is not None:
        input_file(model, "the model")
    if output is not None:
        output_file(output, "-o/--output")
    check_options(kw)
