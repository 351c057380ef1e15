"""The documentation keeps up with the code and with itself.

Every setting is in docs/settings.md; every `saylau` subcommand and every documented make
target is in the README; every relative link between README.md, docs/*.md and
bench/RESULTS.md reaches a file (and a heading, for a `#anchor`); every file or folder of the
repository named in backticks exists; nothing in the repository points outside it; the README
stays short.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from saylau.cli.main import build_parser
from saylau.core.settings import Settings

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
SETTINGS_PAGE = ROOT / "docs" / "settings.md"
DOCS_INDEX = ROOT / "docs" / "README.md"
DOC_FILES = sorted([README, ROOT / "bench" / "RESULTS.md", *(ROOT / "docs").glob("*.md")])
README_MAX_LINES = 250
OUTSIDE = "../" + "shared"  # the text no file may hold (written so, this file does not either)

FENCE = re.compile(r"^```.*?^```[^\n]*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
REPO_PATH = re.compile(r"^(saylau|tests|bench|infra|docs)/[\w./-]*$")
FILE_ENDINGS = (".py", ".md", ".sql", ".json", ".yml", ".xml", ".sh", ".css", ".csv")


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _prose(path: Path) -> str:
    """The page without its fenced code blocks (examples, program output)."""
    return FENCE.sub("", _text(path))


# Settings, commands and make targets ------------------------------------------------------

@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_settings_page(name: str) -> None:
    assert f"`SAYLAU_{name.upper()}`" in _text(SETTINGS_PAGE)


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_has_a_row_of_the_settings_table(name: str) -> None:
    assert re.search(rf"^\| `SAYLAU_{name.upper()}` \|", _text(SETTINGS_PAGE), re.MULTILINE)


def test_the_settings_page_names_no_setting_the_code_lacks() -> None:
    documented = set(re.findall(r"^\| `SAYLAU_(\w+)` \|", _text(SETTINGS_PAGE), re.MULTILINE))
    assert documented - {name.upper() for name in Settings.model_fields} == set()


def _subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


@pytest.mark.parametrize("command", _subcommands())
def test_every_command_is_in_the_readme(command: str) -> None:
    assert re.search(rf"`saylau {command}\b", _text(README))


def _make_targets() -> list[str]:
    """The targets `make help` lists (those with a `## ` description), and the usual four."""
    makefile = _text(ROOT / "Makefile")
    described = re.findall(r"^([a-z][a-z-]*):.*## ", makefile, re.MULTILINE)
    return sorted({"run", "test", "lint", "bench", *described})


@pytest.mark.parametrize("target", _make_targets())
def test_every_make_target_is_in_the_readme(target: str) -> None:
    assert re.search(rf"make {re.escape(target)}\b", _text(README))


def test_the_readme_is_short() -> None:
    assert len(_text(README).splitlines()) < README_MAX_LINES


@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "docs").glob("*.md")
                                        if p != DOCS_INDEX))
def test_every_docs_page_is_linked_from_the_readme_and_the_index(page: str) -> None:
    assert f"(docs/{page})" in _text(README) or f"(docs/{page}#" in _text(README)
    assert f"({page})" in _text(DOCS_INDEX) or f"({page}#" in _text(DOCS_INDEX)


# Links and paths ---------------------------------------------------------------------------

@cache
def _repository_files() -> frozenset[str]:
    """Files of the repository: tracked, or new and not ignored (so a page not yet committed
    counts, a leftover empty folder or a cache does not)."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        capture_output=True, check=True).stdout.decode()
    return frozenset(name for name in listed.split("\0") if name and (ROOT / name).is_file())


def _exists(name: str) -> bool:
    files = _repository_files()
    if name.endswith("/"):
        return any(file.startswith(name) for file in files)
    return name in files or any(file.startswith(name + "/") for file in files)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@cache
def _anchors(name: str) -> frozenset[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for line in _prose(ROOT / name).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = github_slug(heading.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(anchors)


def _links() -> list[tuple[str, str]]:
    found = []
    for page in DOC_FILES:
        for target in LINK.findall(_prose(page)):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: …
                found.append((_name(page), target))
    return found


@pytest.mark.parametrize(("page", "target"), _links())
def test_every_link_resolves(page: str, target: str) -> None:
    path, _, anchor = target.partition("#")
    if path:
        name = (ROOT / page).parent.joinpath(path).resolve().relative_to(ROOT.resolve()).as_posix()
        assert _exists(name), f"{page}: {target} names no file of the repository"
    else:
        name = page
    if anchor:
        assert name.endswith(".md"), f"{page}: {target}: an anchor into a file that is not Markdown"
        assert anchor in _anchors(name), f"{page}: {target}: no such heading in {name}"


def _named_paths() -> list[tuple[str, str]]:
    found = []
    for page in DOC_FILES:
        for span in CODE_SPAN.findall(_prose(page)):
            for word in span.split():
                word = word.strip("'\",;:()")
                if REPO_PATH.match(word) and (word.endswith(FILE_ENDINGS) or word.endswith("/")):
                    found.append((_name(page), word))
    return sorted(set(found))


@pytest.mark.parametrize(("page", "path"), _named_paths())
def test_every_named_repository_path_exists(page: str, path: str) -> None:
    assert _exists(path), f"{page} names `{path}`, which the repository does not have"


def test_the_pages_name_repository_paths() -> None:
    """The path check above is not vacuous: the pages do name source files."""
    assert {path for _, path in _named_paths()} >= {"saylau/core/settings.py",
                                                     "saylau/warehouse/schema.sql"}


def test_nothing_in_the_repository_points_outside_it() -> None:
    this_file = _name(Path(__file__))
    pointing = [name for name in sorted(_repository_files()) if name != this_file
                and OUTSIDE.encode() in (ROOT / name).read_bytes()]
    assert pointing == []


def test_the_slug_of_a_heading_is_github_s() -> None:
    assert github_slug("Pipeline: `bench/pipeline.py`") == "pipeline-benchpipelinepy"
    assert github_slug("The event contract (version 1)") == "the-event-contract-version-1"
    assert github_slug("Worker A/B runs") == "worker-ab-runs"
    assert github_slug('The journal, and what "delivered" means') == \
        "the-journal-and-what-delivered-means"
