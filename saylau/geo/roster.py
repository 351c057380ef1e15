"""The observer roster: who observes where, with their personal data kept apart.

An observer's name and phone are personal data. They live only in `Roster.private`
(stored as `contacts.csv`, readable by its owner only) and never in `Roster.public`,
events, exports, logs or error messages: problems name the line and the observer_id,
never the value that was wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from saylau.geo.files import staged
from saylau.geo.rows import Rows, no_problems, problems, read_csv_rows, repeats

ROSTER_COLUMNS = ["observer_id", "name", "phone", "home_region", "organisation",
                  "assigned_station"]
PUBLIC_COLUMNS = ["observer_id", "home_region", "organisation", "assigned_station"]
PRIVATE_COLUMNS = ["observer_id", "name", "phone"]
REQUIRED_COLUMNS = ["observer_id", "name", "phone", "home_region"]
PUBLIC_FILE = "observers.csv"
PRIVATE_FILE = "contacts.csv"
PRIVATE_MODE = 0o600
# International format allows 7 to 15 digits; people write spaces, dashes and brackets.
PHONE_PATTERN = re.compile(r"\+?[0-9 ()\-]+")
PHONE_DIGITS = (7, 15)
SHOWN_ID_CHARS = 40


@dataclass(frozen=True, eq=False)
class Roster:
    """Observers: `public` (observer_id, home_region, organisation, assigned_station) and
    `private` (observer_id, name, phone), one row per observer in the same order."""

    public: pd.DataFrame
    private: pd.DataFrame = field(repr=False)

    def __len__(self) -> int:
        return len(self.public)

    def __repr__(self) -> str:  # a roster printed by accident must not show names
        return f"Roster({len(self)} observers)"


@dataclass(frozen=True, eq=False)
class RosterCheck:
    roster: Roster  # the valid rows
    problems: pd.DataFrame
    unit: str
    rejected: int

    @property
    def ok(self) -> bool:
        return self.problems.empty

    def messages(self) -> list[str]:
        return [f"{self.unit} {number}: {name}: {problem}" for number, name, problem in zip(
            self.problems["number"], self.problems["field"], self.problems["problem"],
            strict=True)]


class RosterError(ValueError):
    """A roster file with problems; the message lists them without personal data."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("the roster has problems:\n" + "\n".join(messages))
        self.messages = messages


def load_roster(path: str | Path, region_codes: set[str] | None = None,
                station_ids: set[str] | None = None) -> Roster:
    """The roster in a CSV file, split into public and private parts; RosterError if
    any row has a problem."""
    check = check_roster_file(path, region_codes, station_ids)
    if not check.ok:
        raise RosterError(check.messages())
    return check.roster


def check_roster_file(path: str | Path, region_codes: set[str] | None = None,
                      station_ids: set[str] | None = None) -> RosterCheck:
    return check_roster_rows(read_csv_rows(path), region_codes, station_ids)


def check_roster_rows(rows: Rows, region_codes: set[str] | None = None,
                      station_ids: set[str] | None = None) -> RosterCheck:
    """Check every row; `region_codes`/`station_ids` None skips that reference check."""
    if (rows.problems["row"] < 0).any():
        return _outcome(rows, rows.problems)
    absent = [column for column in REQUIRED_COLUMNS if column not in rows.frame.columns]
    if absent:
        return _outcome(rows, problems([1] * len(absent), "header",
                                       [f"missing column {column!r}" for column in absent]))
    frame = rows.frame.assign(**{column: "" for column in ROSTER_COLUMNS
                                 if column not in rows.frame.columns})
    usable = ~rows.broken
    ids = " (observer " + frame["observer_id"].str.slice(0, SHOWN_ID_CHARS) + ")"
    ids = ids.where(frame["observer_id"] != "", "")
    found = pd.concat([
        rows.problems,
        *[_where(usable & (frame[column] == "").to_numpy(), rows, column, "missing", ids)
          for column in REQUIRED_COLUMNS],
        _duplicate_ids(frame["observer_id"], rows, usable, ids),
        _where(usable & _bad_phone(frame["phone"]), rows, "phone", "not a phone number", ids),
        _unknown(frame["home_region"], region_codes, rows, usable, ids, "unknown region"),
        _unknown(frame["assigned_station"], station_ids, rows, usable, ids, "unknown station"),
    ])
    return _outcome(rows, found, frame)


def _where(mask: npt.NDArray[np.bool_], rows: Rows, column: str, text: str | pd.Series,
           ids: pd.Series) -> pd.DataFrame:
    positions = np.flatnonzero(mask)
    message = (text if isinstance(text, str) else text[mask]) + ids[mask]
    return problems(rows.numbers[positions], column, message.to_numpy(), positions)


def _duplicate_ids(observer_ids: pd.Series, rows: Rows, usable: npt.NDArray[np.bool_],
                   ids: pd.Series) -> pd.DataFrame:
    repeated, earlier = repeats(observer_ids, rows.numbers,
                                usable & (observer_ids != "").to_numpy())
    texts = pd.Series([f"duplicate of the observer on {rows.unit} {number}"
                       for number in earlier], index=observer_ids.index[repeated], dtype=object)
    return _where(repeated, rows, "observer_id", texts.reindex(observer_ids.index), ids)


def _bad_phone(phone: pd.Series) -> npt.NDArray[np.bool_]:
    present = (phone != "").to_numpy()
    shaped = phone.str.fullmatch(PHONE_PATTERN.pattern).to_numpy(dtype=bool, na_value=False)
    digits = phone.str.count(r"[0-9]").to_numpy()
    low, high = PHONE_DIGITS
    return present & ~(shaped & (digits >= low) & (digits <= high))


def _unknown(values: pd.Series, known: set[str] | None, rows: Rows,
             usable: npt.NDArray[np.bool_], ids: pd.Series, text: str) -> pd.DataFrame:
    if known is None:
        return no_problems()
    # Region codes and station ids are public reference data: safe to quote.
    unknown = usable & (values != "").to_numpy() & ~values.isin(known).to_numpy()
    quoted = text + " '" + values.str.slice(0, SHOWN_ID_CHARS) + "'"
    return _where(unknown, rows, str(values.name), quoted, ids)


def _outcome(rows: Rows, found: pd.DataFrame, frame: pd.DataFrame | None = None) -> RosterCheck:
    found = found.sort_values("number", kind="stable", ignore_index=True)
    if frame is None:  # a problem with the whole file: no row is valid
        return RosterCheck(split_roster(_empty()), found, rows.unit, len(rows.frame))
    invalid = np.zeros(len(frame), dtype=bool)
    invalid[found.loc[found["row"] >= 0, "row"].to_numpy()] = True
    return RosterCheck(split_roster(frame[~invalid]), found, rows.unit, int(invalid.sum()))


def _empty() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in ROSTER_COLUMNS})


def split_roster(frame: pd.DataFrame) -> Roster:
    """Split a frame with ROSTER_COLUMNS into the public and the private part."""
    frame = frame.reset_index(drop=True)
    return Roster(frame[PUBLIC_COLUMNS].copy(), frame[PRIVATE_COLUMNS].copy())


def save_roster(roster: Roster, folder: str | Path) -> None:
    """Store both parts in `folder`; the private one readable by its owner only."""
    folder = Path(folder)
    with staged([folder / PUBLIC_FILE, folder / PRIVATE_FILE], [None, PRIVATE_MODE]) as (
        public, private
    ):
        roster.public.to_csv(public, index=False)
        roster.private.to_csv(private, index=False)


def load_saved_roster(folder: str | Path) -> Roster:
    folder = Path(folder)
    read = {"dtype": str, "keep_default_na": False}
    public = pd.read_csv(folder / PUBLIC_FILE, **read)  # type: ignore[call-overload]
    private = pd.read_csv(folder / PRIVATE_FILE, **read)  # type: ignore[call-overload]
    return Roster(public[PUBLIC_COLUMNS], private[PRIVATE_COLUMNS])


ORGANISATIONS = ("Saylau Observers", "Independent Observers Network", "Youth Election Watch")


def synthetic_roster(stations: pd.DataFrame, n_observers: int, seed: int = 7) -> Roster:
    """Made-up observers spread evenly over the stations, for demos and load tests.

    Names and phones are obviously fake (`Observer 000123`, +7 700 …) so they can never be
    mistaken for someone's data.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(stations))
    assigned = stations.iloc[np.resize(order, n_observers)]
    numbers = pd.Series(np.arange(1, n_observers + 1)).astype(str).str.zfill(6)
    phone_tail = pd.Series(rng.integers(0, 10_000_000, n_observers)).astype(str).str.zfill(7)
    frame = pd.DataFrame({
        "observer_id": ("obs-" + numbers).to_numpy(),
        "name": ("Observer " + numbers).to_numpy(),
        "phone": ("+7 700 " + phone_tail).to_numpy(),
        "home_region": assigned["region_code"].to_numpy(),
        "organisation": np.asarray(ORGANISATIONS, dtype=object)[rng.integers(0, 3, n_observers)],
        "assigned_station": assigned["station_id"].to_numpy(),
    })
    return split_roster(frame)
