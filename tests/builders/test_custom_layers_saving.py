"""A net using every custom layer survives .keras and .h5 round trips in safe mode."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from extra_nets import rand
from keras_helpers import convert_case
from netfiles import CUSTOM_LAYERS, chain_net, write_net

import caffe2keras.layers as custom

NET = chain_net((2, 3, 4, 5), CUSTOM_LAYERS)
EXPECTED = {
    "ElementwisePower",
    "ElementwiseLog",
    "Step",
    "Clip",
    "MeanVarianceNormalization",
    "Pad2D",
    "EmptyPoolWindows",
}


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_custom_layers_round_trip(tmp_path, suffix) -> None:
    proto, model = write_net(tmp_path, NET)
    _, built = convert_case(proto, model, {"data": (2, 3, 4, 5)})
    used = {type(layer).__name__ for layer in built.model.layers}
    assert EXPECTED | {"TopK"} <= used
    path = tmp_path / f"m{suffix}"
    built.model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True, compile=False)
    feed = np.transpose(rand(2, 3, 4, 5, low=-1, high=1), (0, 2, 3, 1))
    outs = built.model(feed), loaded(feed)
    for a, b in zip(*(keras.tree.flatten(o) for o in outs)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_top_k_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode"):
        custom.TopK(axis=1, k=1, mode="both")
