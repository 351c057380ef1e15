"""The post-election analysis as named tables, from a warehouse: for the dashboard's
``/analysis`` page and the media exports after the polls close.

The one module of ``analysis/`` that reads the warehouse (through ``saylau.warehouse.queries``);
everything it computes is done by the pure functions of ``estimates`` and ``forensics``.
Every table is a plain DataFrame (no dicts in cells), so it can be written as CSV as it is.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from saylau.analysis.estimates import (
    COUNT_COLUMNS,
    counted_share_table,
    counted_turnout_table,
    share_table,
    stratified_share_table,
    tally_from_exitpolls,
    tally_from_protocols,
    turnout_table,
)
from saylau.analysis.forensics import (
    integer_test,
    protocol_discrepancies,
    round_flags,
    shpilkin,
    station_results,
    turnout_share_histogram,
)
from saylau.analysis.suspicion import (
    DEFAULT_THRESHOLD,
    REASON_COLUMNS,
    all_reasons,
    suspicion_scores,
)
from saylau.warehouse import queries

if TYPE_CHECKING:
    import datetime as dt

    from saylau.core.election import Election
    from saylau.warehouse.client import Warehouse

ESTIMATE_COLUMNS = ["source", "scope", "quantity", "estimate", "se", "margin_95", "low_95",
                    "high_95", "margin_99", "low_99", "high_99", "stations", "population"]
OFFICIAL, OBSERVER_COPY, EXIT_POLL = "official", "observer_copy", "exitpoll"  # sources
SEED = 2026  # bootstrap and null replicates are seeded: the same warehouse, the same tables


def analysis_tables(warehouse: Warehouse, election: Election | None = None,
                    as_of: dt.datetime | None = None,
                    threshold: float = DEFAULT_THRESHOLD) -> dict[str, pd.DataFrame]:
    """Every analysis table of the day (as of ``as_of``, default: everything received).

    - ``estimates``: shares (each ballot option, ``against_all`` included) and turnout with
      95 % and 99 % margins, nationally and per region, from observer protocol copies
      (``source`` = ``observer_copy``) and from exit polls (``exitpoll``);
    - ``official_results``: each option's share and turnout as the official protocols count
      them (no margin: every station that reported is counted), nationally and per region;
    - ``estimates_stratified``: national shares, strata = regions, bootstrap SE;
    - ``turnout_share_histogram``: stations per 1 % cell of turnout × leader share;
    - ``integer_test``: whole-number percentages observed against the binomial null;
    - ``round_stations``: stations whose turnout and leader share are both round (5 %);
    - ``shpilkin_bins`` and ``shpilkin_summary``: excess votes for the leader;
    - ``discrepancies``: stations whose official protocol differs from the observer copy;
    - ``suspicious_stations`` and ``suspicion_reasons``: stations whose suspicion score
      (``suspicion.py``) reaches ``threshold``, with their official turnout and leader share,
      and every reason of each (station-level figures, no observer's identity).
    """
    protocols = queries.latest_protocols(warehouse, as_of)
    registry = queries.stations(warehouse)
    population = registry["region_code"].value_counts().to_dict()
    tables = {"estimates": _estimates(protocols, queries.exitpoll_tallies(warehouse, as_of),
                                      population),
              "official_results": _official(protocols, population),
              "estimates_stratified": _stratified(protocols, population)}
    tables.update(_forensics(protocols[protocols["source"] == OFFICIAL]))
    tables["discrepancies"] = _discrepancies(protocols)
    tables.update(_suspicion(warehouse, protocols, registry, as_of, threshold))
    if election is not None:
        _in_ballot_order(tables, list(election.options))
    return tables


def _estimates(protocols: pd.DataFrame, exitpolls: pd.DataFrame,
               population: dict[str, int]) -> pd.DataFrame:
    parts = []
    copies = protocols[protocols["source"] == OBSERVER_COPY]
    if len(copies):
        parts.append(share_table(tally_from_protocols(copies), population)
                     .assign(source=OBSERVER_COPY))
        parts.append(turnout_table(copies, population).assign(source=OBSERVER_COPY))
    tally = tally_from_exitpolls(exitpolls)
    if len(tally):
        parts.append(share_table(tally, population).assign(source=EXIT_POLL))
    if not parts:
        return pd.DataFrame(columns=ESTIMATE_COLUMNS)
    return pd.concat(parts, ignore_index=True)[ESTIMATE_COLUMNS]


def _official(protocols: pd.DataFrame, population: dict[str, int]) -> pd.DataFrame:
    official = protocols[protocols["source"] == OFFICIAL]
    if official.empty:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    return pd.concat([counted_share_table(tally_from_protocols(official, OFFICIAL),
                                          population),
                      counted_turnout_table(official, population)], ignore_index=True)


def _stratified(protocols: pd.DataFrame, population: dict[str, int]) -> pd.DataFrame:
    copies = protocols[protocols["source"] == OBSERVER_COPY]
    if copies.empty:
        return pd.DataFrame(columns=[c for c in ESTIMATE_COLUMNS if c not in ("source",
                                                                            "scope")])
    return stratified_share_table(tally_from_protocols(copies), population, seed=SEED)


def _forensics(official: pd.DataFrame) -> dict[str, pd.DataFrame]:
    if official.empty or not any(sum(votes.values()) for votes in official["votes"]):
        return {name: pd.DataFrame() for name in ("turnout_share_histogram", "integer_test",
                                                  "round_stations", "shpilkin_bins",
                                                  "shpilkin_summary")}
    results = station_results(official.reset_index(drop=True))
    bins, summary = shpilkin(results)
    flags = round_flags(results)
    return {"turnout_share_histogram": turnout_share_histogram(results),
            "integer_test": integer_test(results, rng=np.random.default_rng(SEED)),
            "round_stations": flags[flags["flagged"]].reset_index(drop=True),
            "shpilkin_bins": bins,
            "shpilkin_summary": pd.DataFrame([summary])}


SUSPICIOUS_COLUMNS = ["station_id", "region_code", "score", "reasons", "top_reason",
                      "turnout", "leader_share"]


def _suspicion(warehouse: Warehouse, protocols: pd.DataFrame, registry: pd.DataFrame,
               as_of: dt.datetime | None, threshold: float) -> dict[str, pd.DataFrame]:
    official = protocols[protocols["source"] == OFFICIAL].reset_index(drop=True)
    if official.empty or not any(sum(votes.values()) for votes in official["votes"]):
        return {"suspicious_stations": pd.DataFrame(columns=SUSPICIOUS_COLUMNS),
                "suspicion_reasons": pd.DataFrame(columns=REASON_COLUMNS)}
    copies = protocols[protocols["source"] == OBSERVER_COPY].reset_index(drop=True)
    turnout = queries.turnout_history(warehouse, official["station_id"].tolist(), as_of)
    reasons = all_reasons(official, copies, turnout, registry,
                          queries.observer_removals(warehouse, as_of))
    scores = suspicion_scores(official, reasons, threshold)
    results = station_results(official).set_index("station_id")
    flagged = scores[scores["flagged"]].reset_index(drop=True)
    flagged["turnout"] = flagged["station_id"].map(results["turnout"])
    flagged["leader_share"] = flagged["station_id"].map(results["leader_share"])
    return {"suspicious_stations": flagged[SUSPICIOUS_COLUMNS],
            "suspicion_reasons": reasons[reasons["station_id"].isin(set(flagged["station_id"]))]
            .reset_index(drop=True)}


def _discrepancies(protocols: pd.DataFrame) -> pd.DataFrame:
    table = protocol_discrepancies(protocols)
    table = table[table["discrepant"].astype(bool)].reset_index(drop=True)
    table["votes_diff"] = [json.dumps(diff, sort_keys=True) for diff in table["votes_diff"]]
    return table.drop(columns=["discrepant"])


def _in_ballot_order(tables: dict[str, pd.DataFrame], options: list[str]) -> None:
    """Estimate and result rows in ballot order (then turnout), nationally first."""
    order = {name: number for number, name in enumerate([*options, "turnout"])}
    for name in ("estimates", "official_results", "estimates_stratified"):
        table = tables[name]
        if table.empty:
            continue
        keys = ["quantity_order"]
        frame = table.assign(quantity_order=table["quantity"].map(order).fillna(len(order)))
        if "scope" in frame.columns:
            frame["scope_order"] = frame["scope"] != "national"
            keys = ["scope_order", "scope", "quantity_order"]
        if "source" in frame.columns:
            keys = ["source", *keys]
        tables[name] = (frame.sort_values(keys, kind="stable")
                        .drop(columns=[k for k in keys if k.endswith("_order")])
                        .reset_index(drop=True))


# --- For readers of the tables: side by side, the embargo, CSV -----------------------------

SIDE_BY_SIDE_COLUMNS = ["source", "scope", "quantity", "value", "margin_95"]


def side_by_side(official_results: pd.DataFrame, estimates: pd.DataFrame) -> pd.DataFrame:
    """The official result beside the estimates: one row per source (``official``,
    ``observer_copy``, ``exitpoll``), scope and quantity, with ``value`` (a share or turnout,
    0-1) and ``margin_95`` (NaN for the official count, which has none)."""
    official = official_results.rename(columns={"result": "value"}).assign(
        source=OFFICIAL, margin_95=np.nan)
    estimated = estimates.rename(columns={"estimate": "value"})
    parts = [part[SIDE_BY_SIDE_COLUMNS] for part in (official, estimated) if len(part)]
    if not parts:
        return pd.DataFrame(columns=SIDE_BY_SIDE_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def without_exit_poll(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables with every exit-poll row left out (every table with a ``source`` column):
    what may be shown while the exit-poll embargo holds."""
    return {name: (table[table["source"] != EXIT_POLL].reset_index(drop=True)
                   if "source" in table.columns else table)
            for name, table in tables.items()}


def table_csv(table: pd.DataFrame) -> str:
    """A table as CSV text, as the media export writes it: fixed float text, so the same data
    gives the same bytes."""
    return table.to_csv(index=False, lineterminator="\n", float_format="%.6f")
