"""DetectionOutput, one semantic point of Caffe's Forward_cpu / bbox_util.cpp per test, against
rows computed by hand: the Keras layer and the numpy reference (float64 and float32) alike."""

from __future__ import annotations

import math

import numpy as np
import pytest
from bounds import SMALL_NET_BOUND
from detection_nets import assert_rows, detect, detection_net, priors
from netfiles import write_net

from caffe2keras.errors import Caffe2KerasError
from caffe2keras.frontend.load import LoadOptions
from caffe2keras.frontend.net import load_net

TOL = SMALL_NET_BOUND
NMS = "nms_param { nms_threshold: 0.5 }"
# three disjoint boxes (CORNER offsets of zero decode to the priors themselves)
DISJOINT = [[0.0, 0.0, 0.1, 0.1], [0.2, 0.2, 0.3, 0.3], [0.4, 0.4, 0.5, 0.5]]


def two_class_scores(scores: list[float]) -> np.ndarray:
    """conf (1, P*2): background 0, class 1 with these scores."""
    return np.asarray([[0.0, s] for s in scores], np.float32).reshape(1, -1)


def corner(folder, params, boxes, scores, **kw):
    loc = np.zeros((1, 4 * len(boxes)), np.float32)
    return detect(folder, f"num_classes: 2 {params}", loc, two_class_scores(scores), priors(boxes))


@pytest.mark.parametrize(
    "code, loc, in_target, box",
    [
        # prior + variance * offset
        ("CORNER", [1, 2, -1, 0.5], False, [0.2, 0.4, 0.3, 0.7]),
        # centre (0.4, 0.3) moved by 0.1 * (1, -1) * (w 0.4, h 0.2); width 0.4 * exp(0.2 * ln2/0.2)
        ("CENTER_SIZE", [1, -1, math.log(2) / 0.2, 0], False, [0.04, 0.18, 0.84, 0.38]),
        ("CENTER_SIZE", [0.1, -0.1, math.log(2), 0], True, [0.04, 0.18, 0.84, 0.38]),
        # each corner + variance * offset * (prior width or height)
        ("CORNER_SIZE", [1, 1, -1, 2], False, [0.24, 0.22, 0.52, 0.48]),
        ("CORNER", [0.1, 0.2, -0.2, 0.1], True, [0.2, 0.4, 0.3, 0.7]),
    ],
    ids=["corner", "center_size", "center_size_in_target", "corner_size", "corner_in_target"],
)
def test_decoding(tmp_path, code, loc, in_target, box) -> None:
    prior = [[0.1, 0.2, 0.5, 0.6]] if code == "CORNER" else [[0.2, 0.2, 0.6, 0.4]]
    flag = f"variance_encoded_in_target: {str(in_target).lower()}"
    got = detect(
        tmp_path,
        f"num_classes: 2 code_type: {code} {flag} {NMS}",
        np.asarray([loc], np.float32),
        two_class_scores([0.9]),
        priors(prior),
    )
    assert_rows(got, [[0, 1, 0.9, *box]], TOL)


def test_share_location_false_decodes_each_class_own_offsets(tmp_path) -> None:
    # P = 1, three classes: loc holds (bg, class 1, class 2) x 4 offsets
    loc = np.asarray([[9, 9, 9, 9, 0, 0, 0, 0, 1, 1, 1, 1]], np.float32)
    conf = np.asarray([[0.1, 0.6, 0.7]], np.float32)
    params = f"num_classes: 3 share_location: false {NMS}"
    got = detect(tmp_path, params, loc, conf, priors([[0.1, 0.1, 0.3, 0.3]]))
    assert_rows(got, [[0, 1, 0.6, 0.1, 0.1, 0.3, 0.3], [0, 2, 0.7, 0.2, 0.2, 0.5, 0.5]], TOL)


def test_background_minus_one_detects_every_class(tmp_path) -> None:
    # without a background, locations per class (share_location true with -1 aborts in Caffe)
    conf = np.asarray([[0.8, 0.6]], np.float32)
    loc = np.asarray([[0, 0, 0, 0, 1, 1, 1, 1]], np.float32)
    params = f"num_classes: 2 background_label_id: -1 share_location: false {NMS}"
    got = detect(tmp_path, params, loc, conf, priors([[0.1, 0.1, 0.3, 0.3]]))
    assert_rows(got, [[0, 0, 0.8, 0.1, 0.1, 0.3, 0.3], [0, 1, 0.6, 0.2, 0.2, 0.5, 0.5]], TOL)


def test_background_class_is_skipped(tmp_path) -> None:
    conf = np.asarray([[0.8, 0.6]], np.float32)
    got = detect(tmp_path, f"num_classes: 2 {NMS}", np.zeros((1, 4)), conf, priors([DISJOINT[1]]))
    assert_rows(got, [[0, 1, 0.6, *DISJOINT[1]]], TOL)


def test_threshold_is_strict(tmp_path) -> None:
    got = corner(tmp_path, f"confidence_threshold: 0.5 {NMS}", DISJOINT, [0.5, 0.75, 0.25])
    assert_rows(got, [[0, 1, 0.75, *DISJOINT[1]]], TOL)


def test_equal_scores_keep_the_lower_prior_first(tmp_path) -> None:
    got = corner(tmp_path, NMS, DISJOINT, [0.5, 0.75, 0.75])
    want = [[0, 1, 0.75, *DISJOINT[1]], [0, 1, 0.75, *DISJOINT[2]], [0, 1, 0.5, *DISJOINT[0]]]
    assert_rows(got, want, TOL)


@pytest.mark.parametrize("top_k, kept", [(1, [1]), (2, [1, 2]), (5, [1, 2, 0])])
def test_top_k_cuts_the_sorted_candidates(tmp_path, top_k, kept) -> None:
    scores = [0.7, 0.9, 0.8]
    got = corner(tmp_path, f"nms_param {{ nms_threshold: 0.5 top_k: {top_k} }}", DISJOINT, scores)
    assert_rows(got, [[0, 1, scores[i], *DISJOINT[i]] for i in kept], TOL)


A, HALF, B6, D4 = [0, 0, 1, 1], [0, 0, 1, 0.5], [0, 0, 1, 0.6], [0, 0, 1, 0.4]


@pytest.mark.parametrize(
    "second, nms, eta, both",
    [
        (HALF, 0.5, 1.0, True),  # IoU 0.5 exactly: overlap <= threshold keeps it
        (HALF, 0.49, 1.0, False),
        (B6, 0.7, 1.0, True),  # IoU 0.6
        (B6, 0.7, 0.8, False),  # after A the threshold is 0.7 * 0.8 = 0.56 < 0.6
        (D4, 0.5, 0.5, True),  # 0.5 is not > 0.5: eta leaves it, IoU 0.4 passes
    ],
    ids=["iou_equal_kept", "iou_above", "eta_1", "eta_lowers", "eta_stops_at_half"],
)
def test_nms_overlap_and_eta(tmp_path, second, nms, eta, both) -> None:
    params = f"nms_param {{ nms_threshold: {nms} eta: {eta} }}"
    got = corner(tmp_path, params, [A, second], [0.9, 0.8])
    want = [[0, 1, 0.9, *A]] + ([[0, 1, 0.8, *second]] if both else [])
    assert_rows(got, want, TOL)


def test_keep_top_k_keeps_the_best_in_label_order(tmp_path) -> None:
    # class 1: (0.6, 0.9), class 2: (0.8, 0.7) on two disjoint priors
    conf = np.asarray([[0.0, 0.6, 0.8, 0.0, 0.9, 0.7]], np.float32)
    params = f"num_classes: 3 keep_top_k: 3 {NMS}"
    got = detect(tmp_path, params, np.zeros((1, 8)), conf, priors(DISJOINT[:2]))
    want = [
        [0, 1, 0.9, *DISJOINT[1]],
        [0, 2, 0.8, *DISJOINT[0]],
        [0, 2, 0.7, *DISJOINT[1]],
    ]
    assert_rows(got, want, TOL)
    assert got.keras.shape == (1, 3, 7)


def test_no_detection_gives_one_row_per_image(tmp_path) -> None:
    conf = np.tile(two_class_scores([0.1, 0.2]), (2, 1))
    params = f"num_classes: 2 confidence_threshold: 0.5 {NMS}"
    got = detect(tmp_path, params, np.zeros((2, 8)), conf, priors(DISJOINT[:2]))
    assert_rows(got, [[0, -1, -1, -1, -1, -1, -1], [1, -1, -1, -1, -1, -1, -1]], TOL)
    np.testing.assert_array_equal(got.keras, -np.ones((2, 2, 7)))


def test_image_index_and_no_row_for_an_empty_image_in_a_batch(tmp_path) -> None:
    conf = np.concatenate([two_class_scores([0.1, 0.2]), two_class_scores([0.1, 0.9])])
    params = f"num_classes: 2 confidence_threshold: 0.5 {NMS}"
    got = detect(tmp_path, params, np.zeros((2, 8)), conf, priors(DISJOINT[:2]))
    assert_rows(got, [[1, 1, 0.9, *DISJOINT[1]]], TOL)  # Caffe writes nothing for image 0
    assert np.all(got.keras[0] == -1) and np.all(got.keras[1, 1:] == -1)


@pytest.mark.parametrize("clip, xmax", [(False, 1.4), (True, 1.0)])
def test_opencv_clip_clips_decoded_boxes(tmp_path, clip, xmax) -> None:
    loc = np.asarray([[0, 0, 2, 2]], np.float32)
    params = f"num_classes: 2 clip: {str(clip).lower()} {NMS}"
    got = detect(tmp_path, params, loc, two_class_scores([0.9]), priors([[0.8, 0.8, 1.0, 1.0]]))
    assert_rows(got, [[0, 1, 0.9, 0.8, 0.8, xmax, xmax]], TOL)


@pytest.mark.parametrize(
    "params, rows",
    [
        (f"num_classes: 3 {NMS}", 2 * 3),  # 2 detected classes x 3 priors
        ("num_classes: 3 nms_param { nms_threshold: 0.5 top_k: 2 }", 2 * 2),
        (f"num_classes: 3 keep_top_k: 4 {NMS}", 4),
        (f"num_classes: 3 keep_top_k: 10 {NMS}", 6),  # no more than possible
    ],
)
def test_output_rows_per_sample(tmp_path, params, rows) -> None:
    conf = np.full((1, 9), 0.9, np.float32)
    got = detect(tmp_path, params, np.zeros((1, 12)), conf, priors(DISJOINT))
    assert got.keras.shape == (1, rows, 7)


def load_refusal(tmp_path, params: str, prior_shape=(1, 2, 8)) -> str:
    proto, model = write_net(tmp_path, detection_net(params, [(1, 8), (1, 4), prior_shape]))
    with pytest.raises(Caffe2KerasError) as err:
        load_net(proto, model, LoadOptions())
    return str(err.value)


@pytest.mark.parametrize(
    "params, field",
    [
        ("num_classes: 2", "nms_param"),
        (NMS, "num_classes"),
        ("num_classes: 2 nms_param { eta: 0 }", "nms_param.eta"),
        ("num_classes: 2 nms_param { nms_threshold: -0.1 }", "nms_param.nms_threshold"),
        (f"num_classes: 2 background_label_id: -1 {NMS}", "background_label_id"),
    ],
)
def test_refused_params_name_layer_and_field(tmp_path, params, field) -> None:
    message = load_refusal(tmp_path, params)
    assert "layer 'det'" in message and f"field '{field}'" in message, message


def test_a_prior_blob_of_the_wrong_shape_is_refused(tmp_path) -> None:
    message = load_refusal(tmp_path, f"num_classes: 2 {NMS}", (1, 1, 8))
    assert "layer 'det'" in message and "PriorBox" in message, message
