"""Time the numpy reference (float64 and float32 passes) against one steady ``model.predict``.

Usage (weights from ``../shared/tools/make_caffemodel.py`` or ``benchmarks/synth.py``):

    python benchmarks/bench_reference.py \
        densenet121=../shared/golden/zoo/densenet121/net.prototxt:/tmp/d121.caffemodel \
        vgg16=benchmarks/vgg16_deploy.prototxt:/tmp/vgg16.caffemodel [--repeat 2] [--json out.json]

Per model, in this order and one process: the Keras model is built (weights filled) and
``model.predict`` of the verification batch (batch 2, seeded as verification makes it) is run
once to warm up and then ``--repeat`` times (the fastest is kept: "steady"); then the reference
runs the same batch in float64 and in float32 ``--repeat`` times each through
``iter_reference`` as verification consumes it (each blob dropped as it is yielded), fastest
kept; then one more pass of each dtype with a CPU timer around every op, summed per layer type.
Prints ``(float64 + float32) / predict``, the ratio issue 15 bounds (aim: <= 4). Wall and CPU
time are both printed: on a shared machine CPU time says more. It uses only interfaces that
existed before the fast reference, so the same script times an older checkout (run it with that
checkout on ``PYTHONPATH``). On a shared machine OpenBLAS' spinning threads inflate both wall and
CPU time of the reference; ``--blas-threads 1`` measures the work itself.

Old beside new: ``--old DIR`` runs the passes (``--no-predict``) of this checkout and of the
checkout in DIR in child processes, alternating, ``--rounds`` times, and prints the best CPU
seconds of each per model and per layer type side by side:

    python benchmarks/bench_reference.py --blas-threads 1 --old /work/main --rounds 3 \
        vgg16=benchmarks/vgg16_deploy.prototxt:/tmp/vgg16.caffemodel
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _best(fn: Any, repeat: int) -> tuple[float, float]:
    """(wall, cpu) seconds of the fastest of ``repeat`` calls."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - start, time.process_time() - cpu))
    return best


def _stream(graph: Any, inputs: Any, dtype: Any) -> None:
    from caffe2keras.reference import iter_reference

    for _blob, _value in iter_reference(graph, inputs, dtype):
        pass


def _per_type(graph: Any, inputs: Any, dtype: Any) -> dict[str, float]:
    """CPU seconds per layer type of one pass, each op timed (the executor's bookkeeping aside).

    CPU time, not wall: on a shared machine it is what the op costs (with several BLAS threads
    it also counts their spinning)."""
    from caffe2keras.reference import registry

    registry.load()
    times: dict[str, float] = defaultdict(float)
    saved = dict(registry._OPS)

    def timed(type_name: str, op: Any) -> Any:
        def run(layer: Any, values: Any, dt: Any) -> Any:
            start = time.process_time()
            out = op(layer, values, dt)
            times[type_name] += time.process_time() - start
            return out

        return run

    registry._OPS.update({t: timed(t, op) for t, op in saved.items()})
    try:
        _stream(graph, inputs, dtype)
    finally:
        registry._OPS.clear()
        registry._OPS.update(saved)
    return dict(times)


def _predict(model: Any, feed: list[Any], repeat: int) -> tuple[float, float]:
    """(wall, cpu) of the fastest steady ``model.predict`` after one warm-up call (tracing)."""
    batch = int(feed[0].shape[0])
    model.predict(feed, batch_size=batch, verbose=0)
    return _best(lambda: model.predict(feed, batch_size=batch, verbose=0), repeat)


def _keras_predict(net: Any, inputs: Any, repeat: int) -> tuple[float, float]:
    """(wall, cpu) of the steady ``model.predict`` of the verification batch."""
    import numpy as np

    from caffe2keras.ir.layouts import layout_kinds
    from caffe2keras.keras_model.model import build_model
    from caffe2keras.layout import CAFFE, to_keras

    layouts = layout_kinds(net.reference)
    feed = [
        to_keras(
            np.asarray(inputs[net.reference.caffe_name(s.name)], np.float32),
            layouts.get(s.name, CAFFE),
        )
        for s in net.reference.inputs
    ]
    return _predict(build_model(net.keras).model, feed, repeat)  # the model is freed after


def bench_model(
    name: str, prototxt: str, caffemodel: str, repeat: int, predict_too: bool = True
) -> dict[str, Any]:
    import numpy as np

    from caffe2keras import api

    opts = api.ConvertOptions()
    net = api.load(prototxt, caffemodel, opts)
    inputs, _info = api.make_inputs(net, opts)
    predict = _keras_predict(net, inputs, repeat) if predict_too else (float("nan"),) * 2
    graph = net.reference
    f64 = _best(lambda: _stream(graph, inputs, np.float64), repeat)
    f32 = _best(lambda: _stream(graph, inputs, np.float32), repeat)
    types64 = _per_type(graph, inputs, np.float64)
    types32 = _per_type(graph, inputs, np.float32)
    return {
        "model": name,
        "batch": int(next(iter(inputs.values())).shape[0]),
        "predict": predict,
        "float64": f64,
        "float32": f32,
        "ratio_wall": (f64[0] + f32[0]) / predict[0],
        "ratio_cpu": (f64[1] + f32[1]) / predict[1],
        "per_type": {
            t: (types64.get(t, 0.0), types32.get(t, 0.0))
            for t in sorted(set(types64) | set(types32), key=lambda t: -types64.get(t, 0.0))
        },
    }


def _print(result: dict[str, Any]) -> None:
    r = result
    print(f"\n{r['model']} (batch {r['batch']})    wall s    cpu s")
    for key in ("predict", "float64", "float32"):
        print(f"  {key:22s} {r[key][0]:8.3f} {r[key][1]:8.3f}")
    print(f"  {'(f64 + f32) / predict':22s} {r['ratio_wall']:8.2f} {r['ratio_cpu']:8.2f}")
    print("  per layer type (cpu s)   float64  float32")
    for t, (a, b) in r["per_type"].items():
        if a + b >= 0.005:
            print(f"    {t:22s} {a:7.3f}  {b:7.3f}")


def _old_beside_new(args: argparse.Namespace) -> None:
    """Both checkouts' passes in alternating child processes; best CPU seconds side by side."""
    import subprocess
    import sys
    import tempfile

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    best: dict[tuple[str, str], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds):
            for label, root in (("old", args.old), ("new", here)):
                out = os.path.join(tmp, f"{label}{rnd}.json")
                cmd = [sys.executable, __file__, "--no-predict", "--repeat", str(args.repeat)]
                cmd += ["--json", out, *args.models]
                env = dict(os.environ, PYTHONPATH=root)
                done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
                if f"caffe2keras from {os.path.join(root, 'caffe2keras')}" not in done.stdout:
                    raise SystemExit(f"the child did not import {root}:\n{done.stdout}")
                with open(out) as fh:
                    for r in json.load(fh):
                        key, cpu = (r["model"], label), r["float64"][1] + r["float32"][1]
                        if key not in best or cpu < best[key]["both"]:
                            best[key] = {**r, "both": cpu}
    print(f"best of {args.rounds} rounds x {args.repeat} passes, CPU s (old: {args.old})")
    for name in dict.fromkeys(m for m, _ in best):
        old, new = best[(name, "old")], best[(name, "new")]
        print(f"\n{name}                  old f64  old f32   new f64  new f32")
        row = (old["float64"][1], old["float32"][1], new["float64"][1], new["float32"][1])
        print(f"  {'passes':22s} {row[0]:7.3f}  {row[1]:7.3f}   {row[2]:7.3f}  {row[3]:7.3f}")
        print(f"  {'both':22s} {old['both']:16.3f}   {new['both']:16.3f}")
        for t in dict.fromkeys([*new["per_type"], *old["per_type"]]):
            a, b = old["per_type"].get(t, (0.0, 0.0)), new["per_type"].get(t, (0.0, 0.0))
            if max(a + b) >= 0.005:
                print(f"    {t:20s} {a[0]:7.3f}  {a[1]:7.3f}   {b[0]:7.3f}  {b[1]:7.3f}")
    print(f"\nload average at the end {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="NAME=PROTOTXT:CAFFEMODEL")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each timing (best kept)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--blas-threads",
        type=int,
        help="OpenBLAS threads of the reference (default: OpenBLAS' own, one per core); "
        "TensorFlow's threads are not affected",
    )
    parser.add_argument("--no-predict", action="store_true", help="the reference passes only")
    parser.add_argument("--old", help="an older checkout: time it beside this one (children)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds with --old")
    args = parser.parse_args()
    if args.blas_threads:  # before numpy is imported
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(args.blas_threads)
    if args.old:
        _old_beside_new(args)
        return
    import caffe2keras

    print(f"caffe2keras from {os.path.dirname(caffe2keras.__file__)}")
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"load average {os.getloadavg()} on {os.cpu_count()} cores; OpenBLAS threads {blas}")
    results = []
    for spec in args.models:
        name, _, paths = spec.partition("=")
        prototxt, _, caffemodel = paths.rpartition(":")
        results.append(bench_model(name, prototxt, caffemodel, args.repeat, not args.no_predict))
        _print(results[-1])
    print(f"\nload average at the end {os.getloadavg()}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
