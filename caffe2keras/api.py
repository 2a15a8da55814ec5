"""The library surface: load, convert and verify. The CLI is a thin shell over these."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from caffe2keras.errors import UsageError
from caffe2keras.frontend.load import LoadOptions
from caffe2keras.frontend.net import LoadedNet, load_net
from caffe2keras.frontend.phase import NetState
from caffe2keras.ir.counts import NetCounts
from caffe2keras.passes.fuse_bn_scale import FUSED_TYPE
from caffe2keras.runtime.progress import NullReporter, Reporter
from caffe2keras.verify.compare import Tolerance
from caffe2keras.verify.images import ImageOptions
from caffe2keras.verify.report import Report

__version__ = "0.1.0"


@dataclass(frozen=True)
class ConvertOptions:
    """Everything that shapes a conversion and its verification."""

    input_shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    phase: str = "TEST"
    stages: tuple[str, ...] = ()
    verify: bool = True
    tolerance: Tolerance = Tolerance()
    reference_dtype: str = "float64"
    seed: int = 0
    batch: int = 2
    input_npy: Mapping[str, str] = field(default_factory=dict)  # input name -> .npy path (NCHW)
    write_on_failure: bool = False
    format: str | None = None  # "keras2-weights", "savedmodel", "tflite"; None: by the suffix
    tflite_float16: bool = False  # tflite: float16 weights, held to its own bar (README)
    split_scale: bool = False  # keras2-weights: gamma/beta into separate Scale layer groups
    plugins: tuple[str, ...] = ()  # plugin files (--plugin); entry points load too
    image: ImageOptions | None = None  # --image inputs and their preprocessing
    second_opinions: tuple[str, ...] = ()  # --reference opencv/caffe: advice, not the verdict


@dataclass(frozen=True)
class ConvertResult:
    """What a conversion did; ``report`` is None when verification was skipped."""

    output: str
    format: str
    caffe_layers: int
    keras_layers: int
    fused_batchnorms: int
    parameters: int
    written: bool
    notes: tuple[str, ...]
    layer_names: dict[str, str]
    report: Report | None
    counts: NetCounts | None = None  # the Caffe-side numbers, as inspect and verify label them

    @property
    def exit_code(self) -> int:
        return 0 if self.report is None else self.report.exit_code

    def summary(self) -> str:
        """What was converted, every count labelled (the same words as ``inspect``)."""
        if self.counts is None:
            return (
                f"converted {self.caffe_layers} Caffe layers into {self.keras_layers} Keras "
                f"layers, {self.parameters:,} parameters"
            )
        c = self.counts
        return (
            f"converted {c.layers_text()} -> {self.keras_layers} Keras layers (with the "
            f"inputs and helper layers such as padding)\n"
            f"{c.parameters_text()} -> {self.parameters:,} parameters in the Keras model"
        )


def load(
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str] | None,
    options: ConvertOptions | None = None,
) -> LoadedNet:
    """Parse and check a Caffe model into its reference and Keras graphs."""
    from caffe2keras.plugins import load_plugins

    options = options or ConvertOptions()
    load_plugins(options.plugins)
    state = NetState(phase=options.phase, stages=tuple(options.stages))
    return load_net(
        prototxt, caffemodel, LoadOptions(input_shapes=options.input_shapes, state=state)
    )


def make_inputs(net: LoadedNet, options: ConvertOptions) -> tuple[dict[str, np.ndarray], dict]:
    """The verification inputs (NCHW) and a description of how they were made."""
    from caffe2keras.verify.inputs import verification_inputs

    return verification_inputs(
        net.reference, options.seed, options.batch, options.input_npy, options.image
    )


def second_opinion_runners(
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str],
    net: LoadedNet,
    options: ConvertOptions,
) -> dict[str, Any]:
    """The runners of the requested second opinions (UsageError when one is not installed)."""
    from caffe2keras.verify.engines import make_runners

    state = NetState(phase=options.phase, stages=tuple(options.stages))
    return make_runners(options.second_opinions, prototxt, caffemodel, net.reference, state)


def _fill_weights(output: str | os.PathLike[str], options: ConvertOptions) -> bool:
    """Whether the Keras variables must hold the weights: not for an unverified weights-only
    output, which is streamed from the caffemodel to the file (caffe2keras.outputs.weights_h5)."""
    from caffe2keras.outputs import weights_h5
    from caffe2keras.outputs.formats import format_of

    if options.verify or options.format is not None or format_of(output, None) != "weights":
        return True
    return not weights_h5.supported()


def _net_summary(net: LoadedNet) -> str:
    blobs = [b for layer in net.reference.layers for b in layer.blobs]
    size = sum(b.nbytes for b in blobs)
    return (
        f"{net.counts.caffe_layers} Caffe layers, {len(blobs)} learned blobs (weight arrays), "
        f"{size / 1e6:.1f} MB"
    )


def _verify_built(
    net: LoadedNet, built: Any, name: str, options: ConvertOptions, runners: dict[str, Any]
) -> Report:
    """Verify a freshly built model (before anything is written)."""
    from caffe2keras.verify.run import verify_model

    inputs, info = make_inputs(net, options)
    return verify_model(
        net,
        built.model,
        built.blob_layers,
        inputs,
        tolerance=options.tolerance,
        reference_dtype=options.reference_dtype,
        inputs_info=info,
        name=name,
        second_opinions=runners,
    )


def _write_built(
    built: Any,
    net: LoadedNet,
    sources: tuple[str | os.PathLike[str], str | os.PathLike[str]],
    output: str | os.PathLike[str],
    options: ConvertOptions,
    rep: Reporter,
) -> str:
    """Write the output atomically with its provenance; returns the format written."""
    from caffe2keras.outputs.formats import write_output
    from caffe2keras.outputs.manifest import provenance
    from caffe2keras.outputs.writers import output_format

    prototxt, caffemodel = sources
    metadata = {
        "version": __version__,
        "layer_names": built.layer_names,
        "prototxt": os.path.basename(os.fspath(prototxt)),
        **provenance(prototxt, caffemodel, net.reference),
    }
    weights_only = options.format is None and output_format(output) == "weights"
    streamed = sum(len(weights) for _, weights in built.sources) if weights_only else 0
    with rep.step("write", total=streamed or None) as step:
        return write_output(
            built, output, metadata, options.format, options.split_scale, step.advance
        )


def convert(
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str],
    output: str | os.PathLike[str],
    options: ConvertOptions | None = None,
    reporter: Reporter | None = None,
) -> ConvertResult:
    """Convert, verify (unless disabled) and write the output atomically.

    The output is written only when verification passes (or is skipped), unless
    ``write_on_failure``: a CI job never replaces good weights with bad ones.
    """
    from caffe2keras.keras_model.model import build_model
    from caffe2keras.outputs.formats import EXPORT_FORMATS, check_output, format_of
    from caffe2keras.outputs.manifest import prefetch_sha256

    options = options or ConvertOptions()
    # fail before any work
    check_output(output, options.format, options.split_scale, options.tflite_float16)
    prefetch_sha256(prototxt, caffemodel)  # the outputs' provenance, hashed while we work
    rep = reporter or NullReporter()
    with rep.step("read") as step:
        net = load(prototxt, caffemodel, options)
        step.note(_net_summary(net))
    runners = second_opinion_runners(prototxt, caffemodel, net, options) if options.verify else {}
    with rep.step("keras"):
        import keras  # noqa: F401  (its import is seconds: a step of its own)
    with rep.step("build", total=len(net.keras.layers)) as step:
        built = build_model(net.keras, _fill_weights(output, options), tick=step.advance)
    report = None
    if options.verify:
        with rep.step("verify"):
            report = _verify_built(
                net, built, os.path.basename(os.fspath(prototxt)), options, runners
            )
    write = report is None or report.passed or options.write_on_failure
    fmt = format_of(output, options.format)
    if write and fmt in EXPORT_FORMATS:  # verified in its own runtime, kept when it passes
        from caffe2keras.export.flow import export_converted

        with rep.step("export"):
            write = export_converted(built, net, output, fmt, options, report)
    elif write:
        fmt = _write_built(built, net, (prototxt, caffemodel), output, options, rep)
    fused = sum(1 for layer in net.keras.layers if layer.type == FUSED_TYPE)
    return ConvertResult(
        output=os.fspath(output),
        format=fmt,
        caffe_layers=net.counts.caffe_layers,
        keras_layers=len(built.model.layers),
        fused_batchnorms=fused,
        parameters=int(built.model.count_params()),
        written=write,
        notes=net.reference.notes,
        layer_names=built.layer_names,
        report=report,
        counts=net.counts,
    )


def load_keras_model(path: str | os.PathLike[str], net: LoadedNet) -> tuple[Any, dict[str, str]]:
    """A saved output as a Keras model plus the blob -> Keras layer map (rebuilt by name)."""
    from caffe2keras.keras_model.saved import load_keras_model as load_saved

    return load_saved(path, net)


def verify(
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str],
    model_path: str | os.PathLike[str],
    options: ConvertOptions | None = None,
    reporter: Reporter | None = None,
) -> Report:
    """Verify an existing output against the Caffe reference (progress to ``reporter``)."""
    from caffe2keras.verify.run import verify_model

    options = options or ConvertOptions()
    if not os.path.exists(model_path):
        raise UsageError(f"the model '{os.fspath(model_path)}' does not exist")
    rep = reporter or NullReporter()
    with rep.step("read") as step:
        net = load(prototxt, caffemodel, options)
        step.note(_net_summary(net))
    with rep.step("load"):
        model, blob_layers = load_keras_model(model_path, net)
    inputs, info = make_inputs(net, options)
    with rep.step("verify"):
        return verify_model(
            net,
            model,
            blob_layers,
            inputs,
            tolerance=options.tolerance,
            reference_dtype=options.reference_dtype,
            inputs_info=info,
            name=os.path.basename(os.fspath(model_path)),
            second_opinions=second_opinion_runners(prototxt, caffemodel, net, options),
        )


def inspect(
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str] | None = None,
    options: ConvertOptions | None = None,
) -> Any:
    """The layer table of a net, without Keras (a :class:`caffe2keras.inspection.Inspection`)."""
    from caffe2keras.inspection import inspect_net

    options = options or ConvertOptions()
    state = NetState(phase=options.phase, stages=tuple(options.stages))
    load_options = LoadOptions(input_shapes=options.input_shapes, state=state)
    return inspect_net(prototxt, caffemodel, load_options, options.plugins)
