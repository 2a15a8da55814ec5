"""Time the verify step of a conversion, stage by stage.

Usage (DenseNet-121, weights made by ../shared/tools/make_caffemodel.py):

    python ../shared/tools/make_caffemodel.py \
        ../shared/golden/zoo/densenet121/manifest.json /tmp/d121.caffemodel
    python benchmarks/bench_verify.py ../shared/golden/zoo/densenet121/net.prototxt \
        /tmp/d121.caffemodel [--reference opencv]

Prints each stage of ``verify_model`` (reference in float64, the float32 noise run, the noise
measure, the Keras probe, the comparison) with its wall and CPU time, then whole ``verify_model``
calls as the report's ``seconds`` records them. On a busy machine wall time says little: CPU time
(single-threaded: ``OPENBLAS_NUM_THREADS=1``) bounds what an idle core needs.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _timed(label: str, fn: Callable[[], Any]) -> Any:
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"  {label:28s} {wall:7.2f} s {cpu:7.2f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prototxt")
    parser.add_argument("caffemodel")
    parser.add_argument("--repeat", type=int, default=1, help="verify_model this many times")
    parser.add_argument("--reference", action="append", default=[], help="second opinions")
    args = parser.parse_args()

    import numpy as np

    from caffe2keras import api
    from caffe2keras.keras_model.model import build_model
    from caffe2keras.reference.executor import run_reference
    from caffe2keras.verify.compare import Tolerance, compare_all, rounding_noise
    from caffe2keras.verify.run import blob_order, probe_keras, verify_model

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  {'stage':28s} {'wall':>9s} {'cpu':>9s}")
    opts = api.ConvertOptions(second_opinions=tuple(args.reference))
    net = _timed("load", lambda: api.load(args.prototxt, args.caffemodel, opts))
    built = _timed("build (not part of verify)", lambda: build_model(net.keras))
    inputs, info = api.make_inputs(net, opts)
    graph = net.reference
    ref = _timed("reference float64", lambda: run_reference(graph, inputs, np.float64))
    r32 = _timed("reference float32", lambda: run_reference(graph, inputs, np.float32))
    noise = _timed("noise (f32 vs f64)", lambda: rounding_noise(r32, ref))
    probe = _timed(
        "keras probe", lambda: probe_keras(built.model, built.blob_layers, inputs, net.keras)
    )
    order = blob_order(net.keras)
    _timed(
        "compare",
        lambda: compare_all(probe, ref, order, net.keras.outputs, Tolerance(), noise),
    )
    runners = api.second_opinion_runners(args.prototxt, args.caffemodel, net, opts)
    for name, runner in runners.items():
        _timed(f"second opinion {name}", lambda runner=runner: runner(inputs))
    for _ in range(args.repeat):
        report = _timed(
            "verify_model (whole)",
            lambda: verify_model(
                net,
                built.model,
                built.blob_layers,
                inputs,
                tolerance=Tolerance(),
                inputs_info=info,
                second_opinions=runners,
            ),
        )
        print(
            f"  report.seconds {report.seconds:.2f}, {len(report.rows)} blobs, "
            f"passed={report.passed}"
        )
        for op in report.second_opinions:
            print(f"  {op.summary()}")


if __name__ == "__main__":
    main()
