"""A plain-numpy executor of Caffe's forward semantics, independent of Keras.

``run_reference(graph, inputs)`` returns every blob of a reference graph; ops are registered per
layer type with :func:`reference_op` (one file per family under ``ops/``).
"""

from __future__ import annotations

from caffe2keras.reference import ops  # noqa: F401  (registers the ops)
from caffe2keras.reference.executor import run_reference
from caffe2keras.reference.registry import (
    reference_op,
    reference_types,
    register_reference_op,
)

__all__ = ["reference_op", "reference_types", "register_reference_op", "run_reference"]
