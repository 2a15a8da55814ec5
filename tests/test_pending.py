"""``tests/pending.py`` stays exact, and an expected refusal still catches what is not pending."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SHARED, shared_or_skip
from netfiles import input_layer, write_net
from pending import (
    PENDING_FIELDS,
    PENDING_TYPES,
    field_known,
    pending_in,
    pending_in_text,
    type_supported,
    without_pending_fields,
)
from refusals import check_load_refusal, check_parse_refusal


def _shared_pending() -> list:
    shared_or_skip()
    return [pending_in(p) for p in sorted(SHARED.rglob("*.prototxt"))]


@pytest.mark.parametrize("type_name", sorted(PENDING_TYPES))
def test_each_pending_type_is_still_missing_and_needed(type_name: str) -> None:
    issue = PENDING_TYPES[type_name]
    assert not type_supported(type_name), (
        f"{type_name} is supported now (issue {issue}): delete it from PENDING_TYPES in "
        "tests/pending.py"
    )
    assert any(type_name in p.types for p in _shared_pending()), (
        f"no ../shared case uses {type_name}: delete it from PENDING_TYPES"
    )


@pytest.mark.parametrize("field_name", sorted(PENDING_FIELDS))
def test_each_pending_field_is_still_missing_and_needed(field_name: str) -> None:
    issue = PENDING_FIELDS[field_name]
    assert not field_known(field_name), (
        f"proto/caffe.proto has {field_name} now (issue {issue}): delete it from PENDING_FIELDS "
        "in tests/pending.py"
    )
    assert any(field_name in p.fields for p in _shared_pending()), (
        f"no ../shared case uses {field_name}: delete it from PENDING_FIELDS"
    )


def test_the_expected_refusals_are_counted() -> None:
    """Issues 13 and 14 landed every type the ../shared cases needed, so none waits today; a case
    that needs a type no open issue lists is not an expected refusal (it fails its sweep), and
    the count of waiting cases never grows silently past what the tables name."""
    waiting = [p for p in _shared_pending() if p]
    assert len(waiting) <= 21
    assert {i for p in waiting for i in p.issues} <= set(PENDING_TYPES.values())


# A made-up fork type and parameter field, pending for the tests below: the real entries land
# one by one, and these checks must keep running when the tables are empty.
FAKE_TYPE, FAKE_FIELD = "Quux", "quux_param"
NET = input_layer((1, 3, 4, 4)) + (
    f'layer {{ name: "q" type: "{FAKE_TYPE}" bottom: "data" top: "n" {FAKE_FIELD} {{ a: 1 }} }}\n'
)


@pytest.fixture
def fake_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not type_supported(FAKE_TYPE) and not field_known(FAKE_FIELD)
    monkeypatch.setitem(PENDING_TYPES, FAKE_TYPE, 13)
    monkeypatch.setitem(PENDING_FIELDS, FAKE_FIELD, 13)


@pytest.mark.usefixtures("fake_pending")
def test_an_unknown_type_beside_a_pending_one_still_fails(tmp_path: Path) -> None:
    text = NET + 'layer { name: "f" type: "Frobnicate" bottom: "n" top: "f" }\n'
    stripped = without_pending_fields(text)
    proto, model = write_net(tmp_path, stripped)
    pending = pending_in_text(text)
    assert pending.types == {FAKE_TYPE: ("q",)} and pending.fields == {FAKE_FIELD: ("q",)}
    with pytest.raises(AssertionError):  # the refusal also names Frobnicate: not as expected
        check_load_refusal(proto, model, {}, pending)
    proto.write_text(without_pending_fields(NET))
    check_load_refusal(proto, model, {}, pending_in_text(NET))


@pytest.mark.usefixtures("fake_pending")
def test_a_typo_beside_a_pending_field_still_fails() -> None:
    from google.protobuf import text_format

    check_parse_refusal(NET, pending_in_text(NET))
    typo = NET + 'layer { name: "r" type: "ReLU" bottom: "n" top: "r" botom: "x" }\n'
    assert FAKE_FIELD not in without_pending_fields(typo)
    with pytest.raises(text_format.ParseError, match="botom"):  # blanking is not enough
        check_parse_refusal(typo, pending_in_text(typo))
