"""Stream weights from the caffemodel map into a Keras ``.weights.h5``, a block at a time.

``model.save_weights`` turns each variable into a numpy copy: with the variables alive, the
largest kernel then exists three times at the peak (map pages, variable, copy). For a weights-only
output nothing needs the variables, so the model is built without filling them (deferred, they hold
no memory) and this writer sends each weight from the map to HDF5 in blocks of output channels
(the layout transpose is the one copy), the next block transposed on another thread while one is
written. The file layout is Keras' own by construction: Keras'
saving traversal visits every layer and variable, and only the store that receives the values is
ours. That traversal and store are private Keras API, so :func:`supported` feature-detects them;
without them the caller fills the variables and uses ``save_weights``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from caffe2keras.keras_model.weights import ALIGN, Weight, blocks, keras_shape
from caffe2keras.outputs.ahead import ahead

CHUNKED_ABOVE = 1 << 20  # bytes
Pending = Sequence[tuple[Any, Sequence[Weight]]]


def _saving_lib() -> Any:
    from keras.src.saving import saving_lib

    return saving_lib


def supported() -> bool:
    """True when this Keras has the saving hooks the streamed writer relies on."""
    try:
        lib = _saving_lib()
    except ImportError:  # pragma: no cover - depends on the Keras version
        return False
    store = getattr(lib, "H5IOStore", None)
    return all(
        hasattr(obj, name)
        for obj, name in (
            (lib, "_save_state"),
            (store, "_create_h5_group"),
            (store, "__setitem__"),
        )
    )


def sources(pending: Pending) -> dict[int, Weight]:
    """id(Keras variable) -> the weight it should hold (``set_weights`` order)."""
    out: dict[int, Weight] = {}
    for layer, weights in pending:
        variables = layer.weights
        if len(variables) != len(weights):
            raise ValueError(
                f"layer '{layer.name}' has {len(variables)} weights, "
                f"the builder gave {len(weights)}"
            )
        for variable, weight in zip(variables, weights):
            if tuple(variable.shape) != keras_shape(weight):
                raise ValueError(
                    f"layer '{layer.name}' weight '{variable.name}' has shape "
                    f"{tuple(variable.shape)}, the builder gave {keras_shape(weight)}"
                )
            out[id(variable)] = weight
    return out


def _chunks(shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """HDF5 chunks of about 1 MiB, ``ALIGN`` output channels wide, for weights above 1 MiB:
    blocks of output channels then fill whole chunks. Small weights stay contiguous, as Keras
    writes them."""
    if len(shape) < 2 or 4 * math.prod(shape) <= CHUNKED_ABOVE:
        return None
    last, inner = min(shape[-1], ALIGN), math.prod(shape[1:-1])
    rows = max(1, min(shape[0], CHUNKED_ABOVE // (4 * inner * last)))
    return (rows, *shape[1:-1], last)


def _store_class() -> type:
    base = _saving_lib().H5IOStore

    class StreamingStore(base):  # type: ignore[misc, valid-type]
        """Keras' H5 store, except that pending weights are written in blocks."""

        def __init__(self, path: str, pending: Mapping[int, Weight], done: Callable[[], None]):
            super().__init__(path, mode="w")
            self.pending = dict(pending)
            self.done = done
            self.jobs: list[tuple[Any, Weight]] = []

        def __setitem__(self, key: str, value: Any) -> None:
            weight = self.pending.pop(id(value), None)
            if weight is None:
                super().__setitem__(key, value)
                return
            if not self._h5_entry_initialized:
                self._create_h5_group(self._h5_entry_path)
            shape = keras_shape(weight)
            dataset = self._h5_entry_group.create_dataset(
                key, shape=shape, dtype="float32", chunks=_chunks(shape)
            )
            self.jobs.append((dataset, weight))  # filled by write_jobs, after the traversal

        def write_jobs(self) -> None:
            """Fill the datasets: the transposes of the next block run on another thread while
            this one writes a block (see :mod:`.ahead`)."""
            with ahead(_blocks_of(self.jobs), depth=1) as stream:
                for n, where, block in stream:
                    dataset = self.jobs[n][0]
                    if block is None:  # the weight's last block was written
                        self.done()
                    else:
                        dataset[(..., where) if dataset.shape else ()] = block
            self.jobs.clear()

    return StreamingStore


def _blocks_of(jobs: Sequence[tuple[Any, Weight]]) -> Iterator[tuple[int, slice, Any]]:
    """(job index, slice of the last axis, block) of every job's weight in order; after each
    weight's blocks, (index, slice(None), None)."""
    for n, (_, weight) in enumerate(jobs):
        for where, block in blocks(weight):
            yield n, where, block
        yield n, slice(None), None


def write_streamed(
    model: Any,
    path: str | os.PathLike[str],
    pending: Pending,
    done: Callable[[], None] = lambda: None,
) -> None:
    """Write ``model``'s weights file with every pending weight streamed from its source.

    ``done`` is called after each streamed weight (progress). Every pending weight must be
    reached by Keras' traversal; one that is not is a bug, not a silent zero.
    """
    wanted = sources(pending)
    store = _store_class()(os.fspath(path), wanted, done)
    try:
        _saving_lib()._save_state(
            model, weights_store=store, assets_store=None, inner_path="", visited_saveables=set()
        )
        if store.pending:
            raise RuntimeError(f"{len(store.pending)} weights were not reached by Keras' saving")
        store.write_jobs()
    finally:
        store.close()
