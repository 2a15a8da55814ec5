"""Mutators of prototxt text and caffemodel bytes, driven by a ``random.Random``.

Shared by the Hypothesis tests (which draw the Random) and ``benchmarks/fuzz.py``. Each mutator is
``(data, rng) -> data``; none of them needs to produce valid input.
"""

from __future__ import annotations

import random

from text_mutations import PROTOTXT_MUTATORS, Mutator, p_delete_layer, p_duplicate_layer
from wire_mutations import (
    CAFFEMODEL_MUTATORS,
    encode_varint,
    length_fields,
    m_delete_layer,
    m_duplicate_layer,
)

__all__ = [
    "CAFFEMODEL_MUTATORS",
    "PROTOTXT_MUTATORS",
    "Mutator",
    "encode_varint",
    "length_fields",
    "m_delete_layer",
    "m_duplicate_layer",
    "mutate",
    "p_delete_layer",
    "p_duplicate_layer",
]


def mutate(data: bytes, rng: random.Random, mutators: tuple[Mutator, ...], rounds: int) -> bytes:
    """Apply ``rounds`` randomly chosen mutators in sequence."""
    for _ in range(rounds):
        data = rng.choice(mutators)(data, rng)
    return data
