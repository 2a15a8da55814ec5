"""Normalised, frozen layer parameters: the only place protobuf layer fields are read.

``parse_params(layer_pb)`` returns the params dataclass registered for the layer's type (V2 type
name), with Caffe's defaults applied and repeated/``_h``/``_w`` forms resolved into explicit pairs.
Types without parameters get :class:`NoParams`. Unknown types get :class:`UnknownParams` so that
the support check can list them all at once instead of failing on the first. The parsers live
with their layer family in :mod:`caffe2keras.families`; ``transform_param`` (any layer's data
preprocessing) is read by :mod:`.transform`.
"""

from __future__ import annotations

from caffe2keras.frontend.params.registry import (
    NoParams,
    UnknownParams,
    param_parser,
    parse_params,
    registered_types,
)

__all__ = ["NoParams", "UnknownParams", "param_parser", "parse_params", "registered_types"]
