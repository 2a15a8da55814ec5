"""Grouped Deconvolution against a direct numpy transposed convolution (Caffe's col2im form)."""

from __future__ import annotations

import numpy as np
import pytest
from extra_nets import assert_close, rand, run_layer


def deconv(x, w, b, group, stride, pad, dilation):
    """Caffe: weight (C_in, O / group, kh, kw); input channel c of group g adds
    x[c] * w[c, o] at out[g * O/G + o, i * s - p + ki * d, j * s - p + kj * d]."""
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dilation
    oh = sh * (h - 1) + dh * (kh - 1) + 1 - 2 * ph
    ow = sw * (wd - 1) + dw * (kw - 1) + 1 - 2 * pw
    full = np.zeros((n, og * group, oh + 2 * ph, ow + 2 * pw))
    cg = c // group
    for ci in range(c):
        g = ci // cg
        for ki in range(kh):
            for kj in range(kw):
                contrib = x[:, ci, :, :, None] * w[ci, :, ki, kj]  # (n, h, w, og)
                rows = slice(ki * dh, ki * dh + sh * (h - 1) + 1, sh)
                cols = slice(kj * dw, kj * dw + sw * (wd - 1) + 1, sw)
                full[:, g * og : (g + 1) * og, rows, cols] += np.moveaxis(contrib, -1, 1)
    out = full[:, :, ph : ph + oh, pw : pw + ow]
    return out + (0 if b is None else b.reshape(1, -1, 1, 1))


@pytest.mark.parametrize(
    "channels,num_output,group,kernel,stride,pad,dilation,bias",
    [
        (3, 3, 3, 4, 2, 0, 1, False),
        (4, 6, 2, 3, 1, 1, 1, True),
        (6, 4, 2, 2, 2, 0, 1, True),
        (4, 8, 4, 3, 2, 1, 2, True),
        (4, 4, 1, 3, 2, 1, 1, True),
        (3, 2, 1, 3, 3, 2, 2, False),
        (2, 2, 2, 2, 1, 0, 3, True),
    ],
)
def test_grouped_deconvolution(
    tmp_path, channels, num_output, group, kernel, stride, pad, dilation, bias
) -> None:
    x = rand(2, channels, 5, 4)
    w = rand(channels, num_output // group, kernel, kernel, seed=2)
    b = rand(num_output, seed=3) if bias else None
    params = (
        f"convolution_param {{ num_output: {num_output} group: {group} kernel_size: {kernel} "
        f"stride: {stride} pad: {pad} dilation: {dilation} bias_term: {str(bias).lower()} }}"
    )
    blobs = [w, b] if bias else [w]
    (y,) = run_layer(tmp_path, "Deconvolution", params, [x], blobs)
    want = deconv(x.astype(np.float64), w, b, group, (stride,) * 2, (pad,) * 2, (dilation,) * 2)
    assert_close(y, want)
