"""The library surface: load, convert and verify. The CLI is a thin shell over these."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from caffe2keras.errors import UsageError, ValidationError
from caffe2keras.frontend.load import LoadOptions
from caffe2keras.frontend.net import LoadedNet, load_net
from caffe2keras.frontend.phase import NetState
from caffe2keras.verify.compare import Tolerance
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

    @property
    def exit_code(self) -> int:
        return 0 if self.report is None else self.report.exit_code


def load(
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str] | None,
    options: ConvertOptions | None = None,
) -> LoadedNet:
    """Parse and check a Caffe model into its reference and Keras graphs."""
    options = options or ConvertOptions()
    state = NetState(phase=options.phase, stages=tuple(options.stages))
    return load_net(
        prototxt, caffemodel, LoadOptions(input_shapes=options.input_shapes, state=state)
    )


def make_inputs(net: LoadedNet, options: ConvertOptions) -> tuple[dict[str, np.ndarray], dict]:
    """The verification inputs (NCHW) and a description of how they were made."""
    from caffe2keras.verify.run import random_inputs

    inputs = random_inputs(net.reference, options.seed, options.batch)
    info: dict[str, Any] = {"source": "random normal", "seed": options.seed, "batch": options.batch}
    for name, path in options.input_npy.items():
        if name not in inputs:
            raise UsageError(f"--input names '{name}', which is not an input of the net")
        try:
            arr = np.load(path, allow_pickle=False).astype(np.float32)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read input array '{path}': {exc}") from None
        want = inputs[name].shape[1:]  # inputs are keyed by their Caffe blob names
        if arr.ndim == len(want):
            arr = arr[None]
        if tuple(arr.shape[1:]) != tuple(want):
            raise ValidationError(
                f"input array '{path}' has shape {list(arr.shape)}, the net "
                f"expects (N, {', '.join(map(str, want))})",
                field="input",
            )
        inputs[name] = arr
        info["source"] = "file"
        info.setdefault("files", {})[name] = os.fspath(path)
    return inputs, info


def convert(
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str],
    output: str | os.PathLike[str],
    options: ConvertOptions | None = None,
) -> ConvertResult:
    """Convert, verify (unless disabled) and write the output atomically.

    The output is written only when verification passes (or is skipped), unless
    ``write_on_failure``: a CI job never replaces good weights with bad ones.
    """
    from caffe2keras.build.model import build_model
    from caffe2keras.verify.run import verify_model
    from caffe2keras.writers import output_format, write_model

    options = options or ConvertOptions()
    output_format(output)  # fail on a bad suffix before any work
    net = load(prototxt, caffemodel, options)
    built = build_model(net.keras)
    report = None
    if options.verify:
        inputs, info = make_inputs(net, options)
        report = verify_model(
            net,
            built.model,
            built.blob_layers,
            inputs,
            tolerance=options.tolerance,
            reference_dtype=options.reference_dtype,
            inputs_info=info,
            name=os.path.basename(os.fspath(prototxt)),
        )
    write = report is None or report.passed or options.write_on_failure
    fmt = output_format(output)
    if write:
        metadata = {
            "version": __version__,
            "layer_names": built.layer_names,
            "prototxt": os.path.basename(os.fspath(prototxt)),
        }
        fmt = write_model(built.model, output, metadata)
    fused = sum(1 for layer in net.keras.layers if layer.type == "BatchNormScale")
    return ConvertResult(
        output=os.fspath(output),
        format=fmt,
        caffe_layers=len(net.reference.layers),
        keras_layers=len(built.model.layers),
        fused_batchnorms=fused,
        parameters=int(built.model.count_params()),
        written=write,
        notes=net.reference.notes,
        layer_names=built.layer_names,
        report=report,
    )


def load_keras_model(path: str | os.PathLike[str], net: LoadedNet) -> tuple[Any, dict[str, str]]:
    """A saved output as a Keras model plus the blob -> Keras layer map (rebuilt by name)."""
    import keras

    import caffe2keras.layers  # noqa: F401  (registers our custom layers for safe-mode loading)
    from caffe2keras.build.model import build_model
    from caffe2keras.writers import output_format

    fmt = output_format(path)
    built = build_model(net.keras)
    if fmt == "weights":
        built.model.load_weights(os.fspath(path))
        return built.model, built.blob_layers
    model = keras.models.load_model(os.fspath(path), safe_mode=True, compile=False)
    return model, built.blob_layers


def verify(
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str],
    model_path: str | os.PathLike[str],
    options: ConvertOptions | None = None,
) -> Report:
    """Verify an existing output against the Caffe reference."""
    from caffe2keras.verify.run import verify_model

    options = options or ConvertOptions()
    if not os.path.exists(model_path):
        raise UsageError(f"the model '{os.fspath(model_path)}' does not exist")
    net = load(prototxt, caffemodel, options)
    model, blob_layers = load_keras_model(model_path, net)
    inputs, info = make_inputs(net, options)
    return verify_model(
        net,
        model,
        blob_layers,
        inputs,
        tolerance=options.tolerance,
        reference_dtype=options.reference_dtype,
        inputs_info=info,
        name=os.path.basename(os.fspath(model_path)),
    )
