"""The order in which ``convert-all``'s workers take the models: longest first.

With N workers the batch ends when the last worker finishes, so a long model taken last (the
list is often alphabetical: ``resnet152`` after ``mobilenet_v1``) keeps one worker busy while the
others idle. Handing out the models longest first (the LPT rule) keeps the makespan within 4/3
of the best possible. A model's cost is estimated in the parent without importing anything
heavy: from its prototxt's layer count (the Keras build and the eager verification walk cost
per layer) and its caffemodel's size (reading, transposing, writing and the reference's
matrix products grow with the weights). The report keeps the list's order whatever this says.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from caffe2keras.convert_all.config import ModelSpec

# Seconds per layer and per MB of weights, fitted to one convert-all of the 15 zoo models on a
# 2-core machine (per-model times from ``--timeline``); only their ratio matters for the order.
SECONDS_PER_LAYER = 0.06
SECONDS_PER_MB = 0.12
_LAYER = re.compile(rb"^\s*layers?\s*\{", re.MULTILINE)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0  # the model's own error is reported when it is converted


def _layers(path: str) -> int:
    try:
        with open(path, "rb") as f:
            return len(_LAYER.findall(f.read()))
    except OSError:
        return 0


def estimate(spec: ModelSpec) -> float:
    """A model's rough conversion seconds (verified into its first output; each further output
    adds a build and a write)."""
    one = SECONDS_PER_LAYER * _layers(spec.prototxt)
    one += SECONDS_PER_MB * _size(spec.caffemodel) / 1e6
    if spec.options.get("verify", True) is False:
        one *= 0.4  # no reference passes, no eager walk
    return one * (1 + 0.5 * (len(spec.outputs) - 1))


def longest_first(specs: Sequence[ModelSpec]) -> list[int]:
    """The models' indices by decreasing estimate (ties keep the list's order)."""
    costs = [estimate(s) for s in specs]
    return sorted(range(len(specs)), key=lambda i: -costs[i])
