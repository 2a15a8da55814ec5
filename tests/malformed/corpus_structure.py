"""The second half of the malformed-input corpus: graph structure, dimensions, unsupported and
unsafe layers, usage errors, and inputs that convert with a note (see :mod:`corpus`)."""

from __future__ import annotations

from corpus_files import (
    MODEL,
    PROTO,
    Case,
    edit_model,
    extra_layer,
    nan_weights,
    swap,
    tiny,
)

PY_LAYER = (
    'layer { name: "py" type: "Python" bottom: "prob" top: "py" '
    'python_param { module: "c2k_marker_module" layer: "Marker" } }\n'
)
MISORDERED = swap(
    'layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }\n', ""
).replace('layer { name: "fc"', 'layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }\n'
          'layer { name: "fc"')  # fmt: skip

STRUCTURE_CASES: tuple[Case, ...] = (
    # --- graph structure ----------------------------------------------------------------------
    Case(
        "undefined bottom (typo)",
        tiny(swap('bottom: "pool1" top: "conv2"', 'bottom: "pool_1" top: "conv2"')),
        3,
        ("{proto}: layer 'conv2'", "'bottom'", "'pool_1'", "did you mean 'pool1'"),
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
