"""Detection layers of an exported artifact, checked on the artifact's own bottoms.

A deep SSD's detection rows are ill-conditioned: TFLite's float32 kernels round differently from
TensorFlow's, a score moves across a threshold or an NMS overlap, and a row or two differ from the
Keras model's although both are right (``caffe2keras/verify/detections.py``). As the Keras
model's verification does, the exported DetectionOutput is therefore checked against the
reference op run on the bottoms the *artifact's runtime* computed: a probe artifact (same format,
same converter, the detection layers' bottoms as extra outputs) is written to a temporary folder,
run in its own runtime on the same inputs, and the reference op is applied to its bottoms. The
probe is for verification only and never written to the output.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from caffe2keras.frontend.net import LoadedNet
from caffe2keras.verify.detections import DETECTION_TYPES


def detection_bottoms(net: LoadedNet) -> list[str]:
    """The bottoms of the reference graph's detection layers (empty: no detection layer)."""
    out: list[str] = []
    for layer in net.reference.layers:
        if layer.type in DETECTION_TYPES:
            out += [b for b in layer.bottoms if b not in out]
    return out


def _probe_model(built: Any, bottoms: list[str]) -> Any:
    import keras

    model = built.model
    extra = [model.get_layer(built.blob_layers[b]).output for b in bottoms]
    return keras.Model(inputs=model.inputs, outputs=[*model.outputs, *extra])


def detection_own_inputs(
    fmt: str,
    built: Any,
    net: LoadedNet,
    scratch: Path,
    fed: Mapping[str, Any],
    dtype: str,
    float16: bool,
) -> tuple[dict[str, np.ndarray], str]:
    """Per detection top: the reference op's rows on the bottoms the probe artifact computed in
    its own runtime (Caffe layout), or the runtime's error."""
    from caffe2keras.export.runtime import run_deployed
    from caffe2keras.ir.layouts import layout_kinds
    from caffe2keras.layout import CAFFE, to_caffe
    from caffe2keras.outputs.savedmodel import write_savedmodel
    from caffe2keras.outputs.tflite import write_tflite
    from caffe2keras.verify.detections import own_input_references

    bottoms = detection_bottoms(net)
    probe = _probe_model(built, bottoms)
    with tempfile.TemporaryDirectory(dir=scratch, prefix=".caffe2keras-probe-") as tmp:
        path = Path(tmp) / ("probe.tflite" if fmt == "tflite" else "probe")
        if fmt == "tflite":
            write_tflite(probe, path, tmp, float16)
        else:
            write_savedmodel(probe, path)
        deployed = run_deployed(fmt, os.fspath(path), fed)
    if deployed.error:
        return {}, deployed.error
    first = len(built.model.outputs)
    layouts = layout_kinds(net.keras)
    values = {
        b: to_caffe(np.asarray(deployed.outputs[f"output_{first + i}"]), layouts.get(b, CAFFE))
        for i, b in enumerate(bottoms)
    }
    return own_input_references(net.reference, values, np.dtype(dtype)), ""
