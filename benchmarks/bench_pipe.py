#!/usr/bin/env python3
"""The streamed verification's thread arrangements side by side, in one process (issue 15).

    python benchmarks/bench_pipe.py PROTOTXT CAFFEMODEL [--rounds 3]
        [--arrangements inline+lockstep,thread+split,thread+lockstep,inline+split]

Loads the net, builds the Keras model, times a steady ``model.predict`` of the verification
batch (fastest of 3 after a warm-up), verifies once to warm up, then runs ``verify_model`` once
per arrangement per round, interleaved: comparisons ``inline`` in the main thread between the
walk's steps (``stream.JUDGE_DEPTH = None``, main's arrangement) or in their own ``thread``
(the default hand-over), and the two reference passes in ``lockstep`` in one thread
(``reference_feed.SPLIT_PASSES = False``) or ``split``, one thread each (the default). Prints,
per run, wall and process CPU seconds, the split (``keras``: the walk in the main thread;
``keras_wait``, ``reference``, ``compare``: the comparisons' waits and work; ``handover``: the
main thread's waits for the comparisons), then the median per arrangement. Every run must pass
with the same number of rows.
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("prototxt")
    parser.add_argument("caffemodel")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--arrangements", default="inline+lockstep,thread+split,thread+lockstep,inline+split"
    )
    args = parser.parse_args()

    from prof_verify import loaded_with_predict

    from caffe2keras.verify import reference_feed, stream
    from caffe2keras.verify.compare import Tolerance
    from caffe2keras.verify.run import verify_model

    net, built, inputs, predict = loaded_with_predict(args.prototxt, args.caffemodel)
    print(f"steady predict {predict:.3f} s", flush=True)
    call = (net, built.model, built.blob_layers, inputs)
    rows = len(verify_model(*call, tolerance=Tolerance()).rows)
    arrangements = args.arrangements.split(",")
    found: dict[str, list[tuple[float, float]]] = {a: [] for a in arrangements}
    depth = stream.JUDGE_DEPTH
    for _ in range(args.rounds):
        for arrangement in arrangements:
            judge, passes = arrangement.split("+")
            stream.JUDGE_DEPTH = None if judge == "inline" else depth
            reference_feed.SPLIT_PASSES = passes == "split"
            timings: dict[str, float] = {}
            start, cpu = time.perf_counter(), time.process_time()
            report = verify_model(*call, tolerance=Tolerance(), timings=timings)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            assert report.passed and len(report.rows) == rows, arrangement
            found[arrangement].append((wall, cpu))
            split = " / ".join(f"{k} {v:.2f}" for k, v in timings.items())
            print(f"{arrangement:16s} wall {wall:.2f} s, CPU {cpu:.2f} s; {split}", flush=True)
    for arrangement, runs in found.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"median {arrangement:16s} wall {wall:.2f} s, CPU {cpu:.2f} s")


if __name__ == "__main__":
    main()
