"""The inputs a verification feeds: seeded random data, ``--input`` arrays, ``--image`` files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from caffe2keras.errors import UsageError, ValidationError
from caffe2keras.ir.graph import Graph

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
    for name, path in input_npy.items():
        if name not in inputs:
            raise UsageError(f"--input names '{name}', which is not an input of the net")
        try:
            arr = np.load(path, allow_pickle=False).astype(np.float32)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read input array '{path}': {exc}") from None
        want = inputs[name].shape[1:]  # inputs are keyed by their Caffe blob names
        if arr.ndim == len(want):
            arr = arr[None]
        if tuple(arr.shape[1:]) != tuple(want):
            raise ValidationError(
                f"input array '{path}' has shape {list(arr.shape)}, the net "
                f"expects (N, {', '.join(map(str, want))})",
                field="input",
            )
        inputs[name] = arr
        info["source"] = "file"
        info.setdefault("files", {})[name] = os.fspath(path)
    if image is not None:
        from caffe2keras.verify.images import apply_images

        inputs, info = apply_images(inputs, info, image, reference)
    return inputs, info
