"""Caffe shape inference: top shapes and expected blob shapes per layer type, without Keras.

``infer_shapes(graph)`` returns every blob's Caffe shape (batch first). Each rule is registered
per layer type with :func:`shape_rule` and returns the top shapes and the shapes the layer's
learned blobs must have. The rules live with their layer family in :mod:`caffe2keras.families`;
Caffe's size arithmetic that the reference shares is in :mod:`.geometry`.
"""

from __future__ import annotations

from caffe2keras.ir.shapes.registry import (
    LayerShapes,
    canonical_axis,
    infer_layer,
    infer_shapes,
    shape_rule,
    shape_types,
)

__all__ = [
    "LayerShapes",
    "canonical_axis",
    "infer_layer",
    "infer_shapes",
    "shape_rule",
    "shape_types",
]
