"""The ``convert-all`` model list: a TOML or JSON file, validated into frozen specs.

```toml
out_dir = "converted"            # optional; relative paths are relative to this file
[defaults]                       # optional; any per-model option below
rtol = 1e-4
[[model]]
name = "densenet121"
prototxt = "densenet121.prototxt"
caffemodel = "densenet121.caffemodel"
input_shapes = { data = [1, 3, 224, 224] }     # optional, Caffe order
outputs = ["densenet121.h5", "densenet121.weights.h5",
           { path = "densenet121_weights_tf.h5", format = "keras2-weights", split_scale = false }]
```
JSON: the same keys, ``models`` (or ``model``) a list. Output paths are relative to the output
folder. Unknown keys are errors, so a typo never silently changes a release.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caffe2keras.errors import UsageError
from caffe2keras.outputs.formats import FORMAT_CHOICES

# Per-model options (and their types) that may also appear under [defaults].
OPTION_TYPES: dict[str, type | tuple[type, ...]] = {
    "rtol": (int, float),
    "atol": (int, float),
    "noise_factor": (int, float),
    "detection_rows": (int, float),
    "reference_dtype": str,
    "seed": int,
    "batch": int,
    "phase": str,
    "stages": list,
    "verify": bool,
}
MODEL_KEYS = {"name", "prototxt", "caffemodel", "input_shapes", "outputs", *OPTION_TYPES}


@dataclass(frozen=True)
class OutputSpec:
    """One file to write: its path, and a format beyond the suffix rule (keras2-weights)."""

    path: str
    format: str | None = None
    split_scale: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """One model of the list, paths resolved, options merged over the defaults."""

    name: str
    prototxt: str
    caffemodel: str
    outputs: tuple[OutputSpec, ...]
    input_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def _load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the model list '{path}': {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"the model list '{path}' is not UTF-8 text (byte {exc.start})") from None
    loads: Callable[[str], Any] = json.loads
    if path.suffix != ".json":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            raise UsageError("TOML model lists need Python 3.11+; use a .json list") from None
        loads = tomllib.loads
    try:
        doc = loads(text)
    except ValueError as exc:  # json.JSONDecodeError and tomllib.TOMLDecodeError
        raise UsageError(f"'{path}' is not valid {path.suffix[1:].upper()}: {exc}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"'{path}' must hold a table/object at the top level")
    return doc


def _check_options(where: str, options: dict[str, Any]) -> None:
    for key, value in options.items():
        want = OPTION_TYPES.get(key)
        if want is None:
            raise UsageError(f"{where}: unknown option '{key}' (known: {', '.join(OPTION_TYPES)})")
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise UsageError(f"{where}: option '{key}' has the wrong type ({value!r})")


def _output(where: str, item: Any, out_dir: Path) -> OutputSpec:
    if isinstance(item, str):
        item = {"path": item}
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        raise UsageError(f"{where}: each output is a path or a table with a 'path'")
    unknown = set(item) - {"path", "format", "split_scale"}
    if unknown:
        raise UsageError(f"{where}: unknown output key(s) {', '.join(sorted(unknown))}")
    if item.get("format") not in (None, *FORMAT_CHOICES):
        raise UsageError(f"{where}: unknown output format {item['format']!r}")
    return OutputSpec(
        path=os.fspath(out_dir / item["path"]),
        format=item.get("format"),
        split_scale=bool(item.get("split_scale", False)),
    )


def _model(entry: Any, index: int, base: Path, out_dir: Path, defaults: dict) -> ModelSpec:
    where = f"model #{index + 1}"
    if not isinstance(entry, dict):
        raise UsageError(f"{where} must be a table/object")
    where = f"model '{entry.get('name', index + 1)}'"
    unknown = set(entry) - MODEL_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("name", "prototxt", "caffemodel", "outputs"):
        if key not in entry:
            raise UsageError(f"{where}: '{key}' is required")
    if not isinstance(entry["outputs"], list) or not entry["outputs"]:
        raise UsageError(f"{where}: 'outputs' must be a non-empty list")
    options = {k: v for k, v in entry.items() if k in OPTION_TYPES}
    _check_options(where, options)
    shapes = entry.get("input_shapes", {})
    if not isinstance(shapes, dict) or not all(
        isinstance(v, list) and v and all(isinstance(d, int) and d > 0 for d in v)
        for v in shapes.values()
    ):
        raise UsageError(f"{where}: input_shapes must map names to lists of positive integers")
    return ModelSpec(
        name=str(entry["name"]),
        prototxt=os.fspath(base / entry["prototxt"]),
        caffemodel=os.fspath(base / entry["caffemodel"]),
        outputs=tuple(_output(where, item, out_dir) for item in entry["outputs"]),
        input_shapes={k: tuple(v) for k, v in shapes.items()},
        options={**defaults, **options},
    )


@dataclass(frozen=True)
class ModelList:
    """A validated list: the output folder and the models."""

    out_dir: str
    models: tuple[ModelSpec, ...]


def read_model_list(path: str | os.PathLike[str], out_dir: str | None = None) -> ModelList:
    """Parse and validate a model list; ``out_dir`` overrides the file's own ``out_dir``."""
    path = Path(path)
    doc = _load(path)
    unknown = set(doc) - {"out_dir", "defaults", "model", "models"}
    if unknown:
        raise UsageError(f"'{path}': unknown top-level key(s) {', '.join(sorted(unknown))}")
    base = path.resolve().parent
    folder = Path(out_dir) if out_dir is not None else base / str(doc.get("out_dir", "."))
    defaults = doc.get("defaults", {})
    if not isinstance(defaults, dict):
        raise UsageError(f"'{path}': [defaults] must be a table")
    _check_options("[defaults]", defaults)
    entries = doc.get("models", doc.get("model", []))
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"'{path}' lists no models ([[model]] tables or a 'models' list)")
    specs = [_model(e, i, base, folder, defaults) for i, e in enumerate(entries)]
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"'{path}': model names must be unique, repeated: {', '.join(dupes)}")
    return ModelList(out_dir=os.fspath(folder), models=tuple(specs))
