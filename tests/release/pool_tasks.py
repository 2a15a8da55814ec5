"""Module-level tasks for the worker-pool tests (spawned workers import them by name): each
ends its own process in a chosen way, deterministically, or blocks until Ctrl-C."""

from __future__ import annotations

import ctypes
import os
import signal
from pathlib import Path

from caffe2keras.convert_all.config import ModelSpec, OutputSpec
from caffe2keras.convert_all.run import ModelOutcome, run_model
from caffe2keras.outputs.writers import atomic_path

_kept: list[bytearray] = []


def die_or_echo(item: str) -> tuple[str, int]:
    """``kill``: SIGKILL (as the OOM killer), ``segv``: a segfault, ``exit``: ``os._exit(3)``;
    anything else comes back with this worker's pid."""
    if item == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if item == "segv":
        ctypes.string_at(0)  # reads address 0: SIGSEGV
    if item == "exit":
        os._exit(3)
    return item, os.getpid()


def grow(item: str) -> tuple[str, int]:
    """Keeps 64 MiB alive in this worker (touched, so resident), then echoes."""
    _kept.append(bytearray(b"\1" * (64 << 20)))
    return item, os.getpid()


def convert_or_die(spec: ModelSpec) -> ModelOutcome:
    """A model named ``die-*`` starts writing its first output, then SIGKILLs its worker
    mid-write (leaving the temporary file, as a real crash would); others convert normally."""
    if spec.name.startswith("die-"):
        with atomic_path(spec.outputs[0].path) as tmp:
            tmp.write_bytes(b"half a model")
            os.kill(os.getpid(), signal.SIGKILL)
    return run_model(spec)


def block_in_write(spec: ModelSpec) -> ModelOutcome:
    """Starts writing the model's output, says so (a marker file named after this worker's pid
    in the output folder's parent), then waits for Ctrl-C."""
    target = Path(spec.outputs[0].path)
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"half a model")
        marker = target.parent.parent / "started" / str(os.getpid())
        marker.write_text(spec.name)
        while True:
            signal.pause()
    raise AssertionError("unreachable")


def spec(name: str, prototxt: Path, caffemodel: Path, out: Path, outputs: list[str]) -> ModelSpec:
    """A model of a convert-all list, default options."""
    return ModelSpec(
        name=name,
        prototxt=str(prototxt),
        caffemodel=str(caffemodel),
        outputs=tuple(OutputSpec(str(out / o)) for o in outputs),
    )


def wait_for_ctrl_c(item: str) -> str:
    """Blocks until this worker gets SIGINT (which raises KeyboardInterrupt in it)."""
    while True:
        signal.pause()


def threads_seen(item: str) -> tuple[str, int, int, int, list[int]]:
    """TensorFlow's intra- and inter-op thread settings, its compute threads after a matrix
    product, and numpy's BLAS thread counts, in this worker (for ``warm.init``'s limits)."""
    import tensorflow as tf
    from threadpoolctl import threadpool_info

    x = tf.ones((256, 256))
    tf.matmul(x, x).numpy()
    tasks = Path("/proc/self/task")
    compute = sum(1 for t in tasks.iterdir() if (t / "comm").read_text().strip() == "tf_Compute")
    blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    threading = tf.config.threading
    intra = threading.get_intra_op_parallelism_threads()
    return item, intra, threading.get_inter_op_parallelism_threads(), compute, blas


def ctrl_c_to_my_group(item: str) -> int:
    """Sends SIGINT to this worker's whole process group (as a terminal's Ctrl-C), then returns
    the worker's pid."""
    os.killpg(0, signal.SIGINT)
    return os.getpid()
