"""The README keeps up with the code: every setting and every command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from saylau.cli.main import build_parser
from saylau.core.settings import Settings

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme(name: str) -> None:
    assert f"`SAYLAU_{name.upper()}`" in README


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


@pytest.mark.parametrize("command", _subcommands())
def test_every_command_is_in_the_readme(command: str) -> None:
    assert re.search(rf"`saylau {command}\b", README)


@pytest.mark.parametrize("target", ["run", "test", "lint", "bench"])
def test_every_make_target_is_in_the_readme(target: str) -> None:
    assert f"make {target}" in README
