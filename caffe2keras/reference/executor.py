"""Run a reference graph on numpy inputs, keeping every blob."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
from numpy.typing import DTypeLike

from caffe2keras.errors import UnsupportedLayersError, ValidationError
from caffe2keras.ir.graph import Graph
from caffe2keras.ir.layouts import layout_kinds
from caffe2keras.layout import CAFFE, caffe_batch_axis
from caffe2keras.reference.registry import lookup_reference_op


def _check_supported(graph: Graph) -> None:
    missing: dict[str, list[str]] = {}
    for layer in graph.layers:
        if lookup_reference_op(layer.type) is None:
            missing.setdefault(layer.type, []).append(layer.name)
    if missing:
        raise UnsupportedLayersError(missing, "the numpy reference has no op for them")


def _bind_inputs(
    graph: Graph, inputs: Mapping[str, np.ndarray], dtype: np.dtype
) -> dict[str, np.ndarray]:
    """Each graph input from ``inputs`` (by graph name or Caffe name), checked and cast."""
    values: dict[str, np.ndarray] = {}
    accepted: set[str] = set()
    layouts = layout_kinds(graph)
    for spec in graph.inputs:
        caffe = graph.caffe_name(spec.name)
        accepted.update((spec.name, caffe))
        key = spec.name if spec.name in inputs else caffe
        # the batch may differ from the prototxt's: axis 0, or 1 for time-major (T, N, ...)
        axis = caffe_batch_axis(layouts.get(spec.name, CAFFE))
        expected: list[int | str] = list(spec.shape)
        expected[axis] = "N"
        if key not in inputs:
            raise ValidationError(
                f"input '{caffe}' is missing (expected shape {expected})", field="input"
            )
        arr = np.asarray(inputs[key])
        same = all(a == e for a, e in zip(arr.shape, expected) if e != "N")
        if arr.ndim != len(spec.shape) or not same or not arr.shape[axis]:
            raise ValidationError(
                f"input '{caffe}' has shape {list(arr.shape)}, the net expects {expected}",
                field="input",
            )
        if not np.issubdtype(arr.dtype, np.number):
            raise ValidationError(
                f"input '{caffe}' has non-numeric dtype {arr.dtype}", field="input"
            )
        values[spec.name] = np.array(arr, dtype=dtype)
    unknown = sorted(set(inputs) - accepted)
    if unknown:
        names = ", ".join(graph.caffe_name(s.name) for s in graph.inputs)
        raise ValidationError(
            f"unknown input(s) {', '.join(unknown)} (the net's inputs: {names})", field="input"
        )
    return values


def last_uses(graph: Graph) -> dict[str, int]:
    """Each blob's last consuming layer (index into ``graph.layers``); -1 when none reads it."""
    last: dict[str, int] = {spec.name: -1 for spec in graph.inputs}
    for i, layer in enumerate(graph.layers):
        for top in layer.tops:
            last.setdefault(top, -1)
        for bottom in layer.bottoms:
            last[bottom] = i
    return last


def iter_reference(
    graph: Graph, inputs: Mapping[str, np.ndarray], dtype: DTypeLike = np.float64
) -> Iterator[tuple[str, np.ndarray]]:
    """Caffe's TEST-phase forward pass of ``graph`` in numpy, one blob at a time.

    Yields ``(blob, value)`` for each input, then each layer's tops in graph order (graph names;
    aliases are not yielded: resolve them with ``graph.resolve``). The executor drops its own
    reference to a blob once its last consumer has run, so a caller that keeps only what it
    still needs holds a forward pass's live set, not every activation. Arrays are read-only.
    See :func:`run_reference` for ``inputs`` and ``dtype``.
    """
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(f"dtype must be a floating type, got {dtype}")
    _check_supported(graph)
    values = _bind_inputs(graph, inputs, dtype)
    last = last_uses(graph)
    for name, arr in values.items():
        arr.flags.writeable = False
        yield name, arr
    for i, layer in enumerate(graph.layers):
        op = lookup_reference_op(layer.type)
        assert op is not None
        missing = [b for b in layer.bottoms if b not in values]
        if missing:
            raise ValidationError(
                f"bottom '{missing[0]}' is not produced by any earlier layer or input",
                layer=layer.name,
                field="bottom",
            )
        outputs = op(layer, [values[b] for b in layer.bottoms], dtype)
        if len(outputs) != len(layer.tops):
            raise RuntimeError(
                f"reference op for {layer.type} returned {len(outputs)} "
                f"arrays for {len(layer.tops)} tops (layer '{layer.name}')"
            )
        for bottom in set(layer.bottoms):
            if last.get(bottom, -1) <= i:
                values.pop(bottom, None)
        for top, out in zip(layer.tops, outputs):
            arr = np.asarray(out).astype(dtype, copy=False)
            arr.flags.writeable = False
            if last.get(top, -1) > i:
                values[top] = arr
            yield top, arr


def run_reference(
    graph: Graph, inputs: Mapping[str, np.ndarray], dtype: DTypeLike = np.float64
) -> dict[str, np.ndarray]:
    """Caffe's TEST-phase forward pass of ``graph`` in numpy, keeping every blob.

    ``inputs`` maps each net input (graph or Caffe name) to an N, C, H, W array of any batch size
    whose other dimensions match the graph's. Computation is in ``dtype`` (float64 by default;
    float32 mimics Caffe's arithmetic). Returns every blob by its graph name (inputs, in-place
    versions such as ``x@bn``, final names) plus every name in ``graph.aliases``, sharing the
    array of the blob it resolves to. The arrays are read-only. :func:`iter_reference` is the
    same pass, streamed.
    """
    values = dict(iter_reference(graph, inputs, dtype))
    for name in graph.aliases:
        target = graph.resolve(name)
        if target in values:
            values[name] = values[target]
    return values
