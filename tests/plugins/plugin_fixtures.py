"""A fixture that gives each test its own copy of the four layer registries and of the plugin
bookkeeping, so that plugins one test loads are gone in the next."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from caffe2keras import plugins
from caffe2keras.frontend.params import registry as params
from caffe2keras.ir.shapes import registry as shapes
from caffe2keras.keras_model import registry as builders
from caffe2keras.reference import registry as references

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "plugins" / "reverse.py"


@pytest.fixture
def isolated_registries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    builders.load_families()  # the built-ins register into the real registries, before the copies
    references.load()
    for module, name in (
        (params, "_PARSERS"),
        (shapes, "_RULES"),
        (builders, "_BUILDERS"),
        (references, "_OPS"),
        (plugins, "_TYPES"),
        (plugins, "_LOADED"),
    ):
        monkeypatch.setattr(module, name, dict(getattr(module, name)))
    monkeypatch.setattr(plugins, "_PENDING", [])
    monkeypatch.setattr(plugins, "_LOADING", [])
    yield
