"""A plain-numpy executor of Caffe's forward semantics, independent of Keras.

``run_reference(graph, inputs)`` returns every blob of a reference graph; ops are registered per
layer type with :func:`reference_op` (one file per family under ``ops/``, discovered).

It shares the graph and the shape rules with the converter, but none of its weight arithmetic:
it runs BatchNorm and Scale as separate layers in Caffe's own NCHW layouts (no fold, no
transposes), and reads BatchNorm's moving-average factor itself (``ops/norm.bn_moving_stats``
beside the converter's ``ir/batchnorm.bn_statistics``), so that a mistake on the converter's side
shows up as a mismatch instead of being shared.
"""

from __future__ import annotations

from caffe2keras.reference.executor import iter_reference, run_reference
from caffe2keras.reference.registry import (
    reference_op,
    reference_types,
    register_reference_op,
)

__all__ = [
    "iter_reference",
    "reference_op",
    "reference_types",
    "register_reference_op",
    "run_reference",
]
