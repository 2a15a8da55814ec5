"""Help and README agree (issue 11, part 8): the exit codes in ``--help`` are the README's table
and the codes the CLI uses; every option of every command has help text; the README's
supported-layers table is one table and documents --noise-factor's formula."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from caffe2keras import errors
from caffe2keras.cli import exits, main

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n#", start + len(title))
    return README[start : end if end >= 0 else None]


def readme_exit_codes() -> set[int]:
    rows = re.findall(r"(?m)^\|\s*(\d+)\s*\|", _section("### Exit codes"))
    return {int(code) for code in rows}


def help_exit_codes() -> set[int]:
    text = " ".join((main.help or "").split())
    listed = re.search(r"Exit codes: (.*?)\.(\s|$)", text)
    assert listed is not None, text
    return {int(code) for code in re.findall(r"(?:^|, )(\d+) ", listed.group(1))}


def test_help_exit_codes_match_the_readme_table() -> None:
    assert help_exit_codes() == readme_exit_codes()


def test_exit_codes_the_cli_uses_are_documented() -> None:
    used = {
        errors.EXIT_OK,
        errors.EXIT_MISMATCH,
        errors.EXIT_USAGE,
        errors.EXIT_BAD_INPUT,
        errors.EXIT_UNSUPPORTED,
        exits.EXIT_INTERNAL,
        exits.EXIT_OUT_OF_MEMORY,
        130,  # exits._interrupted
    }
    assert used == help_exit_codes()
    assert "sys.exit(130)" in Path(exits.__file__).read_text()


def _commands() -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = [("caffe2keras", main)]
    found += [(f"caffe2keras {name}", cmd) for name, cmd in sorted(main.commands.items())]
    return found


@pytest.mark.parametrize(("name", "command"), _commands(), ids=lambda v: str(v))
def test_every_option_has_help_text(name: str, command: click.Command) -> None:
    ctx = click.Context(command, info_name=name)
    options = [p for p in command.get_params(ctx) if isinstance(p, click.Option)]
    assert options
    missing = [p.opts[-1] for p in options if not (p.help or "").strip()]
    assert not missing, f"{name}: options without help text: {missing}"


def test_every_command_is_covered() -> None:
    assert {"convert", "verify", "inspect", "convert-all"} <= set(main.commands)


def test_supported_layers_table_is_one_table() -> None:
    section = _section("## Supported layers")
    lines = section.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = first
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    table = lines[first:end]
    assert all(line.startswith("|") for line in table)
    after = [line for line in lines[end:] if line.startswith("|")]
    assert not after, f"a second table follows the first: {after[:2]}"
    for layer_type in ("Convolution", "PReLU", "ArgMax", "Custom types"):
        assert any(layer_type in row for row in table), layer_type


def test_noise_factor_and_its_formula_are_in_the_readme() -> None:
    assert "--noise-factor" in README
    formula = "max|keras - ref| <= atol + max(rtol, noise_factor * noise) * max|ref|"
    assert formula in README
