"""``--format keras2-weights``: the legacy Keras-2 HDF5 weights layout, for existing architectures.

Layout (what Keras 2 / tf-keras ``save_weights('x.h5')`` wrote, and what Keras 3 and tf-keras
``load_weights(path, by_name=True)`` read): root attributes ``layer_names`` (every layer, in model
order), ``backend`` and ``keras_version``; one group per layer with a ``weight_names`` attribute
and one dataset per weight named ``<layer>/<weight>:0`` (so ``conv1/conv1/kernel:0``), weights in
Keras' legacy order (trainable, then non-trainable). Layer names are the converter's Keras names
(Caffe names with ``/`` -> ``_``: ``conv2_1/x1/bn`` -> ``conv2_1_x1_bn``), which are the names
hand-written ports such as the DenseNet-Keras models use.

BatchNorm+Scale: the converter folds each pair into one BatchNormalization, so the file carries
gamma/beta in the BatchNormalization group and nothing for the Scale layer. A hand-written model
with a separate Scale layer after each BatchNormalization loads it by name and keeps its Scale
layers at their initial identity (gamma 1, beta 0): ``scale(bn(x)) = 1 * bn(x) + 0``, exactly the
folded result. With ``split_scale`` the BatchNormalization group instead gets gamma 1 and beta 0
and a group named after the Caffe Scale layer (``conv1/scale`` -> ``conv1_scale``) gets gamma and
beta, so the Scale layers carry them as in Caffe.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from caffe2keras.errors import UsageError, ValidationError
from caffe2keras.keras_model.model import BuiltModel
from caffe2keras.keras_model.registry import sanitize
from caffe2keras.outputs.writers import atomic_path
from caffe2keras.passes.fuse_bn_scale import FUSED_TYPE

FORMAT = "keras2-weights"
_ATTR_LIMIT = 64512  # HDF5 object header limit; longer attributes are chunked as Keras 2 did

Groups = list[tuple[str, list[tuple[str, np.ndarray]]]]


def check_path(path: str | os.PathLike[str]) -> None:
    """keras2-weights files must end in .h5/.hdf5 but not .weights.h5 (Keras 3 reads those as
    its own weights format, never by name)."""
    name = os.fspath(path)
    if name.endswith(".weights.h5") or not name.endswith((".h5", ".hdf5")):
        raise UsageError(
            f"--format {FORMAT} needs an output ending in .h5 or .hdf5 but not .weights.h5 "
            f"(Keras 3 loads '*.weights.h5' as its own format, without by_name), got '{name}'"
        )


def write_attr(group: Any, name: str, values: list[bytes]) -> None:
    """A list of byte strings as one attribute, or chunks ``name0``, ``name1``... if too long."""
    data = np.array(values, dtype=bytes) if values else np.array([], dtype="S1")
    chunks = 1
    while data.nbytes / chunks > _ATTR_LIMIT and chunks < max(len(values), 1):
        chunks += 1
    if chunks == 1:
        group.attrs[name] = data
        return
    for i, part in enumerate(np.array_split(data, chunks)):
        group.attrs[f"{name}{i}"] = part


def _scale_names(built: BuiltModel) -> dict[str, str]:
    """Keras BatchNormalization layer name -> Keras name for the Caffe Scale it absorbed.

    A fusion whose sources name one Caffe layer twice (NVCaffe's BatchNorm with its own scale
    and bias) has no separate Scale layer: its gamma/beta stay in the BatchNormalization."""
    import keras

    scales = {
        n.name: n.sources[1]
        for n in built.graph.layers
        if n.type == FUSED_TYPE and n.sources[1] != n.sources[0]
    }
    return {
        keras_name: sanitize(scales[caffe_name])
        for keras_name, caffe_name in built.layer_names.items()
        if caffe_name in scales
        and isinstance(built.model.get_layer(keras_name), keras.layers.BatchNormalization)
    }


def _weights(layer: Any) -> list[tuple[str, np.ndarray]]:
    variables = list(layer.trainable_weights) + list(layer.non_trainable_weights)
    return [(f"{layer.name}/{v.name}:0", np.asarray(v.numpy())) for v in variables]


def layer_groups(built: BuiltModel, split_scale: bool = False) -> Groups:
    """(layer name, [(weight name, value)]) for every layer, in model order."""
    scales = _scale_names(built) if split_scale else {}
    taken = {layer.name for layer in built.model.layers}
    groups: Groups = []
    for layer in built.model.layers:
        weights = _weights(layer)
        scale = scales.get(layer.name)
        if scale is None:
            groups.append((layer.name, weights))
            continue
        if scale in taken:
            raise ValidationError(
                f"--split-scale would write the Scale layer's gamma/beta as '{scale}', "
                f"which already names another Keras layer",
                layer=built.layer_names[layer.name],
            )
        (gname, gamma), (bname, beta), *stats = weights
        groups.append(
            (layer.name, [(gname, np.ones_like(gamma)), (bname, np.zeros_like(beta)), *stats])
        )
        groups.append((scale, [(f"{scale}/gamma:0", gamma), (f"{scale}/beta:0", beta)]))
    return groups


def write_keras2_weights(
    built: BuiltModel,
    path: str | os.PathLike[str],
    metadata: Mapping[str, Any],
    split_scale: bool = False,
) -> str:
    """Write the legacy layout atomically (reproducible bytes: see :mod:`.reproducible`)."""
    import h5py
    import keras

    check_path(path)
    groups = layer_groups(built, split_scale)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        write_attr(f, "layer_names", [name.encode("utf8") for name, _ in groups])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = keras.version().encode("utf8")  # the Keras that wrote it
        for key, value in sorted({**metadata, "split_scale": split_scale}.items()):
            f.attrs[f"caffe2keras_{key}"] = json.dumps(value, sort_keys=True)
        for name, weights in groups:
            group = f.create_group(name)
            write_attr(group, "weight_names", [w.encode("utf8") for w, _ in weights])
            for wname, value in weights:
                group.create_dataset(wname, data=value.astype(np.float32, copy=False))
    return FORMAT
