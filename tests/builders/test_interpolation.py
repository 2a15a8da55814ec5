"""BilinearInterpolate (brocolli-caffe) and Interp (PSPNet) against per-pixel loops written from
``bilinear_interpolate_layer.cpp`` and ``util/interp.cpp`` (float32 coordinates as the C++
computes them, the weighted sums in float64), against OpenCV's Interp where it implements the
rule (height/width, zoom_factor), and the refusals naming layer and field."""

from __future__ import annotations

import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within, rel_linf
from extra_nets import assert_close, rand, run_layer
from single_reference import reference_tops

from caffe2keras.errors import ValidationError

F32 = np.float32


def caffe_bilinear(x: np.ndarray, dst_h: int, dst_w: int, align: bool) -> np.ndarray:
    """bilinear_interpolate_layer.cpp Forward_cpu, pixel by pixel."""
    n_, c_, src_h, src_w = x.shape

    def coord(i: int, src: int, dst: int) -> tuple[float, int]:
        if align:
            t = F32(F32(src - 1) / F32(dst - 1)) * F32(i)
        else:
            t = F32(float(F32(F32(src) / F32(dst))) * (i + 0.5) - 0.5)
        t = min(max(float(t), 0.0), src - 1.0)
        low = min(max(int(np.floor(t)), 0), src - 2)
        return float(F32(t)), low

    def value(n: int, c: int, h: int, w: int) -> float:
        # h or w == -1 (a 1-pixel axis) only ever gets weight 0
        return float(x[n, c, h, w]) if h >= 0 and w >= 0 else 0.0

    top = np.zeros((n_, c_, dst_h, dst_w))
    for n in range(n_):
        for c in range(c_):
            for i in range(dst_h):
                h, h0 = coord(i, src_h, dst_h)
                for j in range(dst_w):
                    w, w0 = coord(j, src_w, dst_w)
                    r0 = (w0 + 1 - w) * value(n, c, h0, w0) + (w - w0) * value(n, c, h0, w0 + 1)
                    r1 = (w0 + 1 - w) * value(n, c, h0 + 1, w0) + (w - w0) * value(
                        n, c, h0 + 1, w0 + 1
                    )
                    top[n, c, i, j] = (h0 + 1 - h) * r0 + (h - h0) * r1
    return top


@pytest.mark.parametrize("align", [True, False])
@pytest.mark.parametrize(
    "shape,dst",
    [
        ((2, 3, 9, 11), (17, 23)),
        ((1, 2, 8, 6), (3, 4)),
        ((1, 2, 5, 7), (5, 7)),
        ((1, 1, 1, 4), (3, 9)),
    ],
)
def test_bilinear_interpolate(tmp_path, align, shape, dst) -> None:
    x = rand(*shape)
    params = (
        f"bilinear_interpolate_param {{ dst_h: {dst[0]} dst_w: {dst[1]} "
        f"align_corners: {str(align).lower()} }}"
    )
    (y,) = run_layer(tmp_path, "BilinearInterpolate", params, [x])
    want = caffe_bilinear(x, *dst, align)
    assert_close(y, want)
    assert_close(reference_tops("BilinearInterpolate", params, [x])[0], want)


@pytest.mark.parametrize(
    "params,dst",
    [
        ("dst_h: 7", (7, 6)),  # a missing dst_w keeps the bottom's width
        ("dst_w: 3", (5, 3)),
        ("scale_factor: 1.5", (7, 9)),  # int(5 * 1.5), int(6 * 1.5)
        ("scale_factor: 0.5", (2, 3)),
        ("scale_factor: 2 align_corners: false", (10, 12)),
    ],
)
def test_bilinear_interpolate_sizes(tmp_path, params, dst) -> None:
    x = rand(1, 2, 5, 6)
    text = f"bilinear_interpolate_param {{ {params} }}"
    (y,) = run_layer(tmp_path, "BilinearInterpolate", text, [x])
    assert y.shape == (1, 2) + dst
    want = caffe_bilinear(x, *dst, "false" not in params)
    assert_close(y, want)
    assert_close(reference_tops("BilinearInterpolate", text, [x])[0], want)


@pytest.mark.parametrize(
    "params,field",
    [
        ("dst_h: 4 scale_factor: 2", "scale_factor"),
        ("", "scale_factor"),
        ("dst_h: 0 dst_w: 4", "dst_h"),
        ("dst_h: 1 dst_w: 4", "dst_h"),  # align_corners: 0 / 0 in brocolli-caffe
        ("scale_factor: -1", "scale_factor"),
    ],
)
def test_bilinear_interpolate_refusals(tmp_path, params, field) -> None:
    text = f"bilinear_interpolate_param {{ {params} }}"
    with pytest.raises(ValidationError, match=f"layer 'L', field '{field}'"):
        run_layer(tmp_path, "BilinearInterpolate", text, [rand(1, 2, 5, 6)])


def caffe_interp(x: np.ndarray, out: tuple[int, int], pad_beg: int, pad_end: int) -> np.ndarray:
    """interp_layer.cpp Forward_cpu -> caffe_cpu_interp2<Dtype, false>, pixel by pixel."""
    n_, c_, height_in, width_in = x.shape
    height1, width1 = height_in + pad_beg + pad_end, width_in + pad_beg + pad_end
    x1 = y1 = -pad_beg
    height2, width2 = out
    top = np.zeros((n_, c_, height2, width2))
    rheight = F32(height1 - 1) / F32(height2 - 1) if height2 > 1 else F32(0)
    rwidth = F32(width1 - 1) / F32(width2 - 1) if width2 > 1 else F32(0)
    for n in range(n_):
        for c in range(c_):
            plane = x[n, c].astype(np.float64)
            if (height1, width1) == (height2, width2):
                top[n, c] = plane[y1 : y1 + height1, x1 : x1 + width1]
                continue
            for h2 in range(height2):
                h1r = F32(rheight * F32(h2))
                h1 = int(h1r)
                h1p = 1 if h1 < height1 - 1 else 0
                h1l = float(F32(h1r - F32(h1)))
                for w2 in range(width2):
                    w1r = F32(rwidth * F32(w2))
                    w1 = int(w1r)
                    w1p = 1 if w1 < width1 - 1 else 0
                    w1l = float(F32(w1r - F32(w1)))
                    r, s = y1 + h1, x1 + w1
                    top[n, c, h2, w2] = (1 - h1l) * (
                        (1 - w1l) * plane[r, s] + w1l * plane[r, s + w1p]
                    ) + h1l * ((1 - w1l) * plane[r + h1p, s] + w1l * plane[r + h1p, s + w1p])
    return top


INTERP_RULES = [  # params, output size for a 5 x 6 bottom, pad_beg, pad_end
    ("height: 7 width: 9", (7, 9), 0, 0),
    ("height: 3 width: 4", (3, 4), 0, 0),
    ("zoom_factor: 3", (13, 16), 0, 0),
    ("zoom_factor: 1", (5, 6), 0, 0),
    ("shrink_factor: 2", (3, 3), 0, 0),
    ("shrink_factor: 2 zoom_factor: 3", (7, 7), 0, 0),  # shrink first, then zoom
    ("height: 4 width: 4 shrink_factor: 2 zoom_factor: 3", (4, 4), 0, 0),  # size over both
    ("height: 4 width: 4 zoom_factor: 2", (9, 11), 0, 0),  # a lone factor over the size
    ("height: 4 width: 4 shrink_factor: 3", (2, 2), 0, 0),
    ("height: 4 zoom_factor: 2", (9, 11), 0, 0),  # height without width is no size
    ("zoom_factor: 2 pad_beg: -1 pad_end: -1", (5, 7), -1, -1),
    ("height: 6 width: 6 pad_beg: -1", (6, 6), -1, 0),
    ("height: 3 width: 4 pad_end: -2", (3, 4), 0, -2),  # the cropped size: a plain copy
    ("shrink_factor: 2 pad_beg: -2", (2, 2), -2, 0),
]


@pytest.mark.parametrize("params,out,pad_beg,pad_end", INTERP_RULES)
def test_interp_size_rules(tmp_path, params, out, pad_beg, pad_end) -> None:
    x = rand(2, 3, 5, 6)
    (y,) = run_layer(tmp_path, "Interp", f"interp_param {{ {params} }}", [x])
    assert y.shape == (2, 3) + out
    want = caffe_interp(x, out, pad_beg, pad_end)
    assert_close(y, want)
    assert_close(reference_tops("Interp", f"interp_param {{ {params} }}", [x])[0], want)


@pytest.mark.parametrize("params", ["zoom_factor: 2", "height: 7 width: 9", "height: 3 width: 4"])
def test_interp_matches_opencv(tmp_path, params) -> None:
    import cv2

    x = rand(1, 3, 5, 6)
    proto = tmp_path / "cv.prototxt"
    proto.write_text(
        'name: "n" input: "data" input_shape { dim: 1 dim: 3 dim: 5 dim: 6 }\n'
        f'layer {{ name: "L" type: "Interp" bottom: "data" top: "out" '
        f"interp_param {{ {params} }} }}\n"
    )
    net = cv2.dnn.readNetFromCaffe(str(proto))
    net.setInput(x)
    want = net.forward()
    (y,) = run_layer(tmp_path, "Interp", f"interp_param {{ {params} }}", [x])
    assert y.shape == want.shape
    assert_within("Interp vs OpenCV", rel_linf(y, want), SMALL_NET_BOUND)


@pytest.mark.parametrize(
    "params,field",
    [
        ("zoom_factor: 2 pad_beg: 1", "pad_beg"),
        ("zoom_factor: 2 pad_end: 2", "pad_end"),
        ("zoom_factor: 0", "zoom_factor"),
        ("shrink_factor: 0", "shrink_factor"),
        ("", "height"),
        ("height: 4", "height"),
        ("height: 4 width: 4 pad_beg: -3 pad_end: -3", "pad_end"),  # 5 - 6 rows left
    ],
)
def test_interp_refusals(tmp_path, params, field) -> None:
    with pytest.raises(ValidationError, match=f"layer 'L', field '{field}'"):
        run_layer(tmp_path, "Interp", f"interp_param {{ {params} }}", [rand(1, 2, 5, 6)])
