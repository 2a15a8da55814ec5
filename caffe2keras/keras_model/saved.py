"""A saved output loaded back as a Keras model of its net, for verification."""

from __future__ import annotations

import os
import zipfile
from typing import Any

from caffe2keras.errors import ParseError
from caffe2keras.frontend.net import LoadedNet


def load_keras_model(path: str | os.PathLike[str], net: LoadedNet) -> tuple[Any, dict[str, str]]:
    """A saved output as a Keras model plus the blob -> Keras layer map (rebuilt by name)."""
    import keras

    import caffe2keras.layers  # noqa: F401  (registers our custom layers for safe-mode loading)
    from caffe2keras.keras_model.model import build_model
    from caffe2keras.outputs.writers import output_format

    fmt = output_format(path)
    # A full model brings its own weights: the rebuild only supplies the blob -> layer map, so
    # its variables are left unfilled (no copy of the caffemodel's weights).
    built = build_model(net.keras, fill_weights=fmt == "weights")
    try:
        if fmt == "weights":
            built.model.load_weights(os.fspath(path))
            return built.model, built.blob_layers
        model = keras.models.load_model(os.fspath(path), safe_mode=True, compile=False)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # not a model of this net
        detail = f"cannot load it as a Keras model of this net: {exc}"
        raise ParseError(detail, path=os.fspath(path)) from exc
    return model, built.blob_layers
