"""Every test folder is collected: pytest skips folders matching ``norecursedirs`` (its default
includes ``build``), and ``tests/build`` went unrun in full-suite runs that way until renamed."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]


def test_no_test_folder_matches_norecursedirs(pytestconfig: pytest.Config) -> None:
    patterns = pytestconfig.getini("norecursedirs")
    folders = [p for p in TESTS.rglob("*") if p.is_dir() and "__pycache__" not in p.parts]
    hidden = [
        str(f.relative_to(TESTS))
        for f in folders
        if any(fnmatch.fnmatch(f.name, pat) for pat in patterns) and any(f.rglob("test_*.py"))
    ]
    assert not hidden, f"test folders pytest would never collect: {hidden}"
