"""The golden cases of the extra layer builders: every blob real Caffe computed, in memory."""

from __future__ import annotations

import pytest
from bounds import assert_within, rel_linf, rounding_bound
from keras_helpers import convert_case, keras_blobs

CASES = [
    "absval",
    "argmax",
    "bias_layer",
    "bnll",
    "crop",
    "deconv_group",
    "log",
    "lrn_across",
    "lrn_within",
    "mvn",
    "permute",
    "power",
    "prelu",
    "reduction_mean",
    "scale_two_bottoms",
    "slice",
    "slice_axis2",
    "threshold",
    "concat_axis2",
    "softmax",
    "flatten",
    "reshape",
]


@pytest.mark.parametrize("case", CASES)
def test_golden_case(case: str, golden_layer, golden_spreads) -> None:
    g = golden_layer(case)
    net, built = convert_case(g.prototxt, g.caffemodel, g.input_shapes)
    spread = golden_spreads(g, net.reference)
    got = keras_blobs(built.model, built, net, g.inputs)
    for blob, expected in g.blobs.items():
        if blob in g.inputs:
            continue
        assert blob in got, f"golden blob '{blob}' has no Keras counterpart"
        err = rel_linf(got[blob], expected)
        assert_within(f"{case} keras {blob}", err, rounding_bound(spread[blob]))
