"""The bundle's numbers, from one snapshot: pure functions, DataFrames in and out.

Regions come from ``saylau.dashboard.figures.region_summary`` (the wall screen's own table), so
the bundle and the dashboard agree on every turnout and coverage figure; the national
figures are sums of the same station rows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from saylau.geo.density import incidents_per_region
from saylau.warehouse.state import COVERAGE_STATES, headline, region_summary, turnout_percent

INCIDENT_STATUSES = ("verified", "unverified", "rejected", "duplicate")
REGION_COLUMNS = ["region_code", "region_name", "stations", "registered", "ballots",
                  "turnout_pct", "ballots_official", "turnout_official_pct", "covered",
                  "coverage_pct", *[f"coverage_{state}" for state in COVERAGE_STATES],
                  "incidents", "incidents_verified", "incidents_per_10k_voters", "alerts"]


def percent(part: pd.Series, whole: pd.Series) -> pd.Series:
    """Part of whole in percent, rounded to 0.1 (0.0 where whole is 0)."""
    return turnout_percent(part, whole)


def region_table(state: pd.DataFrame, incidents: pd.DataFrame, alerts: pd.DataFrame,
                 region_names: dict[str, str]) -> pd.DataFrame:
    """One row per region (REGION_COLUMNS), sorted by region code."""
    table = region_summary(state, region_names).set_index("region_code")
    grouped = state.groupby("region_code")
    table["ballots_official"] = grouped["ballots_official"].sum()
    table["turnout_official_pct"] = percent(table["ballots_official"], table["registered"])
    table["coverage_pct"] = percent(table["covered"], table["stations"])
    states = pd.crosstab(state["region_code"], state["coverage"])
    for name in COVERAGE_STATES:
        column = states[name] if name in states else 0
        table[f"coverage_{name}"] = pd.Series(column, index=table.index).fillna(0)
    per_region = incidents_per_region(incidents, state)
    table["incidents"] = per_region["incidents"]
    table["incidents_verified"] = incidents_per_region(
        incidents[incidents["status"] == "verified"], state)["incidents"]
    table["incidents_per_10k_voters"] = per_region["per_10k_voters"].fillna(0.0).round(2)
    table["alerts"] = alerts["region_code"].value_counts()
    table = table.fillna({"alerts": 0}).reset_index()
    ints = [c for c in REGION_COLUMNS if c not in ("region_code", "region_name") and
            not c.endswith("_pct") and c != "incidents_per_10k_voters"]
    table[ints] = table[ints].astype("int64")
    return table[REGION_COLUMNS].sort_values("region_code", ignore_index=True)


def national_figures(state: pd.DataFrame, regions: pd.DataFrame) -> dict[str, Any]:
    """The country: the same station rows as the regions, summed."""
    numbers = headline(state)
    official = int(state["ballots_official"].sum())
    coverage = state["coverage"].value_counts()
    return {
        "stations": numbers.stations, "registered": numbers.registered,
        "ballots": numbers.ballots, "turnout_pct": numbers.turnout_pct,
        "ballots_official": official,
        "turnout_official_pct": _one_percent(official, numbers.registered),
        "covered": numbers.covered,
        "coverage_pct": _one_percent(numbers.covered, numbers.stations),
        "coverage": {name: int(coverage.get(name, 0)) for name in COVERAGE_STATES},
        "incidents": int(regions["incidents"].sum()),
        "alerts": int(regions["alerts"].sum()),
    }


def _one_percent(part: int, whole: int) -> float:
    return float(percent(pd.Series([part]), pd.Series([whole]))[0])


def incident_counts(incidents: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per category: incidents by verification status, and their total."""
    counts: dict[str, dict[str, int]] = {}
    for category, group in incidents.groupby("category", sort=True):
        statuses = group["status"].value_counts()
        counts[str(category)] = {**{status: int(statuses.get(status, 0))
                                    for status in INCIDENT_STATUSES}, "total": len(group)}
    return counts


def incident_status_totals(incidents: pd.DataFrame) -> dict[str, int]:
    statuses = incidents["status"].value_counts()
    return {status: int(statuses.get(status, 0)) for status in INCIDENT_STATUSES}


def alert_counts(alerts: pd.DataFrame) -> dict[str, int]:
    """Alerts holding at as-of, by kind. Which stations they are about is not published:
    a list of unwatched or troubled stations would tell the wrong people where to act."""
    return {str(kind): int(n) for kind, n in alerts["kind"].value_counts().sort_index().items()}
