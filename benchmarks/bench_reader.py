#!/usr/bin/env python3
"""Benchmark the caffemodel blob reader against protobuf's full parse.

Writes a synthetic caffemodel with VGG-16's weight shapes (138 M float32 values, ~553 MB), streamed
to disk in the protobuf wire format, then runs each reader in a fresh subprocess and reports wall
time and peak RSS. ``--size-gb 2.2`` appends large InnerProduct layers until the file exceeds that
size, past protobuf's 2 GiB message limit.

    python benchmarks/bench_reader.py [--size-gb 2.2] [--keep DIR] [--skip-protobuf]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CHUNK = 1 << 24  # values generated and written per step

VGG16 = [
    ("conv1_1", 64, 3, 3), ("conv1_2", 64, 64, 3), ("conv2_1", 128, 64, 3),
    ("conv2_2", 128, 128, 3), ("conv3_1", 256, 128, 3), ("conv3_2", 256, 256, 3),
    ("conv3_3", 256, 256, 3), ("conv4_1", 512, 256, 3), ("conv4_2", 512, 512, 3),
    ("conv4_3", 512, 512, 3), ("conv5_1", 512, 512, 3), ("conv5_2", 512, 512, 3),
    ("conv5_3", 512, 512, 3),
]  # fmt: skip
VGG16_FC = [("fc6", 4096, 25088), ("fc7", 4096, 4096), ("fc8", 1000, 4096)]


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def ld_head(num: int, length: int) -> bytes:
    return varint((num << 3) | 2) + varint(length)


def ld(num: int, payload: bytes) -> bytes:
    return ld_head(num, len(payload)) + payload


def blob_parts(shape: tuple[int, ...]) -> tuple[bytes, int]:
    """The bytes of a BlobProto before its float data, and the data's byte count."""
    count = int(np.prod(shape))
    head = ld(7, ld(1, b"".join(varint(d) for d in shape))) + ld_head(5, 4 * count)
    return head, 4 * count


def layer_plan(size_gb: float | None) -> Iterator[tuple[str, str, list[tuple[int, ...]]]]:
    """(name, type, blob shapes) of every layer, VGG-16 first, then filler FC layers."""
    for name, out, inp, k in VGG16:
        yield name, "Convolution", [(out, inp, k, k), (out,)]
        yield name.replace("conv", "relu"), "ReLU", []
    for name, out, inp in VGG16_FC:
        yield name, "InnerProduct", [(out, inp), (out,)]
    yield "prob", "Softmax", []
    if size_gb is None:
        return
    total = 4 * sum(o * i * k * k + o for _, o, i, k in VGG16) + 4 * sum(
        o * i + o for _, o, i in VGG16_FC
    )
    index = 0
    while total < size_gb * 1e9:
        rows = int(min(16384, max(1, (size_gb * 1e9 - total) // (4 * 16384) + 1)))
        yield f"extra_fc{index}", "InnerProduct", [(rows, 16384), (rows,)]
        total += 4 * (rows * 16384 + rows)
        index += 1


def write_model(path: Path, size_gb: float | None) -> None:
    """Stream the caffemodel to ``path``; never holds more than one chunk of values in memory."""
    rng = np.random.default_rng(0)
    with open(path, "wb") as out:
        out.write(ld(1, b"VGG_ILSVRC_16_layers"))
        for name, ltype, shapes in layer_plan(size_gb):
            parts = [blob_parts(s) for s in shapes]
            blobs = [ld_head(7, len(h) + n) + h for h, n in parts]
            body = ld(1, name.encode()) + ld(2, ltype.encode())
            size = len(body) + sum(len(b) + n for b, (_, n) in zip(blobs, parts, strict=True))
            out.write(ld_head(100, size) + body)
            for head, (_, nbytes) in zip(blobs, parts, strict=True):
                out.write(head)
                for start in range(0, nbytes // 4, CHUNK):
                    n = min(CHUNK, nbytes // 4 - start)
                    out.write(rng.standard_normal(n, dtype=np.float32).astype("<f4").tobytes())


def worker(mode: str, path: str) -> dict[str, object]:
    """Run one measurement in this (fresh) process; report times and peak RSS."""
    base = _rss_mb()
    start = time.perf_counter()
    if mode.startswith("ours"):
        from caffe2keras.frontend.blobs import read_caffemodel

        model = read_caffemodel(path)
        parsed = time.perf_counter()
        blobs = [b for layer in model.layers for b in layer.blobs]
        if mode == "ours-sum":
            check = float(sum(float(b.sum(dtype=np.float64)) for b in blobs))
        else:
            check = float(sum(float(b.flat[0]) for b in blobs))
    else:
        from caffe2keras._proto import caffe_pb2

        net = caffe_pb2.NetParameter()
        try:
            net.ParseFromString(Path(path).read_bytes())
        except Exception as exc:  # report the failure: it is the point of the > 2 GiB run
            return {"error": f"{type(exc).__name__}: {exc}"[:120], "rss_mb": _rss_mb()}
        parsed = time.perf_counter()
        blobs = [np.asarray(b.data, np.float32) for layer in net.layer for b in layer.blobs]
        check = float(sum(float(b[0]) for b in blobs))
    done = time.perf_counter()
    return {
        "parse_s": parsed - start,
        "total_s": done - start,
        "rss_mb": _rss_mb(),
        "base_rss_mb": base,
        "blobs": len(blobs),
        "check": check,
    }


def _rss_mb() -> float:
    """Peak RSS of this process in MB. Linux's ru_maxrss survives exec (a child starts with its
    parent's peak), so VmHWM, which is per address space, is preferred where it exists."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(mode: str, path: Path) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    cmd = [sys.executable, __file__, "--worker", mode, str(path)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}", "wall_s": wall}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def table(path: Path, rows: dict[str, dict[str, object]]) -> str:
    size = path.stat().st_size
    lines = [
        f"file: {path.name}, {size / 1e6:.1f} MB ({size / 2**30:.2f} GiB)",
        "",
        "| reader | parse s | parse + blobs s | process wall s | peak RSS MB | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, r in rows.items():
        if "error" in r:
            lines.append(f"| {label} | - | - | {r.get('wall_s', 0):.2f} | {r.get('rss_mb', 0):.0f} "
                         f"| FAILED: {r['error']} |")  # fmt: skip
            continue
        lines.append(
            f"| {label} | {r['parse_s']:.3f} | {r['total_s']:.3f} | {r['wall_s']:.2f} "
            f"| {r['rss_mb']:.0f} | {r['blobs']} blobs; {r['base_rss_mb']:.0f} MB before reading |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--size-gb", type=float, default=None, help="grow the file past this size")
    parser.add_argument("--keep", type=Path, default=None, help="write the model here, keep it")
    parser.add_argument("--skip-protobuf", action="store_true", help="only time our reader")
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / ("big.caffemodel" if args.size_gb else "vgg16_synthetic.caffemodel")
        start = time.perf_counter()
        write_model(path, args.size_gb)
        print(f"wrote {path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        rows = {
            "caffe2keras read_caffemodel + first element of each blob": measure("ours", path),
            "caffe2keras read_caffemodel + sum of every blob": measure("ours-sum", path),
        }
        if not args.skip_protobuf:
            rows["protobuf ParseFromString + np.asarray(blob.data)"] = measure("protobuf", path)
        print(table(path, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
