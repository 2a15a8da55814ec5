"""Write a TFLite flatbuffer: Keras' SavedModel export, then TensorFlow's TFLite converter.

Builtin TFLite operators are preferred; TensorFlow operators (``SELECT_TF_OPS``, "Flex" ops in
the file) are allowed only where no builtin expresses a layer, and the verification reports which
layers need them. ``float16`` stores the weights in float16 (half the file; the interpreter
computes in float32 after dequantizing them).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from caffe2keras.errors import ExportError
from caffe2keras.outputs.savedmodel import write_savedmodel


def tflite_bytes(model: Any, scratch: str | os.PathLike[str], float16: bool = False) -> bytes:
    """The TFLite flatbuffer of ``model`` (a SavedModel is written under ``scratch`` first)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory(dir=scratch, prefix=".caffe2keras-tflite-") as tmp:
        saved = Path(tmp) / "saved"
        write_savedmodel(model, saved)
        converter = tf.lite.TFLiteConverter.from_saved_model(os.fspath(saved))
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS,
            tf.lite.OpsSet.SELECT_TF_OPS,
        ]
        if float16:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        try:
            return bytes(converter.convert())
        except Exception as exc:  # TensorFlow's ConverterError and friends: name what failed
            lines = [line for line in str(exc).splitlines() if line.strip()] or [repr(exc)]
            raise ExportError(f"TensorFlow's TFLite converter failed: {lines[0][:300]}") from exc


def write_tflite(
    model: Any, path: str | os.PathLike[str], scratch: str | os.PathLike[str], float16: bool
) -> None:
    """Write ``model`` as a TFLite file at ``path`` (``scratch``: a folder for the SavedModel)."""
    Path(path).write_bytes(tflite_bytes(model, scratch, float16))
