"""A few dozen random valid BVLC nets (fixed seeds): Keras must agree with the numpy reference,
and every OpenCV disagreement must be one of the explained classes. ``benchmarks/random_nets.py``
runs thousands of the same nets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from random_check import KERAS_CLASSES, OPENCV_CLASSES, check_net  # noqa: E402
from random_nets import random_net  # noqa: E402

SEEDS = range(24)
EDGE_CASES = {
    "conv_truncation",
    "pool_empty_max",
    "pool_empty_ave",
    "lone_pad_hw",
    "pool_one_axis_padded",
    "ip_axis2",
    "ip_axis3",
}


def test_the_seeds_cover_every_edge_case() -> None:
    seen = {f for seed in SEEDS for f in random_net(seed).features}
    assert seen >= EDGE_CASES, EDGE_CASES - seen


def test_nets_are_reproducible() -> None:
    assert random_net(5) == random_net(5) and random_net(5) != random_net(6)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_net(tmp_path, seed) -> None:
    pytest.importorskip("cv2")
    result = check_net(seed, tmp_path)
    assert result.keras == "agree" or result.keras in KERAS_CLASSES, (result.keras, result.detail)
    if result.opencv not in ("agree", "known_gap"):
        kind = result.opencv.split(":", 1)[1]
        assert kind in OPENCV_CLASSES, (result.opencv, result.detail, random_net(seed).prototxt)
