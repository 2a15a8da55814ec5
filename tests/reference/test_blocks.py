"""How many output rows one block of Caffe's im2col columns holds (``reference/ops/columns.py``),
and that grown blocks change no value: against the ``im2col.cpp`` loops of ``test_kernels``."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from caffe2keras.ir.shapes.geometry import conv_out
from caffe2keras.reference.ops import columns, conv
from caffe2keras.reference.ops.columns import block_rows

from .helpers import conv_params, make_layer
from .test_kernels import EDGE_CONVS, _check_both_dtypes, conv_cpp


def test_block_rows_on_vgg16() -> None:
    """8 MiB of float64 columns where that is 768+ outputs wide (conv1_2: 8 rows of 224; conv3_2:
    8 of 56 is 448, so 14 rows); K = 4608 on 28 x 28 grows to the whole sample (28 rows,
    27.6 MiB); 14 x 14 maps stop at the sample's 14 rows."""
    assert block_rows((224, 224), 576, 1, 8) == 8
    assert block_rows((56, 56), 2304, 1, 8) == 14
    assert block_rows((28, 28), 4608, 1, 8) == 28
    assert block_rows((14, 14), 4608, 1, 8) == 14
    assert block_rows((224, 224), 27, 1, 8) == 173  # RGB first layer: 8 MiB, 38752 outputs


def test_block_rows_stay_within_the_caps() -> None:
    # ~1 MiB a row of 10 outputs: 8 rows fit 8 MiB (80 outputs < 768), and 32 MiB caps the
    # growth at 32 rows (77 would make 768 outputs); rows of 50 outputs grow to 16 (800)
    assert block_rows((1000, 10), (1 << 20) // (10 * 8), 1, 8) == 32
    assert block_rows((1000, 50), (1 << 20) // (50 * 8), 1, 8) == 16
    # a row bigger than every cap is still one row
    assert block_rows((10, 10), 1 << 30, 1, 8) == 1
    # grouped columns count every group's rows
    assert block_rows((28, 28), 4608, 2, 8) == (32 << 20) // (2 * 4608 * 28 * 8)  # 16 rows


@pytest.mark.parametrize("case", EDGE_CONVS)
def test_grown_blocks_at_the_borders(case, monkeypatch) -> None:
    """Blocks grown past BLOCK_BYTES to two output rows (a last block of one when the rows are
    odd), against the ``im2col.cpp`` loops."""
    c, o, h, w, kernel, stride, pad, dil, group = case
    assert not conv._by_taps(c // group, o // group)
    monkeypatch.setattr(columns, "BLOCK_BYTES", 1)
    ow = conv_out(w, kernel[1], stride[1], pad[1], dil[1])
    monkeypatch.setattr(columns, "MIN_COLUMNS", ow + 1)  # two rows a block
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    x = rng.standard_normal((2, c, h, w))
    weight = rng.standard_normal((o, c // group, *kernel))
    bias = rng.standard_normal(o)
    layer = make_layer("Convolution", conv_params(o, kernel, stride, pad, dil, group), weight, bias)
    _check_both_dtypes(layer, x, conv_cpp(x, weight, bias, kernel, stride, pad, dil, group))
