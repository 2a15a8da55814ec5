"""The numerical bounds of the test suite, in one place, each derived from measured conditioning.

Why not constants: the goldens are float32 Caffe outputs, and float32 sums depend on the BLAS
kernel and thread count (OpenBLAS picks its kernel by CPU). A bound tuned to one machine's
rounding fails on another of the same kind (issue 11: ResNet-50/101/152 missed 5e-5, 1.08e-4,
3.48e-4 by a few percent). So every comparison with float32 results is bounded by the float32
rounding *measured on that very run and blob*:

``spread`` = rel_linf(out32, out64): our numpy reference run in float32 and in float64 on the same
inputs. The float64 run is exact to ~1e-15, so ``spread`` is what float32 rounding does to this
blob on this machine (this kernel, these threads), deep-net amplification included. Any other
float32 implementation of the same arithmetic (Caffe, TensorFlow, JAX, OpenCV) carries rounding of
the same kind and size, with a different summation order. Hence:

- ``|ours32 - caffe32| <= |ours32 - exact| + |caffe32 - exact| ~ spread + spread'``;
- ``|ours64 - caffe32| ~ spread'``.

:data:`ROUNDING_MARGIN` (4) allows one spread for our side and up to three for the other
implementation's (its summation order may amplify differently): the same factor as the product's
own ``Tolerance.noise_factor`` (``caffe2keras/verify/compare.py``), so the tests hold the numpy
reference and the Keras model to the bar the product holds conversions to. Measured today, the
ratio error/spread is 0.7-1.0 on every ResNet blob (outputs and ``res4*``/``res5*`` alike), so the
margin leaves ~4x headroom on any machine whose rounding is of the same kind, while a real
semantic bug (a wrong epsilon, a transposed kernel, a pad off by one) is 1e-3 or more relative,
far above 4 x spread (spreads are 1e-7 on single layers, at most ~1e-4 at ResNet-152's last
blocks). ``tests/verify/test_sabotage.py`` and ``tests/test_bounds.py`` show such bugs still fail.

Floor: below :data:`FLOAT32_FLOOR` a spread measures luck, not conditioning (a blob that happens to
round well here, such as SqueezeNet's ``prob``: spread 6e-7 while Caffe's own rounding of it is
2e-6), and blobs that float32 holds exactly (inputs, max pooling) have spread 0. So the spread is
taken at least FLOAT32_FLOOR, and at least the golden's ``noise_floor`` (``meta.json``, the
model's own float32 noise as measured by whoever made the golden). One formula everywhere:

    bound = ROUNDING_MARGIN x max(spread, noise_floor, FLOAT32_FLOOR)

which is 1e-5 for the single-layer cases (their spreads are ~1e-7: the floor rules) and follows
the measured spread at depth (ResNet-152 ``res4b34_branch2b``: spread 3.9e-4, bound 1.6e-3).

Audit of the other numerical bounds in the suite (issue 11), and why each holds on any machine:

- float32 against float32/float64 on real goldens and zoo models (``tests/reference``,
  ``test_layer_goldens``, ``test_zoo``, ``builders/test_extra_goldens``,
  ``frontend/test_v1_format``, ``frontend/test_legacy_upgrade``, OpenCV/JAX/second-opinion
  agreement, keras2-weights on DenseNet): :func:`rounding_bound` of the measured spread, as above.
- Keras float32 against a float64 expectation on a small net of order-one values where no
  spread is measured (``builders/extra_nets.assert_close``, TF vs JAX/torch on the tiny and custom
  nets, OpenCV/pycaffe on the tiny fixture): :data:`SMALL_NET_BOUND` (1e-5 = 84 float32 eps;
  such nets do tens of roundings per output).
- The product's own verification (``caffe2keras/verify/compare.py``: max(rtol 1e-4, 4 x the
  blob's measured noise)), which zoo conversions and the sabotage tests rely on: the same form of
  bound, logged per blob by :func:`log_report`; sabotages are 1e-2 or more and fail it.
- float64 against float64 of the same sums in another order (``reference/test_conv_pool``:
  atol 1e-12 on values of order one to ten, at most a few hundred terms: K x 2.2e-16 <= 1e-13)
  and closed forms of one to three IEEE operations (``reference/test_quirks``: rtol 1e-12 to
  1e-15, numpy's default 1e-7): correctly rounded double arithmetic, independent of BLAS.
- Elementwise float32 Keras ops against closed forms (``test_quirks``: rtol/atol 1e-6 to 2e-5;
  ``builders/test_activations_extra``: rtol 1e-6; ``malformed/test_batchnorm_layouts``: 2e-5;
  ``verify/test_images``: atol 1e-5 on values below 4.4, i.e. 40x half an ulp): a handful of
  correctly rounded float32 operations per element (<= 10 eps = 1.2e-6 relative), no BLAS
  reduction whose order a kernel could change.
- ``verify/test_compare`` (``math.isclose`` rel 1e-9): checks the comparison arithmetic on given
  numbers, not float32 results.

Set ``C2K_BOUNDS_LOG=/path/file.jsonl`` to append every checked (error, bound) pair as a JSON line;
``benchmarks/numeric_settings.py`` uses it to print the worst error/bound ratio per BLAS setting.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

FLOAT32_EPS = float(np.finfo(np.float32).eps)  # 1.19e-7

# One spread for our own float32 rounding, up to three for the other implementation's: the
# product's Tolerance.noise_factor.
ROUNDING_MARGIN = 4.0

# 21 float32 epsilons: what a float32 result of order-one values picks up through a few dozen
# roundings. x ROUNDING_MARGIN it is 1e-5, the bar of the single-layer cases.
FLOAT32_FLOOR = 2.5e-6


def rel_linf(actual: Any, expected: Any) -> float:
    """L-infinity error relative to max|expected| (absolute when expected is all zeros)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    err = float(np.max(np.abs(actual - expected))) if expected.size else 0.0
    return err / scale if scale > 0 else err


def rel_linf_each_sample(actual: Any, expected: Any) -> float:
    """:func:`rel_linf`, except that a batch-independent ``expected`` (batch 1, as Caffe's
    PriorBox top whatever the batch) is compared with each sample of a batched ``actual``: the
    largest error over the samples."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.ndim == expected.ndim >= 1 and expected.shape[0] == 1 < actual.shape[0]:
        return max(rel_linf(sample[None], expected) for sample in actual)
    return rel_linf(actual, expected)


def rounding_bound(spread: float, noise_floor: float = 0.0) -> float:
    """ROUNDING_MARGIN x max(the blob's measured float32 spread, ``noise_floor``, FLOAT32_FLOOR)."""
    return ROUNDING_MARGIN * max(spread, noise_floor, FLOAT32_FLOOR)


# The bar of a blob whose spread is not measured, in a small net of order-one values (the layer
# cases, the tiny fixture): the floor alone, 1e-5.
SMALL_NET_BOUND = ROUNDING_MARGIN * FLOAT32_FLOOR


def spreads(
    graph: Any, inputs: Mapping[str, np.ndarray], blobs: Iterable[str]
) -> tuple[dict[str, float], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Our reference in float32 and float64 on ``inputs``: each Caffe blob's spread (blobs named
    as in the golden, resolved through the graph), and both runs."""
    from detection_checks import detection_spread, is_detection

    from caffe2keras.reference import run_reference

    out32 = run_reference(graph, inputs, np.float32)
    out64 = run_reference(graph, inputs, np.float64)
    found = {}
    for name in blobs:
        blob = graph.resolve(name)
        spread = detection_spread if is_detection(graph, blob) else rel_linf  # rows, not elements
        found[name] = spread(out32[blob], out64[blob])
    return found, out32, out64


def log_bound(what: str, err: float, bound: float) -> None:
    """Append (error, bound) to $C2K_BOUNDS_LOG, if set (one JSON line, atomic append)."""
    path = os.environ.get("C2K_BOUNDS_LOG")
    if not path:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    ratio = err / bound if bound > 0 else (0.0 if err == 0 else float("inf"))
    line = json.dumps({"test": test, "what": what, "err": err, "bound": bound, "ratio": ratio})
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def within(what: str, err: float, bound: float) -> bool:
    """Whether ``err <= bound``, logging the pair (see :func:`log_bound`)."""
    log_bound(what, err, bound)
    return err <= bound


def assert_within(what: str, err: float, bound: float) -> None:
    """Assert ``err <= bound``, logging the pair; the message says both and which blob."""
    assert within(what, err, bound), f"{what}: rel L-inf {err:.3g} > bound {bound:.3g}"


def log_report(what: str, report: Any) -> None:
    """Log every blob of a product verification report as (max_rel, allowed_rel): the product's
    own bound, max(rtol, noise_factor x the blob's measured float32 noise), is the same kind of
    bound as :func:`rounding_bound`, so the settings script reports its margin too."""
    for row in report.rows:
        log_bound(f"{what} verify {row.blob}", row.max_rel, row.allowed_rel)
