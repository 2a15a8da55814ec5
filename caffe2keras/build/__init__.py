"""Keras builders: a registry of per-layer-type builders and the driver that assembles a model.

Importing this package registers every built-in builder; it imports Keras only when a builder or
the driver runs.
"""

from caffe2keras.build import (  # noqa: F401
    activations,
    activations_extra,
    combine,
    conv,
    dense,
    lrn,
    norm,
    pooling,
    reduce,
    scale_axes,
    shape,
    slicing,
)
from caffe2keras.build.registry import builder, builder_types, register_builder

__all__ = ["builder", "builder_types", "register_builder"]
