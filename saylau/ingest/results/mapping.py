"""The mapping from a publication's own column headers to Saylau's fields.

A mapping names, for each field, the headers that mean it (a commission writes the same
column in Kazakh, in Russian, or both, from one year to the next). Headers are compared
after :func:`normalise_header`, so case, quotes, ё/е, line breaks and spaces do not matter.
The default (``default_mapping.json`` beside this module) holds CEC-style headers; a mapping
file (TOML or JSON, the same shape) replaces the headers of the fields it names and keeps
the default's for the others. See docs/results-import.md.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saylau.core.i18n import N_
from saylau.ingest.results.problems import Problem

DEFAULT_MAPPING_PATH = Path(__file__).with_name("default_mapping.json")
COUNT_FIELDS = ("registered", "ballots_received", "ballots_issued", "ballots_cast", "invalid")
STATION = "station_id"
DISTRICT = "district"  # optional: only names a district total row
COLUMN_FIELDS = (STATION, DISTRICT, *COUNT_FIELDS)
REQUIRED_FIELDS = (STATION, *COUNT_FIELDS)

NO_OPTION_HEADER = N_("the mapping has no header for the ballot option {option}")
NOT_ON_BALLOT = N_("the mapping names the option {option}, which is not on the ballot")

_QUOTES = re.compile("[«»\"“”„‟'’`]")
_SPACES = re.compile(r"\s+")


class MappingError(ValueError):
    """A mapping file that cannot be used; the message says why (no header is echoed)."""


@dataclass(frozen=True)
class Target:
    """What a column holds: a field (``kind == "column"``) or a ballot option's votes."""

    kind: str  # "column" or "vote"
    name: str


@dataclass(frozen=True)
class ResultsMapping:
    columns: dict[str, tuple[str, ...]]  # field -> its headers
    votes: dict[str, tuple[str, ...]]  # ballot option -> its headers
    totals: tuple[str, ...]  # the words that open a total row ("Итого", "Барлығы")

    def targets(self) -> dict[str, Target]:
        """Normalised header -> what it names."""
        found: dict[str, Target] = {}
        for kind, table in (("column", self.columns), ("vote", self.votes)):
            for name, headers in table.items():
                for header in headers:
                    found[normalise_header(header)] = Target(kind, name)
        return found

    def total_words(self) -> frozenset[str]:
        return frozenset(normalise_header(word) for word in self.totals)

    def check_ballot(self, options: Iterable[str]) -> list[Problem]:
        """Why this mapping does not fit the ballot, if it does not: every ballot option
        needs a header, and no header may name anything else."""
        options = set(options)
        problems = [Problem("", 0, "", NO_OPTION_HEADER, {"option": option})
                    for option in sorted(options - set(self.votes))]
        problems += [Problem("", 0, "", NOT_ON_BALLOT, {"option": option})
                     for option in sorted(set(self.votes) - options)]
        return problems


def normalise_header(text: object) -> str:
    """A header as compared: case-folded, ё as е, no quotes, single spaces, no trailing
    colon, asterisk or full stop (footnote marks)."""
    value = _QUOTES.sub("", str(text if text is not None else "")).casefold()
    value = value.replace("ё", "е")
    return _SPACES.sub(" ", value).strip().rstrip(":*.").strip()


def default_mapping() -> ResultsMapping:
    return _mapping_from(_read(DEFAULT_MAPPING_PATH), None)


def load_mapping(path: Path | None) -> ResultsMapping:
    """The default mapping, with the fields a mapping file names replaced by the file's."""
    base = default_mapping()
    if path is None:
        return base
    return _mapping_from(_read(path), base)


def _read(path: Path) -> dict[str, Any]:
    try:
        if path.suffix.lower() == ".toml":
            with path.open("rb") as source:
                data = tomllib.load(source)
        else:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as error:
        raise MappingError(f"cannot read the mapping file: {error.__class__.__name__}") from error
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise MappingError(f"the mapping file is not valid TOML or JSON: {error}") from error
    if not isinstance(data, dict):
        raise MappingError("the mapping file must hold a table (columns, votes, totals)")
    return data


def _mapping_from(data: Mapping[str, Any], base: ResultsMapping | None) -> ResultsMapping:
    unknown = sorted(set(data) - {"columns", "votes", "totals", "_comment"})
    if unknown:
        raise MappingError(f"unknown section(s) in the mapping file: {', '.join(unknown)}")
    columns = _headers_table(data.get("columns", {}), "columns")
    bad = sorted(set(columns) - set(COLUMN_FIELDS))
    if bad:
        raise MappingError(f"unknown field(s) in [columns]: {', '.join(bad)}; the fields are "
                           f"{', '.join(COLUMN_FIELDS)}")
    votes = _headers_table(data.get("votes", {}), "votes")
    totals = _headers(data["totals"], "totals") if "totals" in data else None
    if base is not None:
        columns = {**base.columns, **columns}
        votes = {**base.votes, **votes}
        totals = base.totals if totals is None else totals
    mapping = ResultsMapping(columns, votes, totals or ())
    _check_unambiguous(mapping)
    return mapping


def _headers_table(section: object, name: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(section, dict):
        raise MappingError(f"[{name}] must map each field to a header or a list of headers")
    return {str(field): _headers(value, f"{name}.{field}") for field, value in section.items()}


def _headers(value: object, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(
            isinstance(item, str) and normalise_header(item) for item in items):
        raise MappingError(f"{where} must be a header or a list of non-empty headers")
    return tuple(items)


def _check_unambiguous(mapping: ResultsMapping) -> None:
    seen: dict[str, str] = {}
    for kind, table in (("columns", mapping.columns), ("votes", mapping.votes)):
        for name, headers in table.items():
            for header in headers:
                key = normalise_header(header)
                where = f"{kind}.{name}"
                if seen.get(key, where) != where:
                    raise MappingError(f"one header names both {seen[key]} and {where}")
                seen[key] = where
