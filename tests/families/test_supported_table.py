"""The README's supported-layers table is the one the registries generate."""

from __future__ import annotations

from pathlib import Path

from caffe2keras.inspection import supported
from caffe2keras.keras_model.registry import builder_types

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_table_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.count(supported.START) == 1 and text.count(supported.END) == 1
    copy = text[text.index(supported.START) : text.index(supported.END) + len(supported.END)]
    assert copy == supported.table(), (
        "README.md's supported-layers table is stale: run "
        "python -m caffe2keras.inspection.supported --write README.md"
    )


def test_the_table_is_one_table_naming_every_built_in_type() -> None:
    lines = supported.table().splitlines()[1:-1]
    assert all(line.startswith("|") for line in lines)  # no blank line splits it
    listed = {t.strip() for line in lines[2:] for t in line.split("|")[1].split(",")}
    assert builder_types() <= listed
    assert {"Convolution", "Split", "Input", "Data"} <= listed


def test_replace_in_rewrites_only_the_marked_part() -> None:
    stale = f"before\n{supported.START}\n| old |\n{supported.END}\nafter\n"
    assert supported.replace_in(stale) == f"before\n{supported.table()}\nafter\n"
