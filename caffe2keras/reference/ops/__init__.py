"""The reference op families; importing this package registers every op."""

from __future__ import annotations

from caffe2keras.reference.ops import (  # noqa: F401
    activations,
    conv,
    dense,
    eltwise,
    norm,
    pooling,
    shape,
)
