"""Convert one random net (``random_nets.py``) and compare Keras, the numpy reference and OpenCV.

Weights are drawn per type so the net computes finite, meaningful values (BatchNorm variances
positive, its scale factor sometimes 0 as Caffe allows). Every top shape is also checked against
the generator's own shape arithmetic. ``check_net`` returns a :class:`Checked`: how Keras and the
reference agreed, how OpenCV and the reference agreed, each disagreement with a class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from random_nets import RandomNet, random_net

from caffe2keras._proto import caffe_pb2

# How OpenCV 4.x reads or runs these nets differently from Caffe (each checked by hand on a small
# net; see benchmarks/README.md): class -> explanation. A disagreement is put in the first class
# whose edge case the failing layer (or, for a failed forward pass, the net) contains.
OPENCV_CLASSES = {
    "pool_round_mode": "OpenCV refuses BVLC's pooling round_mode (CEIL or FLOOR): "
    "'kernel[i] > 0' in getKernelSize",
    "conv_truncation": "OpenCV floors the convolution output size where Caffe's C++ division "
    "truncates: a kernel past the padded input gives 0 outputs ('total(os[i]) > 0')",
    "lone_pad_hw": "OpenCV ignores a lone pad_h/pad_w (pads nothing); Caffe reads the other as 0",
    "pool_kernel_past_input": "OpenCV gives 0 pooling outputs when the kernel exceeds the padded "
    "input; Caffe's float ceil gives 1 ('total(os[i]) > 0')",
    "pool_one_axis_padded": "OpenCV applies Caffe's pooling clip rule only on an axis that pads "
    "itself; Caffe applies it on both when either pads (one output row/column more in OpenCV)",
    "pool_empty_max": "OpenCV outputs 0 where a MAX window covers no pixel; Caffe -FLT_MAX",
    "Threshold": "OpenCV has no Threshold layer",
    "deconv": "OpenCV 4.14 crashes (a signal, not an error) on some Deconvolution layers (seen: "
    "kernel 1, pad 1, group 4); also differs on others (NaN spread, output size)",
    "nan_dilated_deconv": "NaN (from 0/0 empty AVE windows) reaches a dilated Deconvolution: "
    "a zero-expanded kernel multiplies NaN by 0 where Caffe's col2im never touches it",
    "mvn": "OpenCV's MVN adds eps to the variance (Caffe to the standard deviation): ~1e-4 off",
}
MISSING_LAYER = "Can't create layer"
KERAS_OVERFLOW = "float32_overflow"
KNOWN_GAP = (
    "OpenCV differs only at and after a gap caffe2keras already lists and leaves out "
    "(verify/opencv_ref.py: LRN k, InnerProduct transpose, Log base/scale/shift)"
)
KERAS_CLASSES = {
    "keras_mismatch:nan_dilated_deconv": "NaN (from 0/0 empty AVE windows) reaches a dilated "
    "Deconvolution: Keras' zero-expanded kernel multiplies NaN by 0 (NaN) where Caffe's col2im "
    "never touches those positions; only after an empty-window model bug",
    "keras_mismatch:nan_max_pool": "NaN (from 0/0 empty AVE windows) reaches MAX pooling: "
    "Caffe's `>` comparisons from -FLT_MAX skip NaN (the reference too: -FLT_MAX), TensorFlow's "
    "MaxPool over all-NaN windows gave 0; only after an empty-window model bug",
    KERAS_OVERFLOW: "a blob overflows float32 (Caffe's precision: Keras and Caffe give +-Inf) "
    "where the float64 reference stays finite, e.g. a layer summing the -FLT_MAX of empty MAX "
    "windows; the report notes it",
}


def classify_opencv(net: RandomNet, error: str | None, layer: str | None) -> str:
    """The OPENCV_CLASSES key explaining OpenCV's first disagreement, or 'unexplained'."""
    by_layer = dict(net.layer_features)
    if error is not None and MISSING_LAYER in error:
        missing = error.split("of type")[-1].strip(" \"'")
        return missing if missing in OPENCV_CLASSES else "unexplained"
    found = set(by_layer.get(layer, ())) if layer is not None else set(net.features)
    why = next((key for key in OPENCV_CLASSES if key in found), "unexplained")
    if why == "unexplained" and error is not None and "Deconvolution" in net.prototxt:
        return "deconv"  # OpenCV's Deconvolution output size differs: a later layer fails
    return why


@dataclass
class Checked:
    """The outcome of one net: ``keras`` and ``opencv`` are 'agree' or a disagreement class."""

    seed: int
    features: tuple[str, ...]
    keras: str = "agree"
    opencv: str = "agree"
    detail: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _blob(layer_type: str, index: int, shape: tuple[int, ...], rng: np.random.Generator):
    if layer_type == "BatchNorm":
        if index == 0:
            return rng.standard_normal(shape)
        if index == 1:
            return rng.uniform(0.1, 2.0, shape)
        return np.array([rng.choice([1.0, 0.5, 7.0, 0.0])])  # 0 is Caffe's "no statistics"
    if index == 0 and layer_type not in ("Scale", "Bias"):
        fan_in = math.prod(shape[1:]) if layer_type != "Deconvolution" else shape[0]
        return rng.standard_normal(shape) * math.sqrt(2.0 / max(1, fan_in))
    return rng.standard_normal(shape) * (0.5 if layer_type != "Scale" else 1.0)


def write_files(net: RandomNet, folder: Path) -> tuple[Path, Path]:
    """The prototxt and a caffemodel with a blob of the expected shape for every learned layer
    (blob shapes from caffe2keras' shape rules: a wrong rule fails the blob-shape check first)."""
    from caffe2keras.frontend.load import LoadOptions, build_raw_graph, read_prototxt
    from caffe2keras.ir.shapes import infer_layer

    proto = folder / "net.prototxt"
    proto.write_text(net.prototxt)
    graph = build_raw_graph(read_prototxt(proto), None, LoadOptions())
    shapes = {spec.name: spec.shape for spec in graph.inputs}
    rng = np.random.default_rng(net.seed)
    model = caffe_pb2.NetParameter(name=f"random{net.seed}")
    for layer in graph.layers:
        result = infer_layer(layer, [shapes[b] for b in layer.bottoms])
        shapes.update(zip(layer.tops, result.tops))
        if result.blobs:
            pb = model.layer.add(name=layer.name, type=layer.type)
            for i, shape in enumerate(result.blobs):
                blob = pb.blobs.add()
                blob.shape.dim.extend(shape)
                blob.data.extend(_blob(layer.type, i, shape, rng).astype(np.float32).ravel())
    caffemodel = folder / "net.caffemodel"
    caffemodel.write_bytes(model.SerializeToString())
    return proto, caffemodel


def _nan_into_dilated_deconv(net: RandomNet, graph: Any, blob: str) -> bool:
    """Whether ``blob`` comes from a dilated Deconvolution in a net with empty AVE windows (0/0:
    the NaN that reaches it)."""
    layer = next((lay for lay in graph.layers if blob in lay.tops), None)
    dilated = (
        layer is not None and layer.type == "Deconvolution" and layer.params.dilation != (1, 1)
    )
    return dilated and "pool_empty_ave" in net.features


def _nan_into_max_pool(net: RandomNet, graph: Any, blob: str) -> bool:
    """Whether ``blob`` comes from MAX pooling in a net with empty AVE windows (0/0: NaN)."""
    layer = next((lay for lay in graph.layers if blob in lay.tops), None)
    is_max = layer is not None and layer.type == "Pooling" and layer.params.method == "MAX"
    return is_max and "pool_empty_ave" in net.features


def _opencv_outcome(net: RandomNet, opinion: Any, graph: Any = None) -> tuple[str, str]:
    """('agree' | 'known_gap' | 'opencv_error:<class>' | 'opencv_mismatch:<class>', detail)."""
    if opinion.error is not None:
        why = classify_opencv(net, opinion.error, None)
        return f"opencv_error:{why}", opinion.error.split(">")[0].strip()[:160]
    bad = next((r for r in opinion.rows if not r.passed and r.blob not in opinion.gaps), None)
    if bad is None:
        return ("known_gap", "") if opinion.gaps else ("agree", "")
    why = classify_opencv(net, None, bad.blob)
    if why == "unexplained" and graph is not None:
        layer = next((lay for lay in graph.layers if bad.blob in lay.tops), None)
        kind = {"Deconvolution": "deconv", "MVN": "mvn"}.get(layer.type if layer else "", "")
        why = kind or why
    return f"opencv_mismatch:{why}", f"{bad.blob} ({bad.layer_type}): rel {bad.max_rel:.3g}"


_OPENCV_PROBE = """
import sys, cv2, numpy as np
net = cv2.dnn.readNetFromCaffe(sys.argv[1], sys.argv[2])
net.enableFusion(False)
net.enableWinograd(False)
net.setInput(np.ones([int(d) for d in sys.argv[3:]], np.float32))
try:
    net.forward(list(net.getLayerNames()))
except cv2.error:
    pass
"""  # as verify/opencv_ref.py runs it: no fusion, every layer's output requested


def opencv_crashes(proto: Path, caffemodel: Path, shape: tuple[int, ...]) -> bool:
    """Whether OpenCV's forward pass kills its process (a signal, not an exception): then it
    must not run in ours. Checked in a child process with only cv2 and numpy imported."""
    import subprocess
    import sys

    args = [sys.executable, "-c", _OPENCV_PROBE, str(proto), str(caffemodel)]
    done = subprocess.run(
        args + [str(d) for d in shape], capture_output=True, timeout=300, check=False
    )
    return done.returncode < 0


def check_net(seed: int, folder: Path, opencv: bool = True) -> Checked:
    """Generate net ``seed``, convert it, verify it against the reference (and OpenCV)."""
    from caffe2keras.api import ConvertOptions, load, make_inputs, second_opinion_runners
    from caffe2keras.errors import Caffe2KerasError
    from caffe2keras.keras_model.model import build_model
    from caffe2keras.verify.run import verify_model

    net = random_net(seed)
    out = Checked(seed=seed, features=net.features)
    options = ConvertOptions(second_opinions=("opencv",) if opencv else ())
    # no keras.backend.clear_session() per net: its garbage collection costs seconds with
    # TensorFlow loaded; the benchmark's worker processes are replaced every few hundred nets
    try:
        proto, caffemodel = write_files(net, folder)
        loaded = load(proto, caffemodel, options)
        built = build_model(loaded.keras, True)
    except Caffe2KerasError as exc:
        out.keras = "refused"
        out.detail["keras"] = str(exc)[:300]
        return out
    risky = "Deconvolution" in net.prototxt  # the only crashes seen (1 net in ~250)
    if opencv and risky and opencv_crashes(proto, caffemodel, net.input_shape):
        out.opencv = "opencv_crash:deconv"
        options = ConvertOptions()
    runners = second_opinion_runners(proto, caffemodel, loaded, options)
    inputs, info = make_inputs(loaded, options)
    report = verify_model(
        loaded,
        built.model,
        built.blob_layers,
        inputs,
        tolerance=options.tolerance,
        inputs_info=info,
        second_opinions=runners,
    )
    out.notes = tuple(report.extra.get("notes", ()))
    got = {row.blob: row.shape for row in report.rows}
    wrong = [(b, s, got[b]) for b, s in net.shapes if b in got and tuple(got[b]) != tuple(s)]
    if wrong:
        out.keras = "shape_disagreement"
        out.detail["keras"] = f"{wrong[0][0]}: generator {wrong[0][1]}, converter {wrong[0][2]}"
        return out
    if not report.passed:
        bad = report.culprit
        overflow = any("overflows float32" in note for note in out.notes)
        out.keras = KERAS_OVERFLOW if overflow else f"keras_mismatch:{bad and bad.layer_type}"
        if bad and _nan_into_dilated_deconv(net, loaded.reference, bad.blob):
            out.keras = "keras_mismatch:nan_dilated_deconv"
        if bad and _nan_into_max_pool(net, loaded.reference, bad.blob):
            out.keras = "keras_mismatch:nan_max_pool"
        out.detail["keras"] = f"{bad.blob}: rel {bad.max_rel:.3g}" if bad else ""
    for opinion in report.second_opinions:
        out.opencv, detail = _opencv_outcome(net, opinion, loaded.reference)
        if detail:
            out.detail["opencv"] = detail
    return out
