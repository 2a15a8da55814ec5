"""Regenerate ``caffe2keras/_proto/caffe_pb2.py`` from ``proto/caffe.proto``.

Usage (from anywhere)::

    python proto/generate.py            # writes caffe2keras/_proto/caffe_pb2.py
    python proto/generate.py --out DIR  # writes DIR/caffe_pb2.py instead

Requires ``grpcio-tools`` (a development dependency only: the generated module
needs nothing but the ``protobuf`` runtime). The protobuf version the code is
generated for is that of the protoc bundled with grpcio-tools; the generated
file refuses to import on an older protobuf runtime, so the package's
``protobuf>=`` pin must follow it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent
PROTO_FILE = PROTO_DIR / "caffe.proto"
DEFAULT_OUT = PROTO_DIR.parent / "caffe2keras" / "_proto"


def generate(out_dir: Path = DEFAULT_OUT) -> Path:
    """Run protoc on ``caffe.proto`` and return the path of the written module.

    Raises ``RuntimeError`` if protoc reports an error.
    """
    from grpc_tools import protoc  # imported here so ``--help`` works without it

    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"--python_out={out_dir}",
        str(PROTO_FILE),
    ]
    status = protoc.main(args)
    if status != 0:
        raise RuntimeError(f"protoc failed with exit status {status}: {' '.join(args)}")
    return out_dir / "caffe_pb2.py"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"output directory (default: {DEFAULT_OUT})",
    )
    options = parser.parse_args(argv)
    written = generate(options.out)
    print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
