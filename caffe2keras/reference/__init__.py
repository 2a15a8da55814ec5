"""A plain-numpy executor of Caffe's forward semantics, independent of Keras.

``run_reference(graph, inputs)`` returns every blob of a reference graph; ops are registered per
layer type with :func:`reference_op` (one file per family under ``ops/``, discovered).

It shares the graph and the shape rules with the converter, but none of its weight arithmetic:
it runs BatchNorm and Scale as separate layers in Caffe's own NCHW layouts (no fold, no
transposes), and reads BatchNorm's moving-average factor itself (``ops/norm.bn_moving_stats``
beside the converter's ``ir/batchnorm.bn_statistics``), so that a mistake on the converter's side
shows up as a mismatch instead of being shared.

Speed: verification runs it twice per conversion (float64, and float32 to measure rounding noise),
so every op the zoo uses is written as BLAS-sized or whole-array numpy, with Python loops only
over kernel taps, samples, blocks or bottoms, never over pixels or channels:

- Convolution: Caffe's own im2col GEMM per sample and group, a block of output rows at a time,
  the block's columns stacked from strided views of the padded sample and the GEMM writing
  straight into the output, the bias added to the block while it is in cache
  (``ops/columns.py``); with 16+ input channels per group and fewer
  outputs, a sum over kernel taps of one GEMM per group on zero-copy views of the input padded
  once (``ops/taps.py``), which is faster there. 1x1 convolutions without padding are one
  batched GEMM on the (subsampled) input itself.
- Pooling (MAX, AVE, test-time STOCHASTIC) folds each window tap by tap in Caffe's scan order
  over strided views of the padded input (of the input itself when the windows tile it);
  Deconvolution is one GEMM then a strided add per tap;
  InnerProduct converts its weight a block of outputs at a time (never the whole matrix in
  float64); BatchNorm, Scale, Eltwise and ReLU allocate their output and nothing else.
- Weights are read and cast once per pass; no op keeps a reference to its inputs, and the
  executor drops each blob after its last consumer (:func:`iter_reference`).

``benchmarks/bench_reference.py`` times both passes per op type against one steady Keras
``model.predict`` of the same batch (``benchmarks/README.md``, "Reference speed").
"""

from __future__ import annotations

from caffe2keras.reference.executor import iter_reference, run_reference
from caffe2keras.reference.registry import (
    reference_op,
    reference_types,
    register_reference_op,
)

__all__ = [
    "iter_reference",
    "reference_op",
    "reference_types",
    "register_reference_op",
    "run_reference",
]
