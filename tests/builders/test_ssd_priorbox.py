"""SSD's PriorBox: boxes worked out by hand from ``prior_box_layer.cpp``, one test per semantic
point (ratio order and de-duplication, sizes, steps, image size, offset, clip, variances), OpenCV's
dnn as an independent implementation, the batch-independent output and the refusals."""

from __future__ import annotations

import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within, rel_linf
from keras_helpers import convert_case, keras_blobs
from netfiles import input_layer, write_net

from caffe2keras import api
from caffe2keras.errors import ValidationError
from caffe2keras.reference import run_reference

FEATURE, IMAGE = (2, 4, 1, 2), (2, 3, 8, 16)


def prior_net(params: str, feature=FEATURE, image=IMAGE) -> str:
    return (
        input_layer(feature, "f")
        + input_layer(image, "img")
        + 'layer { name: "L" type: "PriorBox" bottom: "f" bottom: "img" top: "out" '
        + f"prior_box_param {{ {params} }} }}\n"
    )


def priors(tmp_path, params: str, feature=FEATURE, image=IMAGE) -> tuple[np.ndarray, np.ndarray]:
    """(Keras top, reference top) for zero inputs (PriorBox never reads the values)."""
    proto, model = write_net(tmp_path, prior_net(params, feature, image))
    net, built = convert_case(proto, model, {"f": feature, "img": image})
    inputs = {"f": np.zeros(feature, np.float32), "img": np.zeros(image, np.float32)}
    keras_top = keras_blobs(built.model, built, net, inputs)["out"]
    ref_top = run_reference(net.reference, inputs, np.float64)["out"]
    return keras_top, ref_top


def boxes_of(tmp_path, params: str, feature=FEATURE, image=IMAGE) -> np.ndarray:
    """The boxes row as (cells * priors, 4), checked to be the same in Keras (each sample) and
    in the reference."""
    keras_top, ref_top = priors(tmp_path, params, feature, image)
    assert ref_top.shape[0] == 1 and keras_top.shape == (feature[0], *ref_top.shape[1:])
    for sample in keras_top:
        np.testing.assert_array_equal(sample, ref_top[0].astype(np.float32))
    return keras_top[0, 0].reshape(-1, 4).astype(np.float64)


def corners(cx: float, cy: float, bw: float, bh: float, img_w: float, img_h: float) -> list:
    return [
        (cx - bw / 2) / img_w,
        (cy - bh / 2) / img_h,
        (cx + bw / 2) / img_w,
        (cy + bh / 2) / img_h,
    ]


def test_the_boxes_of_a_small_map_by_hand(tmp_path) -> None:
    """1 x 2 cells on a 8 x 16 image: step 8, centres (4, 4) and (12, 4); per cell the min box
    (4 x 4), sqrt(4 * 9) = 6, then ratio 4 (8 x 2) and its flip 1/4 (2 x 8), each
    (xmin, ymin, xmax, ymax) divided by the image size."""
    got = boxes_of(tmp_path, "min_size: 4 max_size: 9 aspect_ratio: 4 flip: true clip: false")
    expected = [
        [0.125, 0.25, 0.375, 0.75],
        [0.0625, 0.125, 0.4375, 0.875],
        [0.0, 0.375, 0.5, 0.625],
        [0.1875, 0.0, 0.3125, 1.0],
        [0.625, 0.25, 0.875, 0.75],
        [0.5625, 0.125, 0.9375, 0.875],
        [0.5, 0.375, 1.0, 0.625],
        [0.6875, 0.0, 0.8125, 1.0],
    ]
    assert_within("priorbox by hand", rel_linf(got, expected), SMALL_NET_BOUND)


@pytest.mark.parametrize(
    "ratios,flip,expected",
    [
        ("aspect_ratio: 2 aspect_ratio: 0.5", True, [1, 2, 0.5]),  # 0.5 is 2's flip already
        ("aspect_ratio: 2 aspect_ratio: 2.0000001", True, [1, 2, 0.5]),  # within 1e-6
        ("aspect_ratio: 1 aspect_ratio: 3", True, [1, 3, 1 / 3]),  # 1 is always first
        ("aspect_ratio: 2 aspect_ratio: 0.5", False, [1, 2, 0.5]),
        ("aspect_ratio: 3 aspect_ratio: 2", False, [1, 3, 2]),  # listed order kept
        ("", True, [1]),
    ],
)
def test_ratios_are_deduplicated_and_flipped(tmp_path, ratios, flip, expected) -> None:
    params = f"min_size: 4 {ratios} flip: {str(flip).lower()} clip: false"
    got = boxes_of(tmp_path, params, (1, 1, 1, 1), (1, 1, 100, 100))
    widths, heights = (got[:, 2] - got[:, 0]) * 100, (got[:, 3] - got[:, 1]) * 100
    want = np.array(expected, np.float64)
    np.testing.assert_allclose(widths, 4 * np.sqrt(want), rtol=SMALL_NET_BOUND)
    np.testing.assert_allclose(heights, 4 / np.sqrt(want), rtol=SMALL_NET_BOUND)


def test_several_sizes_keep_caffe_order(tmp_path) -> None:
    """Per min size: its square, the sqrt(min * max) square, then its ratio boxes."""
    params = "min_size: 4 max_size: 16 min_size: 10 max_size: 40 aspect_ratio: 4 flip: false "
    got = boxes_of(tmp_path, params + "clip: false", (1, 1, 1, 1), (1, 1, 100, 100))
    widths, heights = (got[:, 2] - got[:, 0]) * 100, (got[:, 3] - got[:, 1]) * 100
    np.testing.assert_allclose(widths, [4, 8, 8, 10, 20, 20], rtol=SMALL_NET_BOUND)
    np.testing.assert_allclose(heights, [4, 8, 2, 10, 20, 5], rtol=SMALL_NET_BOUND)


def test_sizes_are_truncated_to_integers(tmp_path) -> None:
    """``int min_size_ = min_sizes_[s]`` (also max): 4.9 acts as 4, 9.9 as 9 (sqrt 36 = 6)."""
    got = boxes_of(
        tmp_path, "min_size: 4.9 max_size: 9.9 clip: false", (1, 1, 1, 1), (1, 1, 10, 10)
    )
    np.testing.assert_allclose((got[:, 2] - got[:, 0]) * 10, [4, 6], rtol=SMALL_NET_BOUND)


def test_without_step_the_step_is_the_float_ratio(tmp_path) -> None:
    """Image 10 wide over 3 cells: step 10/3 (not 3), centres 5/3, 5, 25/3."""
    got = boxes_of(tmp_path, "min_size: 2 clip: false", (1, 1, 1, 3), (1, 1, 10, 10))
    centres = (got[:, 0] + got[:, 2]) / 2 * 10
    np.testing.assert_allclose(centres, [5 / 3, 5, 25 / 3], rtol=SMALL_NET_BOUND)


@pytest.mark.parametrize(
    "step,expected", [("step: 3", (3, 3)), ("step_h: 2 step_w: 5", (2, 5))], ids=["step", "hw"]
)
def test_an_explicit_step_overrides_the_ratio(tmp_path, step, expected) -> None:
    got = boxes_of(tmp_path, f"min_size: 2 clip: false {step}", (1, 1, 2, 2), (1, 1, 20, 20))
    cy, cx = (got[:, 1] + got[:, 3]) / 2 * 20, (got[:, 0] + got[:, 2]) / 2 * 20
    sh, sw = expected
    np.testing.assert_allclose(cx, [0.5 * sw, 1.5 * sw] * 2, rtol=SMALL_NET_BOUND)
    np.testing.assert_allclose(cy, [0.5 * sh] * 2 + [1.5 * sh] * 2, rtol=SMALL_NET_BOUND)


@pytest.mark.parametrize(
    "size,img_wh",
    [("img_size: 40", (40, 40)), ("img_h: 20 img_w: 50", (50, 20))],
    ids=["one", "hw"],
)
def test_the_image_size_param_overrides_the_image_bottom(tmp_path, size, img_wh) -> None:
    """The step (no step given) and the normalisation both use img_size / img_h, img_w."""
    got = boxes_of(tmp_path, f"min_size: 4 clip: false {size}", (1, 1, 1, 1), (1, 1, 8, 8))
    img_w, img_h = img_wh
    expected = corners(img_w / 2, img_h / 2, 4, 4, img_w, img_h)
    assert_within("img size", rel_linf(got[0], expected), SMALL_NET_BOUND)


def test_offset_moves_the_centres(tmp_path) -> None:
    got = boxes_of(tmp_path, "min_size: 2 offset: 0 clip: false step: 4", (1, 1, 1, 2), IMAGE)
    np.testing.assert_allclose((got[:, 0] + got[:, 2]) / 2 * 16, [0, 4], atol=1e-6)


@pytest.mark.parametrize("clip", [True, False])
def test_clip_keeps_boxes_in_the_unit_square(tmp_path, clip) -> None:
    got = boxes_of(tmp_path, f"min_size: 12 clip: {str(clip).lower()}")
    unclipped = [corners(4, 4, 12, 12, 16, 8), corners(12, 4, 12, 12, 16, 8)]
    expected = np.clip(unclipped, 0, 1) if clip else np.array(unclipped)
    assert_within("clip", rel_linf(got, expected), SMALL_NET_BOUND)
    assert (got.min() < 0) != clip


@pytest.mark.parametrize(
    "variance,expected",
    [
        ("", [0.1] * 4),
        ("variance: 0.3", [0.3] * 4),
        (" ".join(f"variance: {v}" for v in (0.1, 0.2, 0.3, 0.4)), [0.1, 0.2, 0.3, 0.4]),
    ],
    ids=["none", "one", "four"],
)
def test_variances_fill_the_second_row(tmp_path, variance, expected) -> None:
    keras_top, ref_top = priors(tmp_path, f"min_size: 4 aspect_ratio: 2 clip: false {variance}")
    rows = keras_top[:, 1].reshape(keras_top.shape[0], -1, 4)
    np.testing.assert_array_equal(rows, np.broadcast_to(np.float32(expected), rows.shape))
    np.testing.assert_array_equal(ref_top[0, 1], keras_top[0, 1])


OPENCV_CASES = [
    ("min_size: 4 max_size: 9 aspect_ratio: 2 flip: true clip: false variance: 0.1", (3, 5)),
    (
        "min_size: 4 max_size: 9 min_size: 8 max_size: 12 aspect_ratio: 2 aspect_ratio: 3 "
        "flip: true clip: true variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2",
        (3, 5),
    ),
    (
        "min_size: 4 aspect_ratio: 2 aspect_ratio: 0.5 flip: true clip: false step: 7 offset: 0.3 "
        "variance: 0.1",
        (3, 5),
    ),
    (
        "min_size: 5 aspect_ratio: 2 flip: false clip: true step_h: 3 step_w: 4 variance: 0.3",
        (4, 6),
    ),
    ("min_size: 4 aspect_ratio: 1.5 flip: true clip: false variance: 0.2", (7, 9)),
]


# OpenCV 4.14 gaps: it needs variance given, reads min/max sizes as floats (Caffe truncates them
# to int: integer sizes here), and ignores img_size / img_h / img_w (it always uses the image
# bottom): those points are checked by hand above and by the priorbox_imgsize golden.
@pytest.mark.parametrize("params,cells", OPENCV_CASES)
def test_priorbox_matches_opencv(tmp_path, params, cells) -> None:
    cv2 = pytest.importorskip("cv2")
    feature, image = (2, 4, *cells), (2, 3, 30, 50)
    proto, model = write_net(tmp_path, prior_net(params, feature, image))
    net = cv2.dnn.readNetFromCaffe(str(proto), str(model))
    net.setInput(np.zeros(feature, np.float32), "f")
    net.setInput(np.zeros(image, np.float32), "img")
    expected = np.asarray(net.forward("L"), np.float64)
    keras_top, ref_top = priors(tmp_path, params, feature, image)
    assert expected.shape == ref_top.shape
    for sample in keras_top:
        assert_within("priorbox vs opencv", rel_linf(sample[None], expected), SMALL_NET_BOUND)


def test_the_output_follows_the_batch_and_ignores_values(tmp_path) -> None:
    """(N, 2, 4P) for any N, every sample equal to the one Caffe top, whatever the inputs hold."""
    proto, model = write_net(tmp_path, prior_net("min_size: 4 aspect_ratio: 2 clip: false"))
    net, built = convert_case(proto, model, {"f": FEATURE, "img": IMAGE})
    ref = run_reference(
        net.reference, {"f": np.zeros(FEATURE, "f4"), "img": np.zeros(IMAGE, "f4")}, np.float64
    )["out"]
    for n in (1, 3):
        rng = np.random.default_rng(n)
        inputs = {"f": rng.normal(size=(n, *FEATURE[1:])), "img": rng.normal(size=(n, *IMAGE[1:]))}
        got = keras_blobs(built.model, built, net, {k: v.astype("f4") for k, v in inputs.items()})
        assert got["out"].shape == (n, *ref.shape[1:])
        np.testing.assert_array_equal(got["out"], np.broadcast_to(ref, got["out"].shape))


def test_concat_of_priorboxes_on_axis_2_verifies(tmp_path) -> None:
    text = (
        input_layer((1, 4, 4, 4), "f")
        + input_layer((1, 4, 2, 2), "g")
        + input_layer((1, 3, 32, 32), "img")
        + 'layer { name: "p1" type: "PriorBox" bottom: "f" bottom: "img" top: "p1" '
        "prior_box_param { min_size: 8 aspect_ratio: 2 clip: false variance: 0.1 } }\n"
        'layer { name: "p2" type: "PriorBox" bottom: "g" bottom: "img" top: "p2" '
        "prior_box_param { min_size: 16 max_size: 24 clip: true variance: 0.2 } }\n"
        'layer { name: "cat" type: "Concat" bottom: "p1" bottom: "p2" top: "all" '
        "concat_param { axis: 2 } }\n"
    )
    proto, model = write_net(tmp_path, text)
    result = api.convert(proto, model, tmp_path / "m.h5", api.ConvertOptions())
    assert result.exit_code == 0 and result.report is not None and result.report.passed
    rows = {row.blob: row for row in result.report.rows}
    assert rows["all"].shape == (1, 2, (16 * 3 + 4 * 2) * 4) and rows["all"].max_abs == 0.0


@pytest.mark.parametrize(
    "params,field",
    [
        ("aspect_ratio: 2", "min_size"),
        ("min_size: -1", "min_size"),
        ("min_size: 4 max_size: 3", "max_size"),
        ("min_size: 4 min_size: 5 max_size: 8", "max_size"),
        ("min_size: 4 variance: 0.1 variance: 0.2", "variance"),
        ("min_size: 4 variance: 0", "variance"),
        ("min_size: 4 img_size: 10 img_h: 10 img_w: 10", "img_size"),
        ("min_size: 4 img_h: 10", "img_w"),
        ("min_size: 4 step: 2 step_h: 2 step_w: 2", "step"),
        ("min_size: 4 step_w: 2", "step_h"),
        ("min_size: 4 step: -1", "step"),
    ],
)
def test_invalid_params_are_refused(tmp_path, params, field) -> None:
    proto, model = write_net(tmp_path, prior_net(params))
    with pytest.raises(ValidationError, match=f"layer 'L', field '{field}'"):
        convert_case(proto, model, {"f": FEATURE, "img": IMAGE})


def test_one_bottom_is_refused(tmp_path) -> None:
    text = input_layer(FEATURE, "f") + (
        'layer { name: "L" type: "PriorBox" bottom: "f" top: "out" '
        "prior_box_param { min_size: 4 img_size: 10 } }\n"
    )
    proto, model = write_net(tmp_path, text)
    with pytest.raises(ValidationError, match="layer 'L', field 'bottom'"):
        convert_case(proto, model, {"f": FEATURE})


CLIP_NOTE = "does not set clip: applied clip: true"


@pytest.mark.parametrize("clip", ["", "clip: true", "clip: false"])
def test_an_omitted_clip_is_noted_in_inspect_and_the_report(tmp_path, clip) -> None:
    proto, model = write_net(tmp_path, prior_net(f"min_size: 4 {clip}"))
    notes = api.inspect(proto).notes
    result = api.convert(proto, model, tmp_path / "m.h5", api.ConvertOptions())
    noted = [n for n in (*notes, *result.notes) if CLIP_NOTE in n]
    if clip:
        assert noted == []
    else:
        assert len(noted) == 2 and all("'L'" in n and "weiliu89" in n for n in noted)


@pytest.mark.parametrize(
    "case,gap", [("priorbox_step", False), ("priorbox_imgsize", True), ("normalize_ssd", False)]
)
def test_the_opencv_second_opinion_on_the_ssd_goldens(golden_layer, tmp_path, case, gap) -> None:
    """``convert --reference opencv``: OpenCV agrees on PriorBox (and Normalize) except where
    it ignores img_h/img_w, which the report marks as a known gap instead of a failure."""
    pytest.importorskip("cv2")
    g = golden_layer(case)
    opts = api.ConvertOptions(second_opinions=("opencv",))
    result = api.convert(g.prototxt, g.caffemodel, tmp_path / "m.h5", opts)
    assert result.exit_code == 0 and result.report is not None
    (op,) = result.report.second_opinions
    assert op.error is None
    (row,) = [r for r in op.rows if r.blob == "out"]
    if gap:
        assert "OpenCV known gap" in op.gaps["out"] and "img_h" in op.gaps["out"]
    else:
        assert "out" not in op.gaps and row.passed
        assert_within(f"{case} opencv", row.max_rel, SMALL_NET_BOUND)


def test_inspect_says_what_each_ssd_layer_becomes(tmp_path) -> None:
    text = prior_net("min_size: 4 max_size: 9 aspect_ratio: 2 clip: false") + (
        'layer { name: "n" type: "Normalize" bottom: "f" top: "nf" '
        "norm_param { across_spatial: false channel_shared: false } }\n"
    )
    proto, _ = write_net(tmp_path, text)
    rows = {row.name: row for row in api.inspect(proto).layers}
    # 1 x 2 cells, 4 priors each (min, sqrt(min * max), 2, 1/2)
    assert rows["L"].keras.startswith("BatchConstant") and "8 priors" in rows["L"].keras
    assert rows["L"].shapes == ((1, 2, 32),) and rows["L"].parameters == 0
    assert "C per pixel" in rows["n"].keras and "per channel" in rows["n"].keras
    assert rows["n"].parameters == 4
