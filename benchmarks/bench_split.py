#!/usr/bin/env python3
"""What a process split of the streamed verification would give: a timing prototype (issue 15).

    python benchmarks/bench_split.py PROTOTXT CAFFEMODEL [--rounds 3]

The verification's threads overlap little because the Keras walk runs Python and every numpy
call of the other threads waits for the GIL after it (``bench_gil.py``). This prototype puts the
GIL-free work in another process: after the model is built, ``os.fork``; the child runs both
reference passes (``reference_feed.reference_ahead``, one thread each as in the product) and the
fused comparisons (``fused.measure``) with the GIL to itself; the parent walks the Keras model and
copies each Keras value (its contiguous NHWC memory, a plain copy) into a shared-memory arena,
announcing it on a pipe. Per round, interleaved: ``verify_model`` as shipped (threads) and the
prototype, wall seconds, the parent's walk, the child's work, and both processes' peak RSS. The
child's max |keras - ref| of every fused blob is checked equal to the product's rows.

Not a product path: the child inherits TensorFlow's state without its threads (it must not touch
TensorFlow; it never does here and leaves with ``os._exit``), the arena holds every Keras value
the comparisons want (no reuse), detections, second opinions, notes and the report are left out,
and it runs on Linux only.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import struct
import time
from typing import Any

HEADER = struct.Struct("Q")


def _child(state: dict[str, Any], arena: Any, rfd: int, wfd: int) -> None:
    """The reference passes and the comparisons; reply (seconds, {blob: max_abs})."""
    import gc

    import numpy as np
    from threadpoolctl import threadpool_limits

    from caffe2keras.verify.fused import Scratch, measure
    from caffe2keras.verify.numeric_notes import WarningNotes
    from caffe2keras.verify.reference_feed import Passes, reference_ahead

    gc.disable()  # no collection of objects whose finalizers would call TensorFlow
    start = time.perf_counter()
    pipe = os.fdopen(rfd, "rb", buffering=0)
    got: dict[str, Any] = {}

    def keras(blob: str) -> Any:
        while blob not in got:
            (size,) = HEADER.unpack(pipe.read(HEADER.size))
            name, offset, shape, order = pickle.loads(pipe.read(size))
            flat = np.ndarray(shape, np.float32, buffer=arena, offset=offset)
            got[name] = flat.transpose(np.argsort(order))
        return got[blob]

    p = state["plan"]
    found: dict[str, float] = {}
    with threadpool_limits(limits=1, user_api="blas"):
        warn = WarningNotes()
        passes = Passes(
            state["graph"],
            state["inputs"],
            np.dtype("float64"),
            np.dtype("float32"),
            frozenset(p.by_ref),
            warn,
        )
        scratch = Scratch(blas=True)
        with warn.routed():
            for name, value, twin in reference_ahead(passes, {"reference": 0.0}):
                for i in p.by_ref.get(name, []):
                    blob = p.order[i][0]
                    k = keras(p.source[blob])
                    if k.shape == value.shape and value.size > scratch.size:
                        m = measure(k, value, twin, scratch)
                        if m is not None and m.max_abs is not None:
                            found[blob] = m.max_abs
    reply = pickle.dumps((time.perf_counter() - start, found))
    os.write(wfd, HEADER.pack(len(reply)) + reply)
    os._exit(0)


def split_verify(state: dict[str, Any]) -> dict[str, Any]:
    """One prototype verification: wall, walk and child seconds, the child's max_abs by blob."""
    from multiprocessing import shared_memory

    import numpy as np

    from caffe2keras.verify.fused import memory_order
    from caffe2keras.verify.walk import keras_blob_values

    net, built, inputs, p = state["net"], state["built"], state["inputs"], state["plan"]
    shm = shared_memory.SharedMemory(create=True, size=state["arena_bytes"])
    try:
        r1, w1 = os.pipe()
        r2, w2 = os.pipe()
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.close(w1)
            os.close(r2)
            _child(state, shm.buf, r1, w2)
        os.close(r1)
        os.close(w2)
        out = os.fdopen(w1, "wb", buffering=0)
        arena = np.ndarray((shm.size,), np.uint8, buffer=shm.buf)
        offset = 0
        wanted = sorted(p.keras_wanted)
        for blob, value in keras_blob_values(
            built.model, built.blob_layers, inputs, net.keras, wanted
        ):
            order = memory_order(value)
            plain = value.transpose(order)  # the tensor's own memory order: a plain copy
            if offset + plain.nbytes > shm.size:
                raise RuntimeError("the arena is too small for this net")
            dst = arena[offset : offset + plain.nbytes].view(np.float32).reshape(plain.shape)
            np.copyto(dst, plain)
            message = pickle.dumps((blob, offset, plain.shape, order))
            out.write(HEADER.pack(len(message)) + message)
            offset += (plain.nbytes + 63) // 64 * 64
        walked = time.perf_counter() - start
        reply = os.fdopen(r2, "rb", buffering=0)
        (size,) = HEADER.unpack(reply.read(HEADER.size))
        child_seconds, found = pickle.loads(reply.read(size))
        os.waitpid(pid, 0)
        wall = time.perf_counter() - start
        out.close()
        reply.close()
        del dst, arena
    finally:
        shm.close()
        shm.unlink()
    return {"wall": wall, "walk": walked, "child": child_seconds, "found": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("prototxt")
    parser.add_argument("caffemodel")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--arena-mib", type=int, default=1024)
    args = parser.parse_args()

    from prof_verify import loaded_with_predict

    from caffe2keras.verify.compare import Tolerance
    from caffe2keras.verify.run import blob_order, verify_model
    from caffe2keras.verify.stream import plan, reference_names

    net, built, inputs, predict = loaded_with_predict(args.prototxt, args.caffemodel)
    p = plan(net, built.blob_layers, blob_order(net.keras), reference_names(net.reference))
    state = {
        "net": net,
        "built": built,
        "inputs": inputs,
        "graph": net.reference,
        "plan": p,
        "arena_bytes": args.arena_mib << 20,
    }
    call = (net, built.model, built.blob_layers, inputs)
    rows = {r.blob: r.max_abs for r in verify_model(*call, tolerance=Tolerance()).rows}
    print(f"steady predict {predict:.3f} s; {len(p.order)} compared blobs", flush=True)
    print("| round | threads (shipped), s | split, s | split: walk / child, s |")
    print("|---|---:|---:|---:|")
    for r in range(args.rounds):
        start = time.perf_counter()
        verify_model(*call, tolerance=Tolerance())
        threads = time.perf_counter() - start
        got = split_verify(state)
        for blob, max_abs in got["found"].items():
            assert max_abs == rows[blob], (blob, max_abs, rows[blob])
        cells = f"{got['walk']:.3f} / {got['child']:.3f}"
        print(f"| {r + 1} | {threads:.3f} | {got['wall']:.3f} | {cells} |", flush=True)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    print(f"peak RSS GiB: this process {own:.2f}, largest child {child:.2f}", flush=True)


if __name__ == "__main__":
    main()
