"""Output formats beyond the suffix rule: ``--format keras2-weights``/``savedmodel``/``tflite``,
``--split-scale`` and ``--tflite-float16``."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from caffe2keras.errors import UsageError

KERAS2_WEIGHTS = "keras2-weights"
SAVEDMODEL = "savedmodel"
TFLITE = "tflite"
# Deployment exports, verified in their own runtime (caffe2keras.export).
EXPORT_FORMATS = (SAVEDMODEL, TFLITE)
FORMAT_CHOICES = (KERAS2_WEIGHTS, *EXPORT_FORMATS)  # the suffix decides otherwise


def format_of(path: str | os.PathLike[str], fmt: str | None) -> str:
    """The format to write: ``fmt`` when given, else by suffix (``.tflite`` included)."""
    from caffe2keras.outputs.writers import output_format

    if fmt is not None:
        return fmt
    return TFLITE if os.fspath(path).endswith(".tflite") else output_format(path)


def check_output(
    path: str | os.PathLike[str], fmt: str | None, split_scale: bool, float16: bool = False
) -> None:
    """Fail on a bad output name, format or flag combination before any work."""
    from caffe2keras.outputs.writers import output_format
    from caffe2keras.runtime.paths import output_file

    if float16 and format_of(path, fmt) != TFLITE:
        raise UsageError("--tflite-float16 only applies to a .tflite output (--format tflite)")
    if fmt == SAVEDMODEL:
        from caffe2keras.outputs.savedmodel import check_target

        return check_target(path)
    output_file(path, "the output")
    if fmt == TFLITE or (fmt is None and os.fspath(path).endswith(".tflite")):
        return
    if fmt is not None and fmt not in FORMAT_CHOICES:
        raise UsageError(f"unknown output format '{fmt}' (choices: {', '.join(FORMAT_CHOICES)})")
    if split_scale and fmt != KERAS2_WEIGHTS:
        raise UsageError(f"--split-scale only applies to --format {KERAS2_WEIGHTS}")
    if fmt == KERAS2_WEIGHTS:
        from caffe2keras.outputs.keras2_weights import check_path

        check_path(path)
    else:
        output_format(path)


def write_output(
    built: Any,
    path: str | os.PathLike[str],
    metadata: Mapping[str, Any],
    fmt: str | None = None,
    split_scale: bool = False,
    done: Callable[[], None] | None = None,
) -> str:
    """Write a built model in the requested format (default: by suffix); returns the format.

    ``done`` is called after each weight streamed from the caffemodel (progress)."""
    if fmt == KERAS2_WEIGHTS:
        from caffe2keras.outputs.keras2_weights import write_keras2_weights

        return write_keras2_weights(built, path, metadata, split_scale)
    from caffe2keras.outputs.writers import write_model

    return write_model(built.model, path, metadata, built.sources, done, filled=built.filled)
