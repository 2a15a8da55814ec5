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
    extra_layer,
    flip_byte,
    huge_blob_shape,
    long_length,
    nan_weights,
    rename_all,
    short_blob,
    swap,
    tiny,
)

__all__ = ["CASES", "MODEL", "PROTO", "Case"]

PY_LAYER = (
    'layer { name: "py" type: "Python" bottom: "prob" top: "py" '
    'python_param { module: "c2k_marker_module" layer: "Marker" } }\n'
)
MISORDERED = swap(
    'layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }\n', ""
).replace('layer { name: "fc"', 'layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }\n'
          'layer { name: "fc"')  # fmt: skip

CASES: tuple[Case, ...] = (
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
        ("'conv2'", "[4, 8, 3, 3]", "[5, 8, 3, 3]"),
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
    # --- graph structure ----------------------------------------------------------------------
    Case(
        "undefined bottom (typo)",
        tiny(swap('bottom: "pool1" top: "conv2"', 'bottom: "pool_1" top: "conv2"')),
        3,
        ("'conv2'", "'bottom'", "'pool_1'", "did you mean 'pool1'"),
    ),
    Case(
        "cycle",
        tiny(swap('bottom: "pool1" top: "conv2"', 'bottom: "concat" top: "conv2"')),
        3,
        ("'conv2'", "cycle", "'conv2' -> 'concat' -> 'conv2'"),
    ),
    Case("misordered layers", tiny(MISORDERED), 3, ("'prob'", "'fc'", "comes later")),
    Case(
        "duplicate top, not in place",
        tiny(
            swap(
                'layer { name: "concat"',
                'layer { name: "dup" type: "ReLU" bottom: "pool1" top: "conv2" }\n'
                'layer { name: "concat"',
            )
        ),
        3,
        ("'dup'", "'top'", "'conv2' is already produced by layer 'conv2'"),
    ),
    Case(
        "duplicate layer name",
        tiny(swap('name: "relu1"', 'name: "conv1"')),
        3,
        ("'conv1'", "'name'", "two layers"),
    ),
    Case("empty net", tiny('name: "nothing"\n'), 3, ("no layers",)),
    Case(
        "layer without a bottom",
        tiny(swap('bottom: "fc" top: "prob"', 'top: "prob"')),
        3,
        ("'prob'", "'bottom'", "takes exactly 1 bottom, this one has 0"),
    ),
    Case(
        "in-place layer on an undefined blob",
        tiny(swap('bottom: "conv1/bn" top: "conv1/bn" }', 'bottom: "zz" top: "zz" }')),
        3,
        ("'relu1'", "'bottom'", "'zz' is not produced"),
    ),
    Case(
        "weight-sharing Convolution pairs",
        tiny(
            swap(
                'bottom: "pool1" top: "conv2"',
                'bottom: "pool1" bottom: "pool1" top: "conv2" top: "conv2b"',
            )
        ),
        4,
        ("'conv2'", "'top'", "2 tops"),
    ),
    Case(
        "Eltwise with one bottom",
        tiny(PROTO + 'layer { name: "sum" type: "Eltwise" bottom: "prob" top: "sum" }\n'),
        3,
        ("'sum'", "'bottom'", "2 bottoms"),
    ),
    Case(
        "Concat shape mismatch",
        tiny(swap('bottom: "pool1" bottom: "conv2"', 'bottom: "data" bottom: "conv2"')),
        3,
        ("'concat'",),
    ),
    # --- dimensions ---------------------------------------------------------------------------
    Case(
        "input dimension 0",
        tiny(swap("dim: 33 dim: 33", "dim: 0 dim: 33")),
        3,
        ("'data'", "[1, 3, 0, 33]"),
    ),
    Case(
        "input dimension negative",
        tiny(swap("dim: 33 dim: 33", "dim: -5 dim: 33")),
        3,
        ("'data'", "-5"),
    ),
    Case(
        "num_output 0", tiny(swap("num_output: 8", "num_output: 0")), 3, ("'conv1'", "'num_output'")
    ),
    Case(
        "kernel_size 0",
        tiny(swap("pool: MAX kernel_size: 3", "pool: MAX kernel_size: 0")),
        3,
        ("'pool1'", "kernel"),
    ),
    Case(
        "stride 0",
        tiny(swap("kernel_size: 3 stride: 2 pad: 1", "kernel_size: 3 stride: 0 pad: 1")),
        3,
        ("'conv1'", "'stride'"),
    ),
    Case(
        "kernel larger than the input",
        tiny(swap("kernel_size: 3 stride: 2 pad: 1", "kernel_size: 99 stride: 2 pad: 1")),
        3,
        ("'conv1'", "too small"),
    ),
    Case(
        "input beyond INT_MAX",
        tiny(swap("dim: 33 dim: 33", "dim: 40000 dim: 40000")),
        3,
        ("'data'", "[1, 3, 40000, 40000]", "2147483647"),
    ),
    Case(
        "activation beyond INT_MAX",
        tiny(swap("num_output: 8", "num_output: 20000000")),
        3,
        ("'conv1'", "'conv1'", "elements", "2147483647"),
    ),
    Case(
        "parameter blob beyond INT_MAX",
        tiny(
            swap(
                "inner_product_param { num_output: 10 }",
                "inner_product_param { num_output: 20000000 }",
            )
        ),
        3,
        ("'fc'", "'blobs'", "[20000000, 192]", "2147483647"),
    ),
    Case(
        "LRN window beyond INT_MAX",
        tiny(
            PROTO + 'layer { name: "lrn" type: "LRN" bottom: "pool2" top: "lrn" '
            "lrn_param { local_size: 2147483647 } }\n"
        ),
        3,
        ("'lrn'", "'local_size'", "2147483647"),
    ),
    # --- unsupported and unsafe -----------------------------------------------------------------
    Case("Python layer", tiny(PROTO + PY_LAYER), 4, ("Python", "'py'", "never imported")),
    Case(
        "unknown layer types listed together",
        tiny(
            PROTO + 'layer { name: "a" type: "Frob" bottom: "prob" top: "a" }\n'
            'layer { name: "b" type: "Zorp" bottom: "a" top: "b" }\n'
        ),
        4,
        ("Frob", "Zorp", "'a'", "'b'"),
    ),
    # --- usage ----------------------------------------------------------------------------------
    Case(
        "unknown --input-shape name",
        tiny(PROTO, MODEL, "--input-shape", "nope=1,3,8,8"),
        2,
        ("'nope'", "data"),
    ),
    Case("bad output suffix", tiny(), 2, (".weights.h5",), output="out.txt"),
    Case("output folder missing", tiny(), 2, ("does not exist",), output="missing/out.h5"),
    Case("output name too long", tiny(), 2, ("cannot write", "x" * 200), output="x" * 250 + ".h5"),
    Case(
        "report folder missing",
        tiny(PROTO, MODEL, "--report", "c2k-no-such-folder/r.json"),
        2,
        ("c2k-no-such-folder/r.json", "does not exist"),
    ),
    # --- converted, with a note -----------------------------------------------------------------
    Case(
        "NaN/Inf weights (note)",
        tiny(PROTO, edit_model(nan_weights)),
        0,
        ("note: layer 'conv2' has non-finite weights", "1 NaN, 1 Inf"),
        leaves_output=True,
    ),
    Case(
        "NaN/Inf weights verified (note, mismatch)",
        tiny(PROTO, edit_model(nan_weights)),
        1,
        ("non-finite", "likely culprit: layer 'conv2'"),
        verify=True,
    ),
    Case(
        "non-finite parameter (note)",
        tiny(
            swap(
                '"relu1" type: "ReLU" bottom: "conv1/bn" top: "conv1/bn" }',
                '"relu1" type: "ReLU" bottom: "conv1/bn" top: "conv1/bn" '
                "relu_param { negative_slope: nan } }",
            )
        ),
        0,
        ("note: layer 'relu1' has non-finite parameters (negative_slope = nan)",),
        leaves_output=True,
    ),
    Case(
        "caffemodel layers absent from the prototxt (note)",
        tiny(PROTO, edit_model(extra_layer)),
        0,
        ("note:", "old_classifier"),
        leaves_output=True,
    ),
)
