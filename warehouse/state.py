"""The state of every station at one moment, assembled from the warehouse's answers.

The assembly is pure (DataFrames in, DataFrame out) so it is tested in memory; the
function at the bottom runs the queries, all as of the same moment of event time.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from warehouse import queries
from warehouse.client import Warehouse

COVERAGE_STATES = ("present", "en_route", "removed", "absent")


def turnout_percent(ballots: pd.Series, registered: pd.Series) -> pd.Series:
    """Turnout in percent, rounded to 0.1, the figure every page shows."""
    share = ballots.astype("float64") * 100.0 / registered.where(registered > 0)
    return share.fillna(0.0).round(1)


def coverage(present: pd.Series, removed: pd.Series, assigned_at: pd.Series,
             changed_at: pd.Series) -> pd.Series:
    """present > en route (assigned after the last check-in/out) > removed > absent."""
    assigned_after = assigned_at.notna() & (changed_at.isna() | (assigned_at > changed_at))
    state = pd.Series("absent", index=present.index, dtype="object")
    state[removed.astype(bool)] = "removed"
    state[assigned_after] = "en_route"
    state[present.astype(bool)] = "present"
    return state


def combine(stations: pd.DataFrame, turnout: pd.DataFrame, presence: pd.DataFrame,
            assignments: pd.DataFrame) -> pd.DataFrame:
    by_source = turnout.pivot_table(index="station_id", columns="source", values="ballots",
                                    aggfunc="max")
    state = stations.set_index("station_id")[["region_code", "lat", "lon",
                                              "registered_voters"]]
    state = state.assign(
        ballots=by_source.get("observer_count", pd.Series(dtype="int64")),
        ballots_official=by_source.get("official", pd.Series(dtype="int64")))
    state = state.join(presence.set_index("station_id")[["present", "removed", "changed_at"]])
    state = state.join(assignments.set_index("station_id")[["assigned_at"]])
    for column in ("ballots", "ballots_official", "present", "removed"):
        state[column] = state[column].fillna(0).astype("int64")
    state["coverage"] = coverage(state["present"], state["removed"], state["assigned_at"],
                                 state["changed_at"])
    state["covered"] = state["present"]
    return state.drop(columns=["changed_at", "assigned_at"]).reset_index()


def station_state(wh: Warehouse, as_of: dt.datetime | None = None) -> pd.DataFrame:
    """Every station as of ``as_of`` (default: everything received)."""
    return combine(queries.stations(wh), queries.station_turnout(wh, as_of),
                   queries.station_presence(wh, as_of), queries.station_assignments(wh, as_of))


def region_turnout(state: pd.DataFrame) -> pd.DataFrame:
    grouped = state.groupby("region_code", as_index=False).agg(
        stations=("station_id", "count"), registered=("registered_voters", "sum"),
        ballots=("ballots", "sum"), covered_stations=("covered", "sum"))
    grouped["turnout_pct"] = turnout_percent(grouped["ballots"], grouped["registered"])
    return grouped
