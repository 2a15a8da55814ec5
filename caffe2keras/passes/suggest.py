"""Explain an unknown layer type: the nearest known type names, and where the prototxt uses it.

Known types are every type with a shape rule (built in or from a plugin; tests keep builders and
reference ops in step with them), every type with a params parser, and BVLC's V1 enum names
(``CONVOLUTION``, ``INNER_PRODUCT``...), which suggest the V2 type they stand for. A known name
contained in the unknown one is not suggested (a fork's ``ROIPooling`` is no misspelt ``Pooling``).
Only called on an error: :mod:`difflib` is imported then, so ``inspect`` stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from caffe2keras.frontend.fasttext import comment_start


def _known() -> dict[str, str]:
    """Lower-cased spelling -> the V2 type string it names."""
    from caffe2keras._proto import caffe_pb2
    from caffe2keras.frontend.params import registered_types
    from caffe2keras.frontend.v1types import v1_type_name
    from caffe2keras.ir.shapes import shape_types

    known = {t.lower(): t for t in sorted(registered_types() | shape_types())}
    enum = caffe_pb2.V1LayerParameter.LayerType
    for name, number in enum.items():
        v2 = v1_type_name(number)
        if v2:
            known.setdefault(name.lower(), v2)
            known.setdefault(name.lower().replace("_", ""), v2)
    return known


def nearest_types(unknown: str, limit: int = 1) -> list[str]:
    """The known V2 type names closest to ``unknown`` (case-insensitive), best first."""
    import difflib  # only when explaining an error

    known = _known()
    key = unknown.lower()
    if key in known:  # a case slip or a V1 enum name used as a V2 type string
        return [known[key]]
    close = difflib.get_close_matches(key, sorted(known), n=limit * 3, cutoff=0.8)
    found: list[str] = []
    for spelling in close:
        # a known name inside the unknown one is another type, not a typo: ROIPooling is not a
        # misspelt Pooling, nor DeformableConvolution a Convolution
        if spelling in key:
            continue
        if known[spelling] not in found:
            found.append(known[spelling])
    return found[:limit]


def suggestions(types: Iterable[str]) -> dict[str, str]:
    """Per unknown type, "did you mean 'X'?" (or "'X' or 'Y'"), for types that have one."""
    out = {}
    for ltype in types:
        near = nearest_types(ltype)
        if near:
            out[ltype] = "did you mean " + " or ".join(f"'{t}'" for t in near) + "?"
    return out


def type_lines(text: str, types: Iterable[str]) -> Mapping[str, tuple[int, ...]]:
    """Per type, the 1-based prototxt lines of its ``type: "..."`` fields (outside comments)."""
    wanted = set(types)
    if not wanted:
        return {}
    pattern = re.compile(r"\btype\s*:\s*\"?([A-Za-z0-9_.]+)\"?")
    found: dict[str, list[int]] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        end = comment_start(line)
        code = line if end is None else line[:end]
        for match in pattern.finditer(code):
            if match.group(1) in wanted:
                found.setdefault(match.group(1), []).append(number)
    return {t: tuple(lines) for t, lines in found.items()}
