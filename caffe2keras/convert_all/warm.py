"""``convert-all`` in worker processes (:mod:`caffe2keras.convert_all.pool`): what each worker
does once (quiet TensorFlow, its thread pools sized, import Keras and the converter) and between
models (Keras state cleared, freed memory returned), the order the models are taken in (longest
first: :mod:`caffe2keras.convert_all.schedule`), and what is left of a model whose worker died
(its temporary files, removed).

Threads: each worker's TensorFlow intra- and inter-op pools and numpy's BLAS get the usable cores
divided by the workers (at least 1; ``BatchOptions.threads`` overrides). By default each pool
has one thread per core, so N workers on N cores would run N times too many threads, which
spin against each other in the eager verification walk's thousands of small ops."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from caffe2keras.convert_all import schedule
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
    threads: int | None = None  # per worker; None: the usable cores / jobs, at least 1


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_threads(options: BatchOptions, workers: int) -> int:
    """TensorFlow and BLAS threads per worker: ``threads``, else the cores shared out."""
    if options.threads is not None:
        return options.threads
    return max(1, usable_cores() // max(1, workers))


def init_quiet(threads: int | None = None) -> None:
    """Worker start-up when the parent filters TensorFlow's start-up noise: the same here."""
    from caffe2keras.runtime import quiet

    quiet.install()
    init(threads)


# Kept for the worker's life: threadpoolctl restores the BLAS threads when it is collected.
_blas_limit: list[object] = []


_THREAD_VARIABLES = (
    "TF_NUM_INTRAOP_THREADS",  # read by TensorFlow's runtime when it creates its pools
    "TF_NUM_INTEROP_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",  # read when numpy's BLAS loads
)


def _limit_loaded(threads: int) -> None:
    """The same through the libraries' own calls, once loaded: TensorFlow's (which also makes
    the sizes visible to its getters; refused once its runtime started) and numpy's BLAS
    (verification still uses one thread)."""
    import keras
    from threadpoolctl import threadpool_limits

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            pass  # already running: the environment variables were read, or nothing can be
    _blas_limit.append(threadpool_limits(limits=threads, user_api="blas"))


def init(threads: int | None = None) -> None:
    """Worker start-up: TensorFlow, Keras and the converter imported once, before any model,
    with ``threads`` threads per pool (None: the libraries' defaults, one per core)."""
    import time

    start = time.time()
    if threads is not None:
        os.environ.update({name: str(threads) for name in _THREAD_VARIABLES})
    import keras  # noqa: F401

    import caffe2keras.api  # noqa: F401

    if threads is not None:
        _limit_loaded(threads)
    from caffe2keras.convert_all import timeline

    timeline.mark_start_up(start, time.time())


def reset() -> None:
    """Between two models: nothing of one model leaks into the next (Keras' global state and
    name counters cleared), and the memory it freed goes back to the system, so the worker's
    RSS says what it still holds (the memory policy reads it)."""
    import keras

    keras.backend.clear_session(free_memory=True)  # a garbage collection included
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
    jobs = min(options.jobs, len(specs))
    start_up = partial(init_quiet if quiet.installed() else init, worker_threads(options, jobs))
    tasks = Tasks(task=task, init=start_up, reset=reset)
    pool = PoolOptions(
        jobs=jobs,
        max_tasks=1 if options.process_per_model else None,
        max_rss_growth=options.max_rss_growth,
    )
    order = schedule.longest_first(specs)
    return run_pool(specs, tasks, pool, on_death, remove_partials, order)
