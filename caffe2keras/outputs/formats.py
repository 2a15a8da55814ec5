"""Output formats beyond the suffix rule: ``--format keras2-weights`` and ``--split-scale``."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from caffe2keras.errors import UsageError

KERAS2_WEIGHTS = "keras2-weights"
FORMAT_CHOICES = (KERAS2_WEIGHTS,)  # the suffix decides otherwise


def check_output(path: str | os.PathLike[str], fmt: str | None, split_scale: bool) -> None:
    """Fail on a bad output name, format or flag combination before any work."""
    from caffe2keras.outputs.writers import output_format
    from caffe2keras.runtime.paths import output_file

    output_file(path, "the output")
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
