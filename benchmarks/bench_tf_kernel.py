#!/usr/bin/env python3
"""The comparisons' numbers computed by TensorFlow instead of numpy: a timing check (issue 15).

    python benchmarks/bench_tf_kernel.py [--values 1048576] [--repeat 20]

The streamed verification's comparisons make about 15 numpy calls per 32768-value chunk
(``verify/fused.py``); beside the Python-bound Keras walk each call waits for the GIL
(``bench_gil.py``). TensorFlow is the one compiler the design card allows: this script computes
the same numbers for one flat block (max and min of the float64 reference, max and sum of
|keras - ref|, the three dot products of the cosine, max |twin - ref|) as one ``tf.function``
call, compiled by XLA (``jit_compile=True``: one fused kernel) and as a plain graph, and prints
each one's first call (trace and compile), its steady time per value and whether its maxima
equal numpy's bit for bit, beside ``fused.measure`` on the same values (numpy's BLAS one
thread, as the verification holds it). XLA needs static shapes: a product would feed it blocks
of one fixed size (zero padding leaves every one of these numbers unchanged).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any


def kernels(n: int) -> dict[str, Callable[..., Any]]:
    """The comparisons' eight numbers as a TensorFlow function of (keras f32, ref f64, twin f32)
    flat blocks of ``n`` values: XLA-compiled and plain graph."""
    import tensorflow as tf

    spec = [
        tf.TensorSpec([n], tf.float32),
        tf.TensorSpec([n], tf.float64),
        tf.TensorSpec([n], tf.float32),
    ]

    def numbers(keras: Any, ref: Any, twin: Any) -> Any:
        k = tf.cast(keras, tf.float64)
        d = tf.abs(k - ref)
        return tf.stack(
            [
                tf.reduce_max(ref),
                tf.reduce_min(ref),
                tf.reduce_max(d),
                tf.reduce_sum(d),
                tf.reduce_sum(k * k),
                tf.reduce_sum(ref * ref),
                tf.reduce_sum(k * ref),
                tf.reduce_max(tf.abs(tf.cast(twin, tf.float64) - ref)),
            ]
        )

    return {
        "xla": tf.function(numbers, jit_compile=True, input_signature=spec),
        "graph": tf.function(numbers, input_signature=spec),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--values", type=int, default=1 << 20)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    import numpy as np
    from threadpoolctl import threadpool_limits

    from caffe2keras.verify.fused import Scratch, measure

    n = args.values
    rng = np.random.default_rng(0)
    ref = rng.standard_normal(n)
    keras = (ref + 1e-6 * rng.standard_normal(n)).astype(np.float32)
    twin = ref.astype(np.float32)
    k64, t64 = keras.astype(np.float64), twin.astype(np.float64)
    want = [ref.max(), ref.min(), np.abs(k64 - ref).max(), np.abs(t64 - ref).max()]
    print(f"{n} values, numpy {np.__version__}")
    print("| kernel | first call, s | steady, ms per call | ns per value | maxima equal numpy's |")
    print("|---|---:|---:|---:|---|")
    for name, kernel in kernels(n).items():
        start = time.perf_counter()
        got = kernel(keras, ref, twin).numpy()
        first = time.perf_counter() - start
        for _ in range(3):
            kernel(keras, ref, twin)
        start = time.perf_counter()
        for _ in range(args.repeat):
            got = kernel(keras, ref, twin).numpy()
        each = (time.perf_counter() - start) / args.repeat
        equal = [got[0], got[1], got[2], got[7]] == want
        print(f"| TF {name} | {first:.3f} | {each * 1e3:.2f} | {each / n * 1e9:.2f} | {equal} |")
    scratch = Scratch(blas=True)
    block = (keras.reshape(1, -1), ref.reshape(1, -1), twin.reshape(1, -1))
    with threadpool_limits(limits=1, user_api="blas"):
        measure(*block, scratch)
        start = time.perf_counter()
        for _ in range(args.repeat):
            found = measure(*block, scratch)
        each = (time.perf_counter() - start) / args.repeat
    assert found is not None and found.max_abs == want[2]
    print(f"| numpy fused.measure | - | {each * 1e3:.2f} | {each / n * 1e9:.2f} | True |")


if __name__ == "__main__":
    main()
