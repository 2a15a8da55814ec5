"""Run saved models under the Keras backend named by $KERAS_BACKEND (a subprocess of the tests).

Usage: ``python backend_runner.py JOBS.json``; each job is ``{"model": path, "inputs": npz,
"outputs": npz}``. Inputs are fed in the npz's key order (``arr_0``, ``arr_1``...); the outputs
npz gets one array per model output, in order. Prints the backend used.
"""

from __future__ import annotations

import json
import sys

import keras
import numpy as np

import caffe2keras.layers  # noqa: F401  (registers the custom layers for safe-mode loading)


def run(job: dict[str, str]) -> None:
    model = keras.models.load_model(job["model"], safe_mode=True, compile=False)
    with np.load(job["inputs"]) as z:
        feed = [z[f"arr_{i}"] for i in range(len(z.files))]
    # a single-input model takes a bare array (caffe2keras builds it with one bare input)
    one = not isinstance(model.input, (list, tuple))
    outputs = model(feed[0] if one else feed, training=False)
    flat = keras.tree.flatten(outputs)
    np.savez(job["outputs"], *[keras.ops.convert_to_numpy(o) for o in flat])


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        jobs = json.load(f)
    for job in jobs:
        run(job)
    print(keras.config.backend())


if __name__ == "__main__":
    main()
