"""``convert-all`` in worker processes (:mod:`caffe2keras.convert_all.pool`): what each worker
does once (quiet TensorFlow, import Keras and the converter) and between models (Keras state
cleared, freed memory returned), and what is left of a model whose worker died (its temporary
files, removed)."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from caffe2keras.convert_all.config import ModelSpec
from caffe2keras.convert_all.pool import Death, PoolOptions, Tasks, run_pool

R = TypeVar("R")


@dataclass(frozen=True)
class BatchOptions:
    """How ``convert-all`` runs its models: ``jobs`` workers, warm (many models each) or one
    fresh process per model, and the warm workers' memory policy."""

    jobs: int = 1
    process_per_model: bool = False
    max_rss_growth: int | None = 1 << 30  # bytes; see pool.PoolOptions


def init_quiet() -> None:
    """Worker start-up when the parent filters TensorFlow's start-up noise: the same here."""
    from caffe2keras.runtime import quiet

    quiet.install()
    init()


def init() -> None:
    """Worker start-up: TensorFlow, Keras and the converter imported once, before any model."""
    import keras  # noqa: F401

    import caffe2keras.api  # noqa: F401


def reset() -> None:
    """Between two models: nothing of one model leaks into the next (Keras' global state and
    name counters cleared), and the memory it freed goes back to the system, so the worker's
    RSS says what it still holds (the memory policy reads it)."""
    import keras

    keras.backend.clear_session()
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)  # glibc keeps freed heap pages otherwise
    except (OSError, AttributeError):
        pass  # not glibc: RSS may stay higher, the policy only recycles sooner


def remove_partials(spec: ModelSpec, pid: int) -> None:
    """Remove the temporary files a killed worker left beside this model's outputs (the atomic
    writers name them ``.<output>.<pid>.partial<suffix>``)."""
    for out in spec.outputs:
        target = Path(out.path)
        if target.parent.is_dir():
            for leftover in target.parent.glob(f".{target.name}.{pid}.partial*"):
                leftover.unlink(missing_ok=True)


def run_parallel(
    specs: Sequence[ModelSpec],
    options: BatchOptions,
    task: Callable[[ModelSpec], R],
    on_death: Callable[[ModelSpec, Death], R],
) -> list[R]:
    """Every model's outcome in the list's order, from ``options.jobs`` worker processes."""
    from caffe2keras.runtime import quiet

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # inherited by the spawned workers
    tasks = Tasks(task=task, init=init_quiet if quiet.installed() else init, reset=reset)
    pool = PoolOptions(
        jobs=min(options.jobs, len(specs)),
        max_tasks=1 if options.process_per_model else None,
        max_rss_growth=options.max_rss_growth,
    )
    return run_pool(specs, tasks, pool, on_death=on_death, on_abandon=remove_partials)
