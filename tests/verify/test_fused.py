"""The fused per-blob pass (``verify/fused.py``, ``verify/judge.py``) against the old functions
(``compare_blob``, ``blob_noise``, ``overflow_note``) as the oracle: max values bit-identical,
sums (mean_abs, cosine) equal up to summation order, every special case sent back to the old
functions. Small chunk sizes put the chunk boundaries where tiny arrays can reach them."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pytest

from caffe2keras.verify import fused
from caffe2keras.verify.compare import FLT_MAX, Tolerance, blob_noise, compare_blob
from caffe2keras.verify.fused import Scratch, chunks, measure, memory_order, walk_order
from caffe2keras.verify.judge import BlobJudge
from caffe2keras.verify.numeric_notes import overflow_note

TOL = Tolerance()
SUMS = ("mean_abs", "cosine")  # summation order may differ: 1e-12 relative


def blob(shape, seed=0, nhwc=True):
    """(Keras float32 in Caffe layout, float64 reference, float32 twin): for 4-D shapes the
    Keras value is a transposed view of an NHWC array, as the eager walk yields it."""
    rng = np.random.default_rng(seed)
    ref = rng.standard_normal(shape) * 3.0
    keras = (ref + rng.standard_normal(shape) * 1e-5).astype(np.float32)
    if len(shape) == 4 and nhwc:
        keras = np.ascontiguousarray(keras.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return keras, ref, ref.astype(np.float32)


def old_numbers(keras, ref, twin, tol=TOL, is_output=False, ltype="T"):
    noise = blob_noise(twin, ref) if twin is not None else None
    row = compare_blob("b", "l", ltype, keras, ref, tol, is_output, noise or 0.0)
    return row, noise


def same(a, b) -> bool:
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def assert_rows(new, old) -> None:
    da, db = asdict(new), asdict(old)
    for key in da:
        if key in SUMS and math.isfinite(db[key]):
            assert da[key] == pytest.approx(db[key], rel=1e-12, abs=0), key
        else:
            assert same(da[key], db[key]), (key, da[key], db[key])


def check_measure(keras, ref, twin, size, blas=False):
    """measure() runs the fused pass (not None) and gives the old numbers."""
    found = measure(keras, ref, twin, Scratch(size, blas))
    assert found is not None
    row, noise = old_numbers(keras, ref, twin)
    assert found.max_abs == row.max_abs and found.ref_max == row.ref_max  # bit-identical
    assert found.noise == noise and found.twin_finite
    assert found.mean_abs == pytest.approx(row.mean_abs, rel=1e-12, abs=0)
    assert found.cosine == pytest.approx(row.cosine, rel=1e-12, abs=0)
    return found


SHAPES = [
    (2, 5, 7, 9),  # NHWC view
    (1, 3, 4, 4),
    (3, 50),
    (4, 5, 6),
    (2, 3, 4, 5, 6),
    (1,),
    (1, 1, 1, 1),
    (7,),
    (2, 1, 1, 1000),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("size", [1, 7, 64, 1 << 15])
def test_measure_matches_the_old_functions(shape, size) -> None:
    keras, ref, twin = blob(shape)
    twin = twin + np.float32(1e-3)  # a visible noise
    check_measure(keras, ref, twin, size)
    check_measure(keras, ref, None, size)
    assert measure(None, ref, twin, Scratch(size)).noise == blob_noise(twin, ref)


@pytest.mark.parametrize("delta", [-1, 0, 1])
@pytest.mark.parametrize("chunk", [16, 60])
def test_sizes_around_a_chunk(delta, chunk) -> None:
    """Blobs of one chunk and of several, a few elements either side."""
    for n in (chunk + delta, 3 * chunk + delta):
        keras, ref, twin = blob((n,), seed=n)
        check_measure(keras, ref, twin, chunk)
        keras, ref, twin = blob((2, 3, 2, n), seed=n)  # NHWC view, C of n
        check_measure(keras, ref, twin, chunk)


def test_both_walk_orders() -> None:
    """Small H x W and many channels: the reference's own order (Keras blocks of whole cache
    lines); a large H x W: the Keras order. Both give the old numbers, BLAS dots or einsum."""
    keras, ref, twin = blob((2, 48, 4, 4))
    assert walk_order(keras, ref, 256) == (0, 1, 2, 3)  # 16 channels a block: runs of 16
    assert walk_order(keras, ref, 64) == (0, 2, 3, 1)  # 4 channels: runs of 4, Keras order
    assert walk_order(None, ref, 64) == (0, 1, 2, 3)
    from threadpoolctl import threadpool_limits

    for size in (256, 64, 100):
        check_measure(keras, ref, twin, size)
        with threadpool_limits(limits=1, user_api="blas"):  # as the streamed pass holds it
            check_measure(keras, ref, twin, size, blas=True)


def test_chunks_cover_every_element_once_in_memory_order() -> None:
    for shape, size in [((2, 7, 9, 5), 40), ((3, 50), 7), ((4, 5, 6), 1), ((5,), 100)]:
        seen = np.zeros(shape, int)
        flat = []
        for index in chunks(shape, size):
            block = seen[index]
            assert 0 < block.size <= max(size, shape[-1])
            seen[index] += 1
            flat += list(np.arange(seen.size).reshape(shape)[index].ravel())
        assert (seen == 1).all() and flat == sorted(flat)
    keras = blob((2, 5, 7, 9))[0]
    assert memory_order(keras) == (0, 2, 3, 1)
    assert keras.transpose(memory_order(keras)).flags.c_contiguous


def test_a_large_error_in_the_last_chunk_is_found() -> None:
    keras, ref, twin = blob((2, 6, 5, 4))  # NHWC (2, 5, 4, 6), chunks of 20: the last is 6
    keras.base[1, 4, 3, 5] += np.float32(250.0)  # the very last element of the NHWC memory
    found = check_measure(keras, ref, twin, 20)
    assert found.max_abs > 200.0
    row = BlobJudge(ref, twin, TOL, True, Scratch(20)).row(
        "b", "l", "T", keras, "caffe", False, None
    )
    assert not row.passed and row.max_abs == found.max_abs


def test_zero_blobs() -> None:
    zero = np.zeros((2, 3, 4, 5))
    for keras, cosine in [(np.zeros((2, 3, 4, 5), np.float32), 1.0), (np.ones_like(zero), 0.0)]:
        found = measure(keras.astype(np.float32), zero, zero.astype(np.float32), Scratch(8))
        row, noise = old_numbers(keras.astype(np.float32), zero, zero.astype(np.float32))
        assert found is not None and found.cosine == row.cosine == cosine
        assert found.ref_max == row.ref_max == 0.0 and found.noise == noise == 0.0
        assert found.max_abs == row.max_abs


SPECIALS = [np.nan, np.inf, -np.inf, FLT_MAX, -FLT_MAX]


def judged(keras, ref, twin, size=8, tol=TOL, ltype="T", specials=True, is_output=False):
    judge = BlobJudge(ref, twin, tol, specials, Scratch(size))
    row = judge.row("b", "l", ltype, keras, "caffe", is_output, None)
    return row, judge


def assert_judged_as_old(keras, ref, twin, **kw) -> BlobJudge:
    row, judge = judged(keras, ref, twin, **kw)
    tol, ltype = kw.get("tol", TOL), kw.get("ltype", "T")
    old, noise = old_numbers(keras, ref, twin, tol, kw.get("is_output", False), ltype)
    assert_rows(row, old)
    assert same(judge.noise(), noise)
    return judge


@pytest.mark.parametrize("value", SPECIALS)
@pytest.mark.parametrize("where", ["keras", "ref", "twin"])
@pytest.mark.parametrize("at", [0, -1])  # first chunk, last chunk
def test_planted_special_values(value, where, at) -> None:
    keras, ref, twin = blob((2, 4, 3, 5))
    keras = keras.copy()
    arrays = {"keras": keras, "ref": ref, "twin": twin}
    arrays[where].reshape(-1)[at] = value
    found = measure(keras, ref, twin, Scratch(8))
    finite_flt_max = abs(value) == FLT_MAX and where != "ref"
    if where == "ref" or (where == "keras" and not finite_flt_max):
        assert found is None  # the old functions decide
    elif where == "twin" and not finite_flt_max:
        assert found is not None and not found.twin_finite and found.noise is None
    else:  # FLT_MAX in Keras or the twin is an ordinary value for the old functions too
        assert found is not None and found.twin_finite
    judge = assert_judged_as_old(keras, ref, twin)
    # the overflow note is computed in full exactly when the twin is not known finite
    if judge.twin_finite():
        assert np.isfinite(twin).all() and overflow_note("b", "l", "T", twin, ref) is None
    if where == "twin" and not np.isfinite(value):
        assert not judge.twin_finite()


def test_the_old_functions_keep_every_other_case() -> None:
    keras, ref, twin = blob((2, 3, 4, 5))
    assert_judged_as_old(keras, ref, twin, specials=False)
    assert_judged_as_old(keras, ref, twin, tol=Tolerance(noise_factor=0))
    assert_judged_as_old(keras, ref.astype(np.float32), ref, size=8)  # a float32 reference
    assert_judged_as_old(keras[:, :2], ref, twin)  # shapes differ
    assert_judged_as_old(np.repeat(keras[:1], 3, 0), ref[:1], twin[:1])  # batch-shared
    empty = np.zeros((2, 0, 3, 3))
    assert_judged_as_old(empty.astype(np.float32), empty, empty.astype(np.float32))
    assert measure(empty.astype(np.float32), empty, None) is None
    scores = blob((2, 40))
    assert_judged_as_old(*scores, is_output=True)  # top-1 and top-5 as compare_blob has them
    assert judged(*scores, is_output=True)[0].top5 is not None


def test_noise_factor_zero_and_noise_alone() -> None:
    keras, ref, twin = blob((2, 3, 4, 5))
    row, judge = judged(keras, ref, None)
    assert row.noise == 0.0 and judge.noise() is None and not judge.twin_finite()
    judge = BlobJudge(ref, twin + np.float32(0.5), TOL, True, Scratch(8))
    assert judge.noise() == blob_noise(twin + np.float32(0.5), ref) and judge.twin_finite()


def test_streamed_verification_with_tiny_chunks(monkeypatch, golden_layer) -> None:
    """The streamed pass on small nets with chunks of 8 elements, so every blob of more than 8
    goes through the fused pass: the rows, notes and verdicts of the traced oracle."""
    from test_streamed import TINY, assert_same, both

    from caffe2keras import api

    calls: list[bool] = []
    real = fused.measure

    def counted(*args, **kwargs):
        found = real(*args, **kwargs)
        calls.append(found is not None)
        return found

    monkeypatch.setattr(fused, "CHUNK", 8)
    monkeypatch.setattr("caffe2keras.verify.judge.measure", counted)
    net = api.load(TINY / "tiny.prototxt", TINY / "tiny.caffemodel")
    inputs, _ = api.make_inputs(net, api.ConvertOptions())
    for tol in (Tolerance(), Tolerance(noise_factor=0)):
        streamed, traced = both(net, inputs, tol)
        assert streamed.passed
        assert_same(streamed, traced)
    assert sum(calls) > 5
    # BatchNorm+Scale; an SSD head (detection rows, PriorBox's batch-shared blob); recurrent
    # (batch-major) blobs
    for case in ("bn_scale", "detection_ssd", "lstm"):
        golden = golden_layer(case)
        net = api.load(
            golden.prototxt,
            golden.caffemodel,
            api.ConvertOptions(input_shapes=golden.input_shapes),
        )
        streamed, traced = both(net, golden.inputs)
        assert streamed.passed
        assert_same(streamed, traced)
