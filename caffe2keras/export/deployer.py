"""Run an exported artifact the way a deployer would, in a fresh process, without caffe2keras.

Run as a script (``python deployer.py FORMAT ARTIFACT INPUTS.npz OUTPUTS.npz``), never imported
by the package's own code paths: it installs an import blocker for ``caffe2keras`` first, so an
artifact that secretly needs the converter (a custom layer resolved by name, a pickled object)
fails here as it would on a deployment machine. It reads the inputs (keyed by the ``serve``
signature's input names, Keras layout), runs the ``serving_default`` signature through
``tf.saved_model.load`` or ``tf.lite.Interpreter``, and writes the outputs (keyed ``output_0``,
...) plus, for TFLite, the names of the operators the file holds (``__ops__``).

Only the standard library, numpy and TensorFlow are imported.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
import warnings
from typing import Any


class _Blocked(importlib.abc.MetaPathFinder):
    """Refuses ``caffe2keras`` and its submodules: a deployed model must not need them."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname == "caffe2keras" or fullname.startswith("caffe2keras."):
            raise ImportError(f"{fullname} is blocked: a deployed model must not need caffe2keras")
        return None


def _savedmodel(path: str, feed: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    serve = loaded.signatures["serving_default"]
    outs = serve(**{k: tf.constant(v) for k, v in feed.items()})
    return {k: v.numpy() for k, v in outs.items()}, []


def _tflite(path: str, feed: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    import tensorflow as tf

    with warnings.catch_warnings():  # "tf.lite.Interpreter moves to ai-edge-litert"
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=path)
    # the runner resizes the inputs (the batch axis is dynamic in the file) and allocates
    runner = interpreter.get_signature_runner("serving_default")
    outs = runner(**feed)
    ops = sorted({op["op_name"] for op in interpreter._get_ops_details()})
    return dict(outs), ops


RUNNERS = {"savedmodel": _savedmodel, "tflite": _tflite}


def main(argv: list[str]) -> int:
    sys.meta_path.insert(0, _Blocked())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    fmt, artifact, inputs, outputs = argv
    import numpy as np

    with np.load(inputs, allow_pickle=False) as data:
        feed = {k: data[k] for k in data.files}
    outs, ops = RUNNERS[fmt](artifact, feed)
    result: dict[str, Any] = {k: np.asarray(v) for k, v in outs.items()}
    result["__ops__"] = np.asarray(ops, dtype=str)
    np.savez(outputs, **result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
