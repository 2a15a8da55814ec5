"""The reference passes' background thread (``verify/producer.py``, used by ``verify/stream.py``):
the queue bound, errors raised where they happened, no thread left behind after a success, a
failure in either thread or a Ctrl-C, and numpy's warnings collected per thread."""

from __future__ import annotations

import os
import signal
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from thread_helpers import wait_for

from caffe2keras import api
from caffe2keras.errors import ValidationError
from caffe2keras.keras_model.model import build_model
from caffe2keras.reference import executor
from caffe2keras.verify import handover, judge, reference_feed
from caffe2keras.verify.compare import Tolerance
from caffe2keras.verify.numeric_notes import WarningNotes
from caffe2keras.verify.producer import THREAD_NAME, Ahead
from caffe2keras.verify.run import verify_model

TINY = Path(__file__).resolve().parents[2] / "fixtures" / "tiny"


def producers() -> list[threading.Thread]:
    """The reference passes' threads and the comparisons' (``handover.py``)."""
    names = (THREAD_NAME, handover.THREAD_NAME)
    return [t for t in threading.enumerate() if t.name in names]


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_producer_runs_at_most_depth_plus_one_ahead(depth: int) -> None:
    """Waiting for the queue to fill before each take: the source has then made exactly
    ``depth + 1`` more items than were taken (``depth`` queued, one waiting for room), never
    more, and the items arrive in order."""
    made: list[int] = []

    def source():
        for i in range(10):
            made.append(i)
            yield i

    taken: list[int] = []
    with Ahead(source, depth=depth) as ahead:
        items = iter(ahead)
        for _i in range(10 - depth - 1):
            wait_for(ahead.queue.full)
            wait_for(lambda: len(made) >= len(taken) + depth + 1)
            assert len(made) == len(taken) + depth + 1
            taken.append(next(items))
        taken += list(items)
    assert taken == list(range(10))
    assert not producers()


def test_producer_error_raised_where_it_happened() -> None:
    def source():
        yield 1
        yield 2
        raise ValidationError("bad blob", layer="conv9", field="blobs")

    got = []
    expected = "layer 'conv9', field 'blobs': bad blob"
    with pytest.raises(ValidationError, match=expected), Ahead(source) as ahead:
        for item in ahead:
            got.append(item)
    assert got == [1, 2]
    assert not producers()


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_consumer_leaving_early_stops_the_producer(error: type[BaseException]) -> None:
    """An endless source, a consumer that raises after two items: the thread ends, and the
    source's own cleanup ran (in the producer's thread)."""
    closed = []

    def source():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(threading.current_thread().name)

    with pytest.raises(error), Ahead(source) as ahead:
        for item in ahead:
            if item == 2:
                raise error()
    assert not producers()
    assert closed == [THREAD_NAME]


@pytest.mark.usefixtures("python_sigint_handler")
def test_ctrl_c_while_waiting_for_the_producer() -> None:
    """A real SIGINT while the main thread waits on the queue (the producer is inside an item):
    KeyboardInterrupt is raised in the main thread and the producer's thread ends once its item
    is done."""
    gate = threading.Event()
    got: list[int] = []

    def source():
        yield 1
        gate.wait(30)  # a long reference op
        yield 2

    def interrupt() -> None:
        wait_for(lambda: got == [1])
        os.kill(os.getpid(), signal.SIGINT)
        gate.set()

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    sender = threading.Thread(target=interrupt)
    with pytest.raises(KeyboardInterrupt), Ahead(source) as ahead:
        sender.start()
        for item in ahead:
            got.append(item)
    sender.join()
    assert got in ([1], [1, 2])
    assert not producers()


def test_warnings_routed_by_thread() -> None:
    """Two threads warning at once under their own ``where``: each note lands under its own;
    a warning outside any ``during`` goes on to the display in force (here: recorded)."""
    notes = WarningNotes()
    barrier = threading.Barrier(2)

    def other() -> None:
        with notes.during("the producer"):
            barrier.wait()
            np.float32(3e38) * np.float32(10)  # overflow encountered in scalar multiply
            barrier.wait()

    with warnings.catch_warnings(record=True) as outside:
        warnings.simplefilter("always")
        with notes.routed():
            thread = threading.Thread(target=other)
            thread.start()
            with notes.during("the consumer"):
                barrier.wait()
                np.log(np.zeros(1))  # divide by zero encountered in log
                barrier.wait()
            thread.join()
            warnings.warn("left alone", RuntimeWarning, stacklevel=2)
    assert notes.notes("the producer") == [
        "numpy warned during the producer: overflow encountered in scalar multiply"
    ]
    assert notes.notes("the consumer") == [
        "numpy warned during the consumer: divide by zero encountered in log"
    ]
    assert [str(w.message) for w in outside] == ["left alone"]


@pytest.fixture(params=[False, True], ids=["one-thread", "thread-per-pass"])
def split(request, monkeypatch) -> bool:
    """Both ways of running the passes (``reference_feed.SPLIT_PASSES``)."""
    monkeypatch.setattr(reference_feed, "SPLIT_PASSES", request.param)
    return request.param


def _tiny():
    net = api.load(TINY / "tiny.prototxt", TINY / "tiny.caffemodel")
    inputs, _ = api.make_inputs(net, api.ConvertOptions())
    built = build_model(net.keras)
    return net, built, inputs


def test_bad_layer_in_the_reference_names_layer_and_field(monkeypatch, split) -> None:
    """A reference op failing in the background thread: verify_model raises that error (layer
    and field named), after the rows before it, and no thread is left."""
    net, built, inputs = _tiny()

    def bad(layer, bottoms, dtype):
        raise ValidationError("axis 7 out of range", layer=layer.name, field="concat_param.axis")

    real_op = executor.lookup_reference_op
    monkeypatch.setattr(
        executor, "lookup_reference_op", lambda t: bad if t == "Concat" else real_op(t)
    )
    compared = []
    real = judge.BlobJudge.row
    monkeypatch.setattr(
        judge.BlobJudge, "row", lambda self, b, *a: compared.append(b) or real(self, b, *a)
    )
    with pytest.raises(ValidationError) as caught:
        verify_model(net, built.model, built.blob_layers, inputs, tolerance=Tolerance())
    assert str(caught.value) == "layer 'concat', field 'concat_param.axis': axis 7 out of range"
    assert compared and "concat" not in compared and "conv2" in compared
    assert not producers()


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_consumer_error_ends_the_thread(monkeypatch, split, error: type[BaseException]) -> None:
    net, built, inputs = _tiny()
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(args[0])
        raise error("stop here")

    monkeypatch.setattr(judge.BlobJudge, "row", failing)
    with pytest.raises(error):
        verify_model(net, built.model, built.blob_layers, inputs, tolerance=Tolerance())
    assert len(calls) == 1
    assert not producers()


def test_success_leaves_no_thread(split) -> None:
    net, built, inputs = _tiny()
    report = verify_model(net, built.model, built.blob_layers, inputs, tolerance=Tolerance())
    assert report.passed and report.rows
    assert not producers()


def test_keras_walk_error_after_the_rows_before_it(monkeypatch, split) -> None:
    """The Keras walk (main thread) failing after two blobs: verify_model raises its error once
    the comparisons' thread has judged what came before, and no thread is left."""
    from caffe2keras.verify import walk

    net, built, inputs = _tiny()
    real_walk = walk.keras_blob_values

    def failing(*args, **kwargs):
        for i, item in enumerate(real_walk(*args, **kwargs)):
            if i == 2:
                raise RuntimeError("the walk broke")
            yield item

    monkeypatch.setattr(walk, "keras_blob_values", failing)
    compared = []
    real = judge.BlobJudge.row
    monkeypatch.setattr(
        judge.BlobJudge, "row", lambda self, b, *a: compared.append(b) or real(self, b, *a)
    )
    with pytest.raises(RuntimeError, match="the walk broke"):
        verify_model(net, built.model, built.blob_layers, inputs, tolerance=Tolerance())
    assert len(compared) == 2
    assert not producers()
