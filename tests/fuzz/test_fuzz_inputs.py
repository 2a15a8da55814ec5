"""Hypothesis fuzzing of ``convert``: mutated prototxt text and caffemodel bytes (truncation, bit
flips, corrupted length fields, duplicated/missing/swapped layers, changed numbers, names, enums
and params) must end in exit 0-4 with our own message, never exit 70 or a traceback, and leave
no file behind. A modest, derandomized example count keeps CI fast; ``benchmarks/fuzz.py`` runs
10,000+ cases. Most cases fail before anything is built; the rest convert small nets unverified.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import keras  # noqa: F401  (TensorFlow raises the recursion limit on import: before Hypothesis runs)
from harness import Outcome, run_convert
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutations import (
    CAFFEMODEL_MUTATORS,
    PROTOTXT_MUTATORS,
    encode_varint,
    length_fields,
    m_delete_layer,
    m_duplicate_layer,
    mutate,
    p_delete_layer,
    p_duplicate_layer,
)
from seeds import seed_nets

FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SEEDS = st.sampled_from(range(len(seed_nets())))


def check(prototxt: bytes, caffemodel: bytes, suffix: str = ".h5") -> Outcome:
    with tempfile.TemporaryDirectory(prefix="c2k-fuzz-") as folder:
        outcome = run_convert(Path(folder) / "case", prototxt, caffemodel, suffix=suffix)
    assert outcome.ours, f"exit {outcome.exit_code} ({outcome.kind}):\n{outcome.message}"
    assert not outcome.leftovers, outcome.leftovers
    return outcome


@FUZZ
@given(seed=SEEDS, rng=st.randoms(use_true_random=False), rounds=st.integers(1, 3))
def test_mutated_prototxt(seed: int, rng: random.Random, rounds: int) -> None:
    _, proto, model = seed_nets()[seed]
    check(mutate(proto, rng, PROTOTXT_MUTATORS, rounds), model)


@FUZZ
@given(seed=SEEDS, rng=st.randoms(use_true_random=False), rounds=st.integers(1, 3))
def test_mutated_caffemodel(seed: int, rng: random.Random, rounds: int) -> None:
    _, proto, model = seed_nets()[seed]
    suffix = rng.choice([".h5", ".keras", ".weights.h5"])
    check(proto, mutate(model, rng, CAFFEMODEL_MUTATORS, rounds), suffix)


@FUZZ
@given(seed=SEEDS, fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_caffemodel(seed: int, fraction: float) -> None:
    _, proto, model = seed_nets()[seed]
    outcome = check(proto, model[: int(len(model) * fraction)])
    assert outcome.exit_code == 3 and "caffemodel" in outcome.message


@FUZZ
@given(seed=SEEDS, flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)),
                                  min_size=1, max_size=8))  # fmt: skip
def test_bit_flipped_caffemodel(seed: int, flips: list[tuple[float, int]]) -> None:
    _, proto, model = seed_nets()[seed]
    data = bytearray(model)
    for where, bit in flips:
        data[int(where * len(data))] ^= 1 << bit
    check(proto, bytes(data))


@FUZZ
@given(seed=SEEDS, which=st.floats(0, 1, exclude_max=True),
       length=st.one_of(st.integers(0, 64), st.integers(0, 2**64 - 1)))  # fmt: skip
def test_corrupted_length_field(seed: int, which: float, length: int) -> None:
    _, proto, model = seed_nets()[seed]
    fields = length_fields(model)
    a, b, _, _, _ = fields[int(which * len(fields))]
    check(proto, model[:a] + encode_varint(length) + model[b:])


@FUZZ
@given(seed=SEEDS, rng=st.randoms(use_true_random=False), where=st.sampled_from(["proto", "model"]),
       duplicate=st.booleans())  # fmt: skip
def test_duplicated_or_missing_layers(
    seed: int, rng: random.Random, where: str, duplicate: bool
) -> None:
    _, proto, model = seed_nets()[seed]
    if where == "proto":
        proto = (p_duplicate_layer if duplicate else p_delete_layer)(proto, rng)
    else:
        model = (m_duplicate_layer if duplicate else m_delete_layer)(model, rng)
    check(proto, model)


def test_seeds_convert_cleanly() -> None:
    for _, proto, model in seed_nets():
        assert check(proto, model).exit_code == 0
