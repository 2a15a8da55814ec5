"""The streamed verification's per-blob comparison: the old functions against the fused pass.

Usage:

    python benchmarks/bench_fused.py [densenet121 resnet50 ...] [--repeat 3] [--chunks 8192,32768]

Per zoo model (``../shared/golden/zoo/NAME``, weights from ``bench_convert_all.caffemodel``), the
float64 and float32 reference passes run in lockstep on the verification batch (batch 2, as
``caffe2keras verify`` makes it), as ``verify/stream.py`` consumes them. For each blob, the
Keras value stands in as the float32 twin held as the eager walk yields it: a contiguous NHWC
tensor viewed in Caffe layout (the Keras model's own values differ from it by float32 rounding,
which changes no cost). Side by side on that same blob, ``--repeat`` times each (fastest kept),
alternating:

- old: ``blob_noise`` + ``overflow_note`` + ``compare_blob``, as the streamed pass called them;
- fused (one per ``--chunks`` size): ``BlobJudge.row`` + ``noise`` + ``twin_finite`` (the old
  overflow note only where the twin is not finite), as it calls them now.

Each blob's fused numbers are checked against the old ones (max values bit-identical, mean_abs
and cosine within 1e-12 relative). numpy's BLAS is held to one thread as in the streamed pass.
Prints per model the wall and CPU seconds summed over blobs (on a shared machine CPU time says
more), the ratios, the blobs above the smallest chunk (smaller ones keep the old functions in the
streamed pass; here both paths time them) and the number of values compared.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_convert_all import SHARED, caffemodel  # noqa: E402
from machine import describe  # noqa: E402


def _old(keras: Any, ref: Any, twin: Any) -> Any:
    from caffe2keras.verify.compare import Tolerance, blob_noise, compare_blob
    from caffe2keras.verify.numeric_notes import overflow_note

    noise = blob_noise(twin, ref)
    overflow_note("b", "l", "T", twin, ref)
    return compare_blob("b", "l", "T", keras, ref, Tolerance(), False, noise or 0.0)


def _fused(keras: Any, ref: Any, twin: Any, scratch: Any) -> Any:
    from caffe2keras.verify.compare import Tolerance
    from caffe2keras.verify.judge import BlobJudge
    from caffe2keras.verify.numeric_notes import overflow_note

    judge = BlobJudge(ref, twin, Tolerance(), True, scratch)
    row = judge.row("b", "l", "T", keras, "caffe", False, None)
    judge.noise()
    if not judge.twin_finite():
        overflow_note("b", "l", "T", twin, ref)
    return row


def _timed(fn: Any, args: tuple, repeat: int) -> tuple[tuple[float, float], Any]:
    """(wall, CPU) seconds of the fastest of ``repeat`` calls, and the result."""
    best, out = (math.inf, math.inf), None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        out = fn(*args)
        best = min(best, (time.perf_counter() - start, time.process_time() - cpu))
    return best, out


def _check(new: Any, old: Any) -> None:
    assert new.max_abs == old.max_abs and new.ref_max == old.ref_max, (new, old)
    assert new.noise == old.noise and new.passed == old.passed, (new, old)
    for key in ("mean_abs", "cosine"):
        a, b = getattr(new, key), getattr(old, key)
        assert a == b or abs(a - b) <= 1e-12 * abs(b), (key, a, b)


def bench(name: str, repeat: int, sizes: list[int]) -> dict[str, list[float]]:
    import numpy as np

    from caffe2keras import api
    from caffe2keras.layout import to_caffe, to_keras
    from caffe2keras.reference.executor import iter_reference
    from caffe2keras.verify.fused import Scratch

    net = api.load(SHARED / "golden" / "zoo" / name / "net.prototxt", caffemodel(name))
    inputs, _ = api.make_inputs(net, api.ConvertOptions())
    graph = net.reference
    scratches = {size: Scratch(size, blas=True) for size in sizes}  # as the streamed pass
    seconds = {"old": [0.0, 0.0], **{f"fused {s}": [0.0, 0.0] for s in sizes}}
    blobs = fused_blobs = elements = 0
    twins = iter_reference(graph, inputs, np.dtype("float32"))
    for (blob, ref), (twin_blob, twin) in zip(
        iter_reference(graph, inputs, np.dtype("float64")), twins
    ):
        assert blob == twin_blob
        if ref.dtype != np.float64 or ref.ndim == 0:
            continue
        keras = to_caffe(np.ascontiguousarray(to_keras(twin)))  # as the eager walk yields it
        took, old = _timed(_old, (keras, ref, twin), repeat)
        seconds["old"] = [a + b for a, b in zip(seconds["old"], took)]
        for size, scratch in scratches.items():
            took, new = _timed(_fused, (keras, ref, twin, scratch), repeat)
            key = f"fused {size}"
            seconds[key] = [a + b for a, b in zip(seconds[key], took)]
            _check(new, old)
        blobs += 1
        fused_blobs += ref.size > min(sizes)
        elements += ref.size
    print(
        f"{name}: {blobs} blobs ({fused_blobs} above the smallest chunk), "
        f"{elements / 1e6:.1f}M values"
    )
    (wall, cpu) = seconds["old"]
    for key, (w, c) in seconds.items():
        print(
            f"  {key:>12}: wall {w:.3f} s, CPU {c:.3f} s"
            f"  (old / this: {wall / w:.2f}, {cpu / c:.2f})"
        )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=["densenet121"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunks", default="8192,32768,131072")
    args = parser.parse_args()
    import numpy  # noqa: F401  (loads OpenBLAS: the limit below applies to it)
    from threadpoolctl import threadpool_limits

    print(describe())
    sizes = [int(s) for s in args.chunks.split(",")]
    with threadpool_limits(limits=1, user_api="blas"):
        for name in args.models:
            bench(name, args.repeat, sizes)


if __name__ == "__main__":
    main()
