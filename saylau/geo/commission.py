"""Commission members of polling stations: parsing, storing, and the public JSON form.

Members are public information (the movement demands that the lists be published), so
their names may appear in exports, unlike observers' names. In an import file they sit
in a `commission` column (CSV) or property (GeoJSON) holding a JSON list of
`{"name": …, "role": …, "party": …}`; `party` may be empty for a self-nominated member.
Stored, they are a long table beside the registry: `commission.csv`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from saylau.geo.files import write_atomically
from saylau.geo.rows import no_problems, problems

COMMISSION_COLUMNS = ["station_id", "name", "role", "party"]
MEMBER_FIELDS = ("name", "role", "party")
COMMISSION_FILE = "commission.csv"


def commission_path(registry_path: str | Path) -> Path:
    """Where the members of the registry at `registry_path` are kept."""
    return Path(registry_path).with_name(COMMISSION_FILE)


def empty_commission() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in COMMISSION_COLUMNS})


def parse_commission(
    cells: pd.Series, station_ids: pd.Series, numbers: npt.NDArray[np.int64]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Members from JSON cells, with a `row` column; and the problems, one per bad cell.

    Only non-empty cells are parsed (one json.loads each); most registries carry members
    for some stations only.
    """
    members: list[tuple[str, str, str, str, int]] = []
    bad_rows: list[int] = []
    texts: list[str] = []
    for row in np.flatnonzero(cells.to_numpy(dtype=object) != ""):
        parsed, problem = _members(cells.iat[row])
        if problem:
            bad_rows.append(int(row))
            texts.append(problem)
            continue
        station = str(station_ids.iat[row])
        members.extend((station, *member, int(row)) for member in parsed)
    frame = pd.DataFrame(members, columns=[*COMMISSION_COLUMNS, "row"]).astype(
        {column: object for column in COMMISSION_COLUMNS}
    )
    if not bad_rows:
        return frame, no_problems()
    return frame, problems(numbers[bad_rows], "commission", texts, bad_rows)


def _members(text: str) -> tuple[list[tuple[str, str, str]], str]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return [], "is not a JSON list of {name, role, party}"
    if not isinstance(value, list):
        return [], "is not a JSON list of {name, role, party}"
    members = []
    for number, item in enumerate(value, start=1):
        member, problem = _member(item)
        if problem:
            return [], f"member {number} {problem}"
        members.append(member)
    return members, ""


def _member(item: Any) -> tuple[tuple[str, str, str], str]:
    if not isinstance(item, dict):
        return ("", "", ""), "is not an object with name, role and party"
    values = {key: item.get(key) for key in MEMBER_FIELDS}
    if any(value is not None and not isinstance(value, str) for value in values.values()):
        return ("", "", ""), "has a name, role or party that is not text"
    name, role, party = ((values[key] or "").strip() for key in MEMBER_FIELDS)
    for key, value in (("name", name), ("role", role)):
        if not value:
            return ("", "", ""), f"has no {key}"
    return (name, role, party), ""


def commission_json(members: pd.DataFrame, station_ids: pd.Series) -> pd.Series:
    """Per station (aligned with `station_ids`), its members as a JSON list; "[]" if none."""
    lists = {
        station: json.dumps(group[list(MEMBER_FIELDS)].to_dict("records"), ensure_ascii=False)
        for station, group in members.groupby("station_id", sort=False)
    }
    return station_ids.map(lists).fillna("[]").astype(object)


def write_commission_csv(members: pd.DataFrame, path: str | Path) -> None:
    write_atomically(path, lambda temporary: members[COMMISSION_COLUMNS].to_csv(temporary,
                                                                                 index=False))


def read_commission_csv(path: str | Path) -> pd.DataFrame:
    """The stored members; none when the file does not exist (a registry without them)."""
    if not Path(path).exists():
        return empty_commission()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame[COMMISSION_COLUMNS].astype(object)
