"""The inputs a verification feeds: seeded random data, ``--input`` arrays, ``--image`` files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from caffe2keras.errors import UsageError, ValidationError
from caffe2keras.ir.graph import Graph
from caffe2keras.ir.layouts import input_values, layout_kinds
from caffe2keras.layout import CAFFE, caffe_batch_axis

if TYPE_CHECKING:
    from caffe2keras.verify.images import ImageOptions


def verification_inputs(
    reference: Graph,
    seed: int,
    batch: int,
    input_npy: Mapping[str, str],
    image: ImageOptions | None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The verification inputs (NCHW, by Caffe blob name) and how they were made."""
    from caffe2keras.verify.run import random_inputs

    inputs = random_inputs(reference, seed, batch)
    info: dict[str, Any] = {"source": "random normal", "seed": seed, "batch": batch}
    drawn = {reference.caffe_name(b): v.kind for b, v in input_values(reference).items()}
    if drawn:  # recurrent cont (0/1, 0 where a sequence starts) and Embed ids (integers)
        info["values"] = drawn
    layouts = layout_kinds(reference)
    axes = {
        reference.caffe_name(s.name): caffe_batch_axis(layouts.get(s.name, CAFFE))
        for s in reference.inputs
    }
    for name, path in input_npy.items():
        if name not in inputs:
            raise UsageError(f"--input names '{name}', which is not an input of the net")
        try:
            arr = np.load(path, allow_pickle=False).astype(np.float32)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read input array '{path}': {exc}") from None
        # inputs are keyed by their Caffe blob names; Caffe's layout, the batch at ``axis``
        # (1 for time-major recurrent inputs (T, N, ...))
        axis = axes[name]
        want = list(inputs[name].shape)
        if arr.ndim == len(want) - 1:
            arr = np.expand_dims(arr, axis)
        if arr.ndim != len(want) or any(
            a != w for i, (a, w) in enumerate(zip(arr.shape, want)) if i != axis
        ):
            dims = [str(w) for w in want]
            dims[axis] = "N"
            raise ValidationError(
                f"input array '{path}' has shape {list(arr.shape)}, the net "
                f"expects ({', '.join(dims)})",
                field="input",
            )
        inputs[name] = arr
        info["source"] = "file"
        info.setdefault("files", {})[name] = os.fspath(path)
    if image is not None:
        from caffe2keras.verify.images import apply_images

        inputs, info = apply_images(inputs, info, image, reference)
    return inputs, info
