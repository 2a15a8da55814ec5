"""Write a full-model ``.h5`` (Keras' legacy HDF5 format) without copying the variables out.

``model.save('x.h5')`` runs Keras' ``legacy_h5_format.save_model_to_hdf5``, whose per-layer
``save_subset_weights_to_hdf5_group`` turns every variable into a numpy copy first
(``convert_to_numpy``): a transient copy of the largest layer (411 MB for VGG-16's fc6) on top of
the variables. :func:`saving_views` replaces that one function, for the duration of the save, by
the same steps reading each variable through a zero-copy view of its buffer
(:func:`caffe2keras.keras_model.handover.variable_view`). Everything else (model config, layer
order, group and dataset names, attributes, dataset layout) is Keras' own code, so the file is the
one ``model.save`` writes (``tests/perf/test_lean_h5.py`` compares the bytes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_FUNCTION = "save_subset_weights_to_hdf5_group"


def _legacy() -> Any:
    from keras.src.legacy.saving import legacy_h5_format

    return legacy_h5_format


def supported() -> bool:
    """True when Keras' legacy saving has the hooks this module replaces and reads."""
    from caffe2keras.keras_model import handover

    try:
        legacy = _legacy()
    except ImportError:  # pragma: no cover - depends on the Keras version
        return False
    return (
        handover.supported()
        and callable(getattr(legacy, _FUNCTION, None))
        and callable(getattr(legacy, "save_attributes_to_hdf5_group", None))
    )


def save_subset_from_views(group: Any, weights: list[Any]) -> None:
    """Keras' ``save_subset_weights_to_hdf5_group`` (same names, order, attributes and dataset
    creation), reading each variable through a view of its buffer instead of a copy."""
    from caffe2keras.keras_model.handover import variable_view

    names = [str(w.path).encode("utf8") for w in weights]
    _legacy().save_attributes_to_hdf5_group(group, "weight_names", names)
    for name, weight in zip(names, weights):
        value = variable_view(weight)
        dataset = group.create_dataset(name, value.shape, dtype=value.dtype)
        if not value.shape:
            dataset[()] = value
        else:
            dataset[:] = value


@contextmanager
def saving_views() -> Iterator[None]:
    """Within: Keras' legacy ``.h5`` saving reads variables through views (when supported)."""
    if not supported():
        yield
        return
    legacy = _legacy()
    original = getattr(legacy, _FUNCTION)
    setattr(legacy, _FUNCTION, save_subset_from_views)
    try:
        yield
    finally:
        setattr(legacy, _FUNCTION, original)
