#!/usr/bin/env python3
"""Why the streamed verification's threads overlap so little: the GIL hand-off (issue 15).

    python benchmarks/bench_gil.py PROTOTXT CAFFEMODEL [--rounds 3] [--seconds 0.3]

Two measurements, in one process, with numpy's BLAS held to one thread as the verification holds it:

1. Each numpy call the comparisons make (a transposing cast copy, a contiguous copy, a dot, a
   subtract, an abs, a max, a sum) on a 2M-value float64 array: ms per call alone, then with a
   pure-Python busy thread beside it. Each call releases the GIL for its work and must take it
   back afterwards, which waits for the busy thread to let it go.
2. The net's comparisons (``fused.measure`` over every compared blob larger than one chunk, with
   the float64 and float32 reference values and the Keras value as the walk hands it) alone, the
   Keras walk alone, then the comparisons in a second thread beside: the walk, a pure-Python busy
   loop, and a GIL-free BLAS matrix product. Wall and thread CPU seconds of each side.

If the comparisons overlap the GIL-free neighbour but not the walk or the busy loop, their
thread is bound by GIL hand-offs rather than by cores.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall and this thread's CPU seconds of ``fn()``."""
    start, cpu = time.perf_counter(), time.thread_time()
    fn()
    return time.perf_counter() - start, time.thread_time() - cpu


def busy_python(seconds: float) -> Callable[[], None]:
    def run() -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            sum(range(200))

    return run


def busy_blas(seconds: float) -> Callable[[], None]:
    import numpy as np

    a = np.random.default_rng(0).random((1500, 1500))

    def run() -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            a @ a

    return run


def spin_until(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(range(200))


def side_by_side(first: Callable[[], Any], second: Callable[[], Any]) -> list[tuple[float, float]]:
    """``timed`` of both, each in its own thread, started together."""
    found: list[tuple[float, float]] = [(0.0, 0.0), (0.0, 0.0)]

    def run(i: int, fn: Callable[[], Any]) -> None:
        found[i] = timed(fn)

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return found


def per_call(seconds: float) -> None:
    """Part 1: ms per numpy call, alone and beside a pure-Python thread."""
    import numpy as np

    rng = np.random.default_rng(0)
    ref = rng.random((2, 64, 128, 128))
    keras = rng.random((2, 128, 128, 64)).astype(np.float32).transpose(0, 3, 1, 2)
    buf, flat, other = np.empty(ref.shape), ref.reshape(-1), rng.random(ref.size)
    calls: dict[str, Callable[[], Any]] = {
        "transposing cast copy": lambda: np.copyto(buf, keras),
        "contiguous copy": lambda: np.copyto(buf, ref),
        "dot": lambda: np.dot(flat, other),
        "subtract": lambda: np.subtract(flat, other, out=buf.reshape(-1)),
        "abs": lambda: np.abs(flat, out=buf.reshape(-1)),
        "max": lambda: flat.max(),
        "sum": lambda: flat.sum(),
    }

    def rate(fn: Callable[[], Any]) -> float:
        start, n = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            fn()
            n += 1
        return (time.perf_counter() - start) / n * 1e3

    print("| numpy call on 2M float64 values | alone, ms | beside a Python thread, ms |")
    print("|---|---:|---:|")
    for name, fn in calls.items():
        alone = rate(fn)
        stop = threading.Event()
        thread = threading.Thread(target=spin_until, args=(stop,))
        thread.start()
        try:
            beside = rate(fn)
        finally:
            stop.set()
            thread.join()
        print(f"| {name} | {alone:.2f} | {beside:.2f} |", flush=True)


def comparisons(prototxt: str, caffemodel: str, rounds: int) -> None:
    """Part 2: the comparisons beside the walk, a busy loop and a BLAS product."""
    import numpy as np

    from caffe2keras import api
    from caffe2keras.keras_model.model import build_model
    from caffe2keras.reference.executor import iter_reference
    from caffe2keras.verify.fused import CHUNK, Scratch, measure
    from caffe2keras.verify.walk import keras_blob_values

    opts = api.ConvertOptions()
    net = api.load(prototxt, caffemodel, opts)
    built = build_model(net.keras)
    inputs, _ = api.make_inputs(net, opts)
    wanted = [b for b in sorted(built.blob_layers) if b not in net.keras.aliases]

    def walk() -> None:
        for _ in keras_blob_values(built.model, built.blob_layers, inputs, net.keras, wanted):
            pass

    walk()
    ref64 = dict(iter_reference(net.reference, inputs, np.dtype("float64")))
    ref32 = dict(iter_reference(net.reference, inputs, np.dtype("float32")))
    values = keras_blob_values(built.model, built.blob_layers, inputs, net.keras, wanted)
    blobs = [
        (k, ref64[b], ref32[b])
        for b, k in values
        if b in ref64 and ref64[b].shape == k.shape and ref64[b].size > CHUNK
    ]

    def judge() -> None:
        scratch = Scratch(blas=True)
        for k, r, t in blobs:
            measure(k, r, t, scratch)

    alone_judge, alone_walk = timed(judge), timed(walk)
    seconds = alone_judge[0]
    print(f"\n{len(blobs)} blobs; comparisons alone {alone_judge[0]:.3f} s", end=" ")
    print(f"(CPU {alone_judge[1]:.3f}); walk alone {alone_walk[0]:.3f} s", end=" ")
    print(f"(main thread CPU {alone_walk[1]:.3f})\n")
    print("| round | beside | together, wall s | comparisons, wall / CPU s |", end=" ")
    print("neighbour, wall / CPU s |")
    print("|---|---|---:|---:|---:|")
    neighbours = {
        "the walk": walk,
        "a Python busy loop": busy_python(seconds),
        "a BLAS product": busy_blas(seconds),
    }
    for r in range(rounds):
        for name, fn in neighbours.items():
            start = time.perf_counter()
            j, o = side_by_side(judge, fn)
            wall = time.perf_counter() - start
            cells = f"{j[0]:.3f} / {j[1]:.3f} | {o[0]:.3f} / {o[1]:.3f}"
            print(f"| {r + 1} | {name} | {wall:.3f} | {cells} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("prototxt")
    parser.add_argument("caffemodel")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=0.3, help="per-call timing window")
    args = parser.parse_args()
    import numpy  # noqa: F401  (loads OpenBLAS, so the limit below reaches it)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        per_call(args.seconds)
        comparisons(args.prototxt, args.caffemodel, args.rounds)


if __name__ == "__main__":
    main()
