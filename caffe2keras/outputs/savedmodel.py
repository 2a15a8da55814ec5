"""Write a TensorFlow SavedModel with a ``serve`` signature through Keras' own export."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from caffe2keras.errors import UsageError

SAVED_MODEL_FILE = "saved_model.pb"


def check_target(path: str | os.PathLike[str]) -> None:
    """A SavedModel target is a folder name: a new one, or an earlier SavedModel to replace
    (never a file, never a folder holding anything else)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"-o/--output '{os.fspath(path)}' is a file: a SavedModel is a folder")
    if p.is_dir() and any(p.iterdir()) and not (p / SAVED_MODEL_FILE).exists():
        raise UsageError(
            f"-o/--output '{os.fspath(path)}' is a folder that holds no SavedModel: "
            "refusing to replace it (name a new folder)"
        )
    folder = p.absolute().parent
    if not folder.is_dir():
        raise UsageError(f"-o/--output '{os.fspath(path)}': the folder '{p.parent}' does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"-o/--output '{os.fspath(path)}': the folder '{folder}' is not writable")


def write_savedmodel(model: Any, path: str | os.PathLike[str]) -> None:
    """``model`` as a SavedModel folder at ``path`` (which must not exist): ``serving_default``
    takes the Keras inputs by name (NHWC) and returns ``output_0``, ``output_1``, ... in the
    order of the model's outputs."""
    from caffe2keras.runtime import quiet

    with quiet.keras_variable_copy_warning_silenced():
        model.export(os.fspath(path), format="tf_saved_model", verbose=False)
