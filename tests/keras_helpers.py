"""Test helpers that convert a golden case and read Keras blobs back in Caffe layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from caffe2keras.frontend.load import LoadOptions
from caffe2keras.frontend.net import LoadedNet, load_net
from caffe2keras.keras_model.model import BuiltModel, build_model
from caffe2keras.verify.run import probe_keras


def convert_case(
    prototxt: Path, caffemodel: Path, shapes: dict[str, Any]
) -> tuple[LoadedNet, BuiltModel]:
    """Load and build a net at the given input shapes."""
    net = load_net(prototxt, caffemodel, LoadOptions(input_shapes=shapes))
    return net, build_model(net.keras)


def model_input(model: Any, feed: list[Any]) -> Any:
    """``feed`` (one array per model input, in order) in the structure ``model`` was built with:
    a bare array for a single-input model, the list otherwise."""
    return feed if isinstance(model.input, (list, tuple)) else feed[0]


def keras_blobs(
    model: Any,
    built: BuiltModel,
    net: LoadedNet,
    inputs: dict[str, np.ndarray],
    wanted: set[str] | None = None,
) -> dict[str, np.ndarray]:
    """The blobs of ``model`` (the built one or a reloaded copy), Caffe layout."""
    keep = None if wanted is None else wanted | {net.keras.resolve(w) for w in wanted}
    layers = {b: n for b, n in built.blob_layers.items() if keep is None or b in keep}
    return probe_keras(model, layers, inputs, net.keras)
