#!/usr/bin/env python3
"""One verification's time against a steady forward pass, with its split.

    python benchmarks/prof_verify.py PROTOTXT CAFFEMODEL [--repeat 3] [--lockstep] [--profile]

Loads the net, builds the Keras model, times a steady ``model.predict`` of the verification
batch (fastest of 3 after a warm-up), then runs ``verify_model`` ``--repeat`` times and prints,
each time: its wall time, the ratio to the predict, its split (``keras``: the eager walk in the
main thread; ``keras_wait``, ``reference``: the comparisons' thread's waits for the walk and the
reference passes; ``compare``; ``handover``: the main thread's waits for the comparisons) and
the reference passes' own time in their background threads (``producer``). ``--lockstep`` runs
both passes in one thread (``reference_feed.SPLIT_PASSES = False``; the default is one thread
per precision); ``--profile`` adds a cProfile of one more run (of the main thread only).
To compare with an older checkout, run this script with ``PYTHONPATH=OLD`` (``producer`` is then
absent: its reference passes ran inline).
"""

from __future__ import annotations

import argparse
import time
from typing import Any


def loaded_with_predict(prototxt: str, caffemodel: str) -> tuple[Any, Any, Any, float]:
    """The loaded net, its built Keras model, the verification inputs and a steady
    ``model.predict`` of them (fastest of 3 after a warm-up), in seconds."""
    from caffe2keras import api
    from caffe2keras.keras_model.model import build_model
    from caffe2keras.verify.walk import model_feed

    opts = api.ConvertOptions()
    net = api.load(prototxt, caffemodel, opts)
    built = build_model(net.keras)
    inputs, _ = api.make_inputs(net, opts)
    feed = model_feed(built.model, inputs, net.keras)
    times = []
    for _ in range(4):
        start = time.perf_counter()
        built.model.predict(feed[0], verbose=0)
        times.append(time.perf_counter() - start)
    return net, built, inputs, min(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("prototxt")
    parser.add_argument("caffemodel")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lockstep", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from caffe2keras.verify import stream
    from caffe2keras.verify.compare import Tolerance
    from caffe2keras.verify.run import verify_model

    if args.lockstep:
        from caffe2keras.verify import reference_feed

        reference_feed.SPLIT_PASSES = False
    net, built, inputs, predict = loaded_with_predict(args.prototxt, args.caffemodel)
    producer: list[Any] = []
    compare_stream = stream.compare_stream

    def watched(*a: Any, **k: Any) -> Any:
        out = compare_stream(*a, **k)
        producer.append(getattr(out, "producer_seconds", None))
        return out

    stream.compare_stream = watched
    call = (net, built.model, built.blob_layers, inputs)
    for _ in range(args.repeat):
        timings: dict[str, float] = {}
        start = time.perf_counter()
        report = verify_model(*call, tolerance=Tolerance(), timings=timings)
        wall = time.perf_counter() - start
        split = " / ".join(f"{k} {v:.2f}" for k, v in timings.items())
        busy = f" producer {producer[-1]:.2f}" if producer[-1] is not None else ""
        print(
            f"verify {wall:.2f} s, predict {predict:.3f} s, ratio {wall / predict:.1f}; "
            f"{split}{busy}; passed={report.passed} rows={len(report.rows)}",
            flush=True,
        )
    if args.profile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        verify_model(*call, tolerance=Tolerance())
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
