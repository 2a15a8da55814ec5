"""Write Keras models and weights atomically, with conversion metadata in HDF5 outputs.

The output goes to a temporary file beside the target and is renamed over it only when complete,
so a failure or Ctrl-C never leaves a half-written output (or the temporary file) behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from caffe2keras.errors import OutputError, UsageError
from caffe2keras.runtime import interrupts, quiet

# Suffix -> format name. Longest suffix first: ".weights.h5" also ends with ".h5".
FORMATS = ((".weights.h5", "weights"), (".h5", "h5"), (".keras", "keras"))


def output_format(path: str | os.PathLike[str]) -> str:
    """'weights', 'h5' or 'keras' from the file name; anything else is a usage error."""
    name = os.fspath(path)
    for suffix, fmt in FORMATS:
        if name.endswith(suffix):
            return fmt
    raise UsageError(
        f"cannot tell the output format of '{name}': use .h5 (full model, legacy HDF5), "
        ".keras (native Keras 3) or .weights.h5 (weights only)"
    )


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``target`` (same suffix); renamed over it on success only."""
    target = Path(target)
    suffix = (
        next(s for s, _ in FORMATS if target.name.endswith(s))
        if any(target.name.endswith(s) for s, _ in FORMATS)
        else target.suffix
    )
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial{suffix}")
    if not target.parent.is_dir():
        raise UsageError(f"the output folder '{target.parent}' does not exist")
    if len(os.fsencode(tmp.name)) > _name_max(target.parent):
        raise OutputError(f"cannot write '{target}': the file name is too long")
    try:
        yield tmp
        interrupts.check()  # a Ctrl-C dropped mid-write still keeps the output out
        os.replace(tmp, target)
    except OSError as exc:  # a read-only folder, a full disk: the environment, not a bug
        raise OutputError(f"cannot write '{target}': {exc.strerror or exc}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    """Write a text file (report, manifest) completely or not at all."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _name_max(folder: Path) -> int:
    """The longest file name the folder's file system allows (255 where it cannot say)."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows) or no such limit
        return 255


def _quiet_legacy_h5_warning() -> None:
    """Keras logs a 'legacy HDF5' warning through absl on every .h5 save; .h5 is asked for."""
    try:
        import absl.logging
    except ImportError:  # pragma: no cover - absl comes with TensorFlow
        return
    absl.logging.set_verbosity(absl.logging.ERROR)


def _add_h5_metadata(path: Path, metadata: Mapping[str, Any]) -> None:
    import h5py

    with h5py.File(path, "a") as f:
        for key, value in sorted(metadata.items()):
            f.attrs[f"caffe2keras_{key}"] = json.dumps(value, sort_keys=True)


def write_model(
    model: Any,
    path: str | os.PathLike[str],
    metadata: Mapping[str, Any],
    sources: Sequence[tuple[Any, Sequence[Any]]] = (),
    done: Callable[[], None] | None = None,
    filled: bool = True,
) -> str:
    """Write ``model`` in the format its suffix names; returns the format.

    A weights-only output is streamed from ``sources`` (the caffemodel's weights, per Keras
    layer) when given: required when the model was built unfilled, and cheaper than copying every
    variable out of a filled model. ``done`` is called after each streamed weight."""
    from caffe2keras.outputs import weights_h5

    fmt = output_format(path)
    _quiet_legacy_h5_warning()
    if not filled and fmt != "weights":
        raise ValueError("only a weights-only output can be written from unfilled variables")
    stream = fmt == "weights" and bool(sources) and (not filled or weights_h5.supported())
    with atomic_path(path) as tmp, quiet.keras_variable_copy_warning_silenced():
        if stream:
            weights_h5.write_streamed(model, tmp, sources, done or (lambda: None))
        elif fmt == "weights":
            model.save_weights(tmp)
        else:
            from caffe2keras.outputs.legacy_h5 import saving_views

            with saving_views():  # .h5: variables read in place (.keras: no effect)
                model.save(tmp)
        if fmt in ("weights", "h5"):
            _add_h5_metadata(tmp, metadata)
        else:  # .keras embeds a date and memory addresses: make the bytes reproducible
            from caffe2keras.outputs.reproducible import normalize_keras_archive

            normalize_keras_archive(tmp)
    return fmt
