"""The command-line options shared by several commands, as tables of ``click.option`` decorators.

``NET_OPTIONS`` say how to instantiate the net (convert, verify, inspect); ``CHECK_OPTIONS`` how
to verify it and report (convert, verify).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

# How to instantiate the net: shared by convert, verify and inspect.
NET_OPTIONS = (
    click.option(
        "--input-shape",
        "input_shape",
        multiple=True,
        metavar="NAME=N,C,H,W",
        help="Override an input's shape (Caffe NCHW order). Repeatable.",
    ),
    click.option(
        "--phase",
        type=click.Choice(["TEST", "TRAIN"]),
        default="TEST",
        show_default=True,
        help="Net state for include/exclude rules.",
    ),
    click.option("--stage", multiple=True, help="Net state stage (repeatable)."),
    click.option(
        "--plugin",
        "plugin",
        multiple=True,
        type=click.Path(dir_okay=False),
        metavar="FILE.py",
        help="Python file registering custom layer types (repeatable; see README 'Plugins').",
    ),
)

# How to verify and report: shared by convert and verify.
CHECK_OPTIONS = (
    click.option(
        "--rtol",
        type=float,
        default=1e-4,
        show_default=True,
        help="Tolerance relative to max|reference| per blob.",
    ),
    click.option(
        "--atol",
        type=float,
        default=0.0,
        show_default=True,
        help="Absolute tolerance per blob.",
    ),
    click.option(
        "--noise-factor",
        type=float,
        default=4.0,
        show_default=True,
        help="Also allow this many times the blob's float32 rounding noise (reference in "
        "float32 vs float64); 0 uses --rtol alone.",
    ),
    click.option(
        "--detection-rows",
        type=click.FloatRange(0.0, 1.0),
        default=1.0,
        show_default=True,
        help="Detection blobs (DetectionOutput) pass when this fraction of their rows match "
        "one to one (same image, label and order; score within 1e-4; box IoU >= 0.999).",
    ),
    click.option(
        "--reference-dtype",
        type=click.Choice(["float64", "float32"]),
        default="float64",
        show_default=True,
        help="Precision of the numpy Caffe reference.",
    ),
    click.option(
        "--seed",
        type=int,
        default=0,
        show_default=True,
        help="Seed of the random verification inputs.",
    ),
    click.option(
        "--input",
        "input_npy",
        multiple=True,
        metavar="[NAME=]X.npy",
        help="Verification input (NCHW .npy) instead of random data.",
    ),
    click.option(
        "--image",
        "image",
        multiple=True,
        metavar="[NAME=]FILE",
        help="Verification input from an image (repeatable: one sample each). Preprocessing: "
        "resize, channel order, subtract --mean, multiply --scale.",
    ),
    click.option(
        "--mean",
        metavar="M1,M2,M3",
        help="Per-channel mean subtracted from --image pixels (0..255), net's channel order.",
    ),
    click.option("--scale", type=float, help="Factor applied to --image after the mean."),
    click.option(
        "--channel-order",
        type=click.Choice(["bgr", "rgb"]),
        help="Channel order the net expects for --image (default bgr, Caffe's usual).",
    ),
    click.option("--resize", metavar="H,W", help="Resize --image (default: the input's H,W)."),
    click.option(
        "--reference",
        "references",
        multiple=True,
        type=click.Choice(["numpy", "opencv", "caffe"]),
        help="Also compare against OpenCV's dnn or pycaffe (repeatable; the numpy reference "
        "is always on and alone decides the exit code).",
    ),
    click.option(
        "--report",
        "report_json",
        type=click.Path(dir_okay=False),
        help="Write the report as JSON.",
    ),
    click.option(
        "--report-md",
        "report_md",
        type=click.Path(dir_okay=False),
        help="Write the report as Markdown.",
    ),
    click.option(
        "--report-html",
        "report_html",
        type=click.Path(dir_okay=False),
        help="Write a self-contained HTML report with an error plot (needs the 'report' "
        "extra: pip install 'caffe2keras[report]').",
    ),
    click.option("-q", "--quiet", is_flag=True, help="Print only errors."),
    click.option(
        "-v",
        "--verbose",
        is_flag=True,
        help="Print each step's time and details (a progress bar shows on a terminal anyway).",
    ),
    click.option("--debug", is_flag=True, help="Show tracebacks."),
)


def with_options(fn: Callable[..., Any], *options: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with the options applied, the first listed shown first in ``--help``."""
    for option in reversed(options):
        fn = option(fn)
    return fn


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``convert``'s --format, --tflite-float16, --split-scale and --manifest."""
    opts = [
        click.option(
            "--format",
            "output_format",
            type=click.Choice(["keras2-weights", "savedmodel", "tflite"]),
            help="keras2-weights: a legacy Keras-2 HDF5 weights file (load_weights(path, "
            "by_name=True)); savedmodel: a TensorFlow SavedModel folder (-o names it); tflite: a "
            "TFLite file (also chosen by the .tflite suffix). Exports are verified in their own "
            "runtime, in a fresh process. Default: by the output's suffix.",
        ),
        click.option(
            "--tflite-float16",
            is_flag=True,
            help="tflite: store the weights in float16 (half the size); its error is measured "
            "and held to its own bar (README 'Deployment exports').",
        ),
        click.option(
            "--split-scale",
            is_flag=True,
            help="keras2-weights: put each fused Scale's gamma/beta into its own group named "
            "after the Scale layer (for models with separate Scale layers).",
        ),
        click.option(
            "--manifest",
            type=click.Path(dir_okay=False),
            help="Write a JSON manifest: sha256 of inputs and outputs, versions, shapes, "
            "preprocessing, verification summary.",
        ),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn
