"""The OpenCV second opinion: ``cv2.dnn`` runs the net; every layer output it shows is compared.

What is compared: OpenCV names a layer's output after the layer (a Convolution after its top
blob), and only a layer's first output can be fetched by name. Each layer of our reference graph
is matched to the OpenCV layer of the same name (or, for Convolution, of its top's name) and the
same type; its first top is compared. In-place chains (conv -> BatchNorm -> Scale -> ReLU on one
blob) are compared version by version: requesting every layer's output keeps OpenCV from reusing
that memory, and fusion is disabled so that each layer's own output exists. Winograd convolution
is disabled too: it is less accurate than Caffe's im2col (6x the error on DenseNet-121). Later
tops of multi-top layers (Slice) are not compared; their consumers are.

Known gaps (parameters OpenCV 4.x reads but does not apply): LRN's ``k`` (OpenCV always adds 1),
InnerProduct's ``transpose``, Log's ``base``/``scale``/``shift``, DetectionOutput's ``eta`` (and
its ``confidence_threshold`` default, 0 instead of -FLT_MAX). Such a layer's blob and every
blob computed from it are marked 'OpenCV known gap' and left out of the summary.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from caffe2keras.errors import UsageError
from caffe2keras.frontend.phase import NetState
from caffe2keras.ir.graph import Graph
from caffe2keras.verify.detections import DETECTION_TYPES, from_opencv
from caffe2keras.verify.netdef import engine_runner
from caffe2keras.verify.second import EngineRun, EngineRunner, downstream


def import_opencv() -> Any:
    """``cv2`` (OpenCV 4.x), or a UsageError that says how to get it."""
    try:
        import cv2
    except ImportError:
        raise UsageError(
            "--reference opencv needs OpenCV's dnn module, which is not installed: "
            "pip install 'opencv-python-headless<5'"
        ) from None
    major = int(str(cv2.__version__).split(".")[0])
    if major >= 5:
        raise UsageError(
            f"--reference opencv supports OpenCV 4.x; this is {cv2.__version__} "
            "(pip install 'opencv-python-headless<5')"
        )
    return cv2


def match_layers(net: Any, graph: Graph) -> dict[str, str]:
    """OpenCV layer name -> the reference-graph blob (first top) it computes."""
    names = set(net.getLayerNames())
    types = {n: net.getLayer(n).type for n in names}
    found: dict[str, str] = {}
    for layer in graph.layers:
        if not layer.tops:
            continue
        candidates = [layer.name, graph.caffe_name(layer.tops[0])]
        free = [c for c in candidates if c in names and c not in found]
        typed = [c for c in free if types[c] == layer.type]
        chosen = typed[0] if typed else (layer.name if layer.name in free else None)
        if chosen is not None:
            found[chosen] = layer.tops[0]
    return found


# Caffe parameters OpenCV 4.x reads but does not apply (each seen on a golden case).
_GAPS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "LRN": (lambda p: float(p.k) != 1.0, "its LRN ignores k (always 1)"),
    "InnerProduct": (lambda p: bool(p.transpose), "its InnerProduct ignores transpose: true"),
    "Log": (
        lambda p: (p.base, p.scale, p.shift) != (-1.0, 1.0, 0.0),
        "its Log ignores base, scale and shift",
    ),
    "DetectionOutput": (
        lambda p: p.eta < 1 or p.confidence_threshold < 0,
        "its DetectionOutput ignores nms_param.eta and takes confidence_threshold 0 when unset",
    ),
    "PriorBox": (
        lambda p: bool(p.img_h) or any(v != int(v) for v in (*p.min_sizes, *p.max_sizes)),
        "its PriorBox ignores img_size/img_h/img_w and does not truncate sizes to integers",
    ),
}


def known_gaps(graph: Graph) -> dict[str, str]:
    """Blobs OpenCV is known to compute differently from Caffe, and every blob after them."""
    gaps = {}
    for layer in graph.layers:
        rule = _GAPS.get(layer.type)
        if rule is not None and layer.tops and rule[0](layer.params):
            gaps[layer.tops[0]] = f"OpenCV known gap: {rule[1]}"
    return downstream(graph, gaps)


def _first_line(exc: Exception) -> str:
    """OpenCV's own message without its source location and function name."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    if "error: (" in text:
        text = text.split("error: (", 1)[1].split(") ", 1)[-1]
    return text.split(" in function ", 1)[0] or type(exc).__name__


def run_opencv(
    cv2: Any,
    prototxt_text: str,
    caffemodel: str | os.PathLike[str],
    graph: Graph,
    inputs: Mapping[str, np.ndarray],
) -> EngineRun:
    """Run the rewritten net in OpenCV and collect every layer output it can show."""
    engine = f"OpenCV {cv2.__version__} dnn"
    start = time.perf_counter()
    try:
        net = cv2.dnn.readNetFromCaffe(
            np.frombuffer(prototxt_text.encode(), np.uint8),
            np.fromfile(os.fspath(caffemodel), np.uint8),
        )
    except cv2.error as exc:
        return EngineRun(engine, error=f"OpenCV cannot read the net: {_first_line(exc)}")
    net.enableFusion(False)
    net.enableWinograd(False)  # its 3x3 fast path costs accuracy (DenseNet-121: 1.2e-4 vs 2e-5)
    for name, value in inputs.items():
        net.setInput(np.ascontiguousarray(value, dtype=np.float32), name)
    try:
        found = match_layers(net, graph)
        outs = net.forward(list(found)) if found else ()
    except cv2.error as exc:
        return EngineRun(engine, error=f"OpenCV's forward pass failed: {_first_line(exc)}")
    blobs = {blob: np.asarray(out) for blob, out in zip(found.values(), outs)}
    num = next(iter(inputs.values())).shape[0] if inputs else 1
    producers = graph.producers()
    for blob in blobs:  # OpenCV's own row order and padding, as Caffe's rows
        if producers[blob].type in DETECTION_TYPES:
            blobs[blob] = from_opencv(blobs[blob], num)
    unmatched = [layer.name for layer in graph.layers if layer.tops and layer.tops[0] not in blobs]
    notes = []
    if unmatched:
        shown = ", ".join(unmatched[:5]) + (" ..." if len(unmatched) > 5 else "")
        notes.append(f"{len(unmatched)} layers have no OpenCV counterpart by name: {shown}")
    gaps = {b: g for b, g in known_gaps(graph).items() if b in blobs}
    return EngineRun(
        engine,
        blobs=blobs,
        notes=tuple(notes),
        gaps=gaps,
        seconds=time.perf_counter() - start,
    )


def opencv_runner(
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str],
    graph: Graph,
    state: NetState,
) -> EngineRunner:
    """A runner for ``verify_model``; fails now (UsageError) when OpenCV is not importable."""
    cv2 = import_opencv()
    return engine_runner(
        "opencv",
        prototxt,
        caffemodel,
        graph,
        state,
        lambda text, inputs: run_opencv(cv2, text, caffemodel, graph, inputs),
    )
