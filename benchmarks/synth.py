#!/usr/bin/env python3
"""Synthesise a caffemodel for a prototxt: deterministic weights, streamed to disk.

The blob shapes come from caffe2keras' own Caffe shape rules, so any deployable prototxt works.
Kernels are normal with He scaling (std sqrt(2 / fan_in)) so that activations of a deep net stay
of order one and verification compares meaningful numbers; biases are small normals. Values are
generated and written one chunk at a time, so a file of any size costs a few dozen MB of memory.

    python benchmarks/synth.py NET.prototxt OUT.caffemodel
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_reader import CHUNK, blob_parts, ld, ld_head  # noqa: E402

Plan = list[tuple[str, str, list[tuple[int, ...]]]]


def blob_plan(prototxt: Path) -> Plan:
    """(layer name, type, blob shapes) of every layer with learned blobs, in net order."""
    from caffe2keras.frontend.load import LoadOptions, build_raw_graph, read_prototxt
    from caffe2keras.ir.shapes import infer_layer

    graph = build_raw_graph(read_prototxt(prototxt), None, LoadOptions())
    shapes = {spec.name: spec.shape for spec in graph.inputs}
    plan: Plan = []
    for layer in graph.layers:
        result = infer_layer(layer, [shapes[b] for b in layer.bottoms])
        shapes.update(zip(layer.tops, result.tops, strict=True))
        if result.blobs:
            plan.append((layer.name, layer.type, [tuple(s) for s in result.blobs]))
    return plan


def _values(shape: tuple[int, ...], index: int, rng: np.random.Generator) -> Iterator[bytes]:
    """The little-endian float32 bytes of one blob, a chunk at a time."""
    count = math.prod(shape)
    std = math.sqrt(2.0 / max(1, math.prod(shape[1:]))) if index == 0 else 0.01
    for start in range(0, count, CHUNK):
        chunk = rng.standard_normal(min(CHUNK, count - start), dtype=np.float32)
        chunk *= np.float32(std)
        yield chunk.astype("<f4", copy=False).tobytes()


def write_caffemodel(path: Path, plan: Plan, net_name: str = "net", seed: int = 0) -> int:
    """Write ``plan`` as a V2 caffemodel at ``path``; returns the file size in bytes."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as out:
        out.write(ld(1, net_name.encode()))
        for name, ltype, shapes in plan:
            parts = [blob_parts(s) for s in shapes]
            blobs = [ld_head(7, len(h) + n) + h for h, n in parts]
            body = ld(1, name.encode()) + ld(2, ltype.encode())
            size = len(body) + sum(len(b) + n for b, (_, n) in zip(blobs, parts, strict=True))
            out.write(ld_head(100, size) + body)
            for i, (head, shape) in enumerate(zip(blobs, shapes, strict=True)):
                out.write(head)
                for chunk in _values(shape, i, rng):
                    out.write(chunk)
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prototxt", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    size = write_caffemodel(args.output, blob_plan(args.prototxt), args.prototxt.stem, args.seed)
    print(f"wrote {args.output}: {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
