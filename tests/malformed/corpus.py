"""The corpus of malformed inputs: each case builds its files from the bundled fixture or a small
hand-written prototxt (see :mod:`corpus_files`), and states the exit code and the message
fragments (file, layer, field) that ``caffe2keras convert`` must answer with.
"""

from __future__ import annotations

from corpus_files import (
    HDF5,
    LAYER_TAG,
    MODEL,
    PROTO,
    Case,
    binaryproto,
    bn_blobs,
    delete_layer,
    edit_model,
    flip_byte,
    huge_blob_shape,
    long_length,
    rename_all,
    short_blob,
    swap,
    tiny,
)
from corpus_structure import STRUCTURE_CASES

__all__ = ["CASES", "MODEL", "PROTO", "Case"]

FILE_CASES: tuple[Case, ...] = (
    # --- the files themselves ---------------------------------------------------------------
    Case("empty prototxt", tiny(""), 3, ("{proto}", "the prototxt is empty")),
    Case("blank prototxt", tiny(" \n\t\n"), 3, ("{proto}", "empty")),
    Case("empty caffemodel", tiny(PROTO, b""), 3, ("{model}", "the file is empty")),
    Case("caffemodel as prototxt", tiny(MODEL, MODEL), 3, ("{proto}", "binary caffemodel")),
    Case("prototxt as caffemodel", tiny(PROTO, PROTO.encode()), 3, ("{model}", "prototxt")),
    Case("HDF5 as caffemodel", tiny(PROTO, HDF5), 3, ("{model}", "HDF5")),
    Case(
        "binaryproto as caffemodel", tiny(PROTO, binaryproto()), 3, ("{model}", "not a caffemodel")
    ),
    Case("not UTF-8 prototxt", tiny(b'name: "\xff\xfe"\n'), 3, ("{proto}", "UTF-8")),
    Case(
        "syntax: unknown field",
        tiny(swap("bias_term: false", "bias_trem: false")),
        3,
        ("{proto}:5:", "bias_trem"),
    ),
    Case(
        "syntax: missing quote", tiny(swap('top: "pool2"', 'top: "pool2')), 3, ("{proto}:", "quote")
    ),
    Case(
        "syntax: negative unsigned",
        tiny(swap("num_output: 8", "num_output: -8")),
        3,
        ("{proto}:5:", "-8"),
    ),
    Case(
        "mixed V1 and V2 layers",
        tiny(PROTO + 'layers { name: "old" type: RELU bottom: "fc" top: "fc" }\n'),
        3,
        ("layers", "layer"),
    ),
    # --- truncated and corrupted caffemodels --------------------------------------------------
    Case(
        "truncated caffemodel (half)",
        tiny(PROTO, MODEL[: len(MODEL) // 2]),
        3,
        ("{model}", "byte offset", "truncated"),
    ),
    Case(
        "truncated caffemodel (last byte)",
        tiny(PROTO, MODEL[:-1]),
        3,
        ("{model}", "'fc'", "truncated"),
    ),
    Case(
        "bit flip in a length",
        tiny(PROTO, flip_byte(MODEL, LAYER_TAG + 3, 0x40)),
        3,
        ("{model}", "byte offset"),
    ),
    Case(
        "bit flip in a tag",
        tiny(PROTO, flip_byte(MODEL, LAYER_TAG, 0x04)),
        3,
        ("{model}", "byte offset"),
    ),
    Case("corrupted length field", tiny(PROTO, long_length(MODEL)), 3, ("{model}", "past the end")),
    Case(
        "blob shape beyond INT_MAX",
        tiny(PROTO, edit_model(huge_blob_shape)),
        3,
        ("{model}", "'fc'", "2**31-1"),
    ),
    Case(
        "blob larger than the file holds",
        tiny(PROTO, edit_model(short_blob)),
        3,
        ("{model}", "'conv2'", "holds 288 values"),
    ),
    # --- weights that do not fit the prototxt -------------------------------------------------
    Case(
        "caffemodel of another model",
        tiny(PROTO, edit_model(rename_all)),
        3,
        ("another model", "'conv1'", "match nothing"),
    ),
    Case(
        "caffemodel of another net (most blob shapes differ)",
        tiny(
            swap(
                "num_output: 8 kernel_size: 3 stride: 2", "num_output: 16 kernel_size: 3 stride: 2"
            )
        ),
        3,
        (
            "{model}",
            "(prototxt: {proto})",
            "seems to belong to another net",
            "5 of the 5",
            "'conv1'",
        ),
    ),
    Case(
        "layer with params but no blobs",
        tiny(PROTO, delete_layer("conv2")),
        3,
        ("'conv2'", "'blobs'", "holds no blobs"),
    ),
    Case(
        "blob count mismatch",
        tiny(
            swap(
                "num_output: 4 kernel_size: 3 pad: 1",
                "num_output: 4 kernel_size: 3 pad: 1 bias_term: false",
            )
        ),
        3,
        ("'conv2'", "'blobs'", "has 2 blobs", "need 1"),
    ),
    Case(
        "blob shape mismatch",
        tiny(swap("num_output: 4 kernel_size: 3 pad: 1", "num_output: 5 kernel_size: 3 pad: 1")),
        3,
        ("{model}: layer 'conv2'", "[4, 8, 3, 3]", "[5, 8, 3, 3]"),
    ),
    Case("BatchNorm with 2 blobs", tiny(PROTO, bn_blobs(2)), 3, ("'conv1/bn'", "2 blobs", "3")),
    Case(
        "BatchNorm with 5 blobs, no scale_bias",
        tiny(PROTO, bn_blobs(5)),
        3,
        ("'conv1/bn'", "NVCaffe", "scale_bias: true"),
    ),
    Case(
        "BatchNorm scale_bias with 3 blobs",
        tiny(
            swap(
                '"conv1/bn" type: "BatchNorm" bottom: "conv1" top: "conv1/bn" }',
                '"conv1/bn" type: "BatchNorm" bottom: "conv1" top: "conv1/bn" '
                "batch_norm_param { scale_bias: true } }",
            )
        ),
        3,
        ("'conv1/bn'", "needs 5 blobs", "has 3"),
    ),
)

CASES: tuple[Case, ...] = FILE_CASES + STRUCTURE_CASES
