"""Run one hand-built layer through the reference executor."""

from __future__ import annotations

from typing import Any

import numpy as np

from caffe2keras.families.conv import ConvParams
from caffe2keras.ir.graph import Graph, InputSpec, Layer
from caffe2keras.reference import run_reference


def make_layer(type_: str, params: Any, *blobs: Any, bottoms: int = 1, tops: int = 1) -> Layer:
    """A layer reading bottoms in0.. and writing tops out0.., blobs as float64 arrays."""
    return Layer(
        name=type_.lower(),
        type=type_,
        bottoms=tuple(f"in{i}" for i in range(bottoms)),
        tops=tuple(f"out{i}" for i in range(tops)),
        params=params,
        blobs=tuple(np.asarray(b, dtype=np.float64) for b in blobs),
    )


def run_layer(layer: Layer, *inputs: Any, dtype: Any = np.float64) -> list[np.ndarray]:
    """The layer's tops for the given bottoms, through :func:`run_reference`."""
    arrays = [np.asarray(x, dtype=np.float64) for x in inputs]
    specs = tuple(InputSpec(b, a.shape) for b, a in zip(layer.bottoms, arrays))
    graph = Graph(name="one", inputs=specs, layers=(layer,), outputs=layer.tops)
    out = run_reference(graph, dict(zip(layer.bottoms, arrays)), dtype)
    return [out[t] for t in layer.tops]


def conv_params(o, kernel, stride, pad, dil, group) -> ConvParams:
    """Convolution/Deconvolution parameters with a bias, along axis 1."""
    return ConvParams(
        num_output=o,
        kernel=kernel,
        stride=stride,
        pad=pad,
        dilation=dil,
        group=group,
        bias_term=True,
        axis=1,
    )
