"""analysis_tables over a real chDB warehouse filled with a simulated day by the replay engine:
the tables the page and the media exports show, checked against the day's known truth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from saylau.analysis.report import (
    analysis_tables,
    side_by_side,
    table_csv,
    without_exit_poll,
)
from saylau.core.election import Election
from saylau.geo.registry import synthetic_registry
from saylau.ingest.simulator import NO_NOISE, Scenario, simulate_day
from saylau.streams.alerting import Thresholds
from saylau.streams.replay import Replayer, simulated_batches
from saylau.warehouse.client import Warehouse, create_schema, open_warehouse
from saylau.warehouse.queries import load_stations

TABLES = {"estimates", "official_results", "estimates_stratified", "turnout_share_histogram",
          "integer_test", "round_stations", "shpilkin_bins", "shpilkin_summary", "discrepancies",
          "suspicious_stations", "suspicion_reasons"}


def registry() -> pd.DataFrame:
    return synthetic_registry(n_stations=400, total_voters=500_000, seed=5)


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Warehouse]:
    wh = open_warehouse(f"chdb://{tmp_path}/warehouse")
    create_schema(wh)
    load_stations(wh, registry())
    yield wh
    wh.close()


def test_tables_of_a_simulated_day_match_its_truth(empty: Warehouse) -> None:
    stations = registry()
    day = simulate_day(stations, Election(), Scenario(seed=5, noise=NO_NOISE,
                                                      falsified_share=0.1))
    Replayer(empty, stations, Election(), Thresholds()).replay(
        simulated_batches(day.messages(), "saylau", 2000))
    tables = analysis_tables(empty, Election())
    assert set(tables) == TABLES

    rewritten = {s["station_id"] for s in day.truth["falsification"]["stations"]
                 if s["kind"] == "protocol_rewrite"}
    assert rewritten and set(tables["discrepancies"]["station_id"]) == rewritten
    # Every rewritten protocol is a suspicious station, with its reasons; clean ones rarely.
    suspicious = tables["suspicious_stations"]
    assert rewritten <= set(suspicious["station_id"])
    assert set(tables["suspicion_reasons"]["station_id"]) == set(suspicious["station_id"])
    falsified = {s["station_id"] for s in day.truth["falsification"]["stations"]}
    assert len(set(suspicious["station_id"]) - falsified) <= 0.02 * len(stations)

    estimates = tables["estimates"]
    national = estimates[(estimates["source"] == "observer_copy")
                         & (estimates["scope"] == "national")].set_index("quantity")
    # Ballot order, then turnout; the 99 % margin is wider than the 95 % one.
    assert list(national.index) == [*Election().options, "turnout"]
    assert (national["margin_99"] > national["margin_95"]).all()
    assert national.loc[list(Election().options), "estimate"].sum() == pytest.approx(1.0)
    assert set(estimates["source"]) == {"observer_copy", "exitpoll"}
    assert set(estimates["scope"]) == {"national", *stations["region_code"]}

    official = tables["official_results"]
    counted = official[official["scope"] == "national"].set_index("quantity")
    assert list(counted.index) == [*Election().options, "turnout"]
    assert counted.loc[list(Election().options), "result"].sum() == pytest.approx(1.0)
    assert (counted["stations"] == len(stations)).all()  # every station counted, no sample

    histogram = tables["turnout_share_histogram"]
    # every station published an official protocol
    assert histogram[histogram["scope"] == "national"]["stations"].sum() == len(stations)
    assert tables["integer_test"]["quantity"].tolist() == ["turnout", "leader_share", "both"]
    assert tables["shpilkin_summary"]["excess_votes"].iloc[0] > 0
    # Plain cells only: every table can be written as CSV and read back.
    for name, table in tables.items():
        assert not any(isinstance(v, dict | list) for v in table.to_numpy().ravel()), name


def test_an_empty_warehouse_gives_empty_tables_not_an_error(empty: Warehouse) -> None:
    tables = analysis_tables(empty, Election())
    assert set(tables) == TABLES
    assert all(isinstance(t, pd.DataFrame) and t.empty for t in tables.values())


def test_side_by_side_puts_the_count_beside_the_estimates_with_their_margins() -> None:
    official = pd.DataFrame({"scope": ["national"], "quantity": ["x"], "result": [0.5],
                             "count": [50], "total": [100], "stations": [4],
                             "population": [4]})
    estimates = pd.DataFrame({"source": ["observer_copy", "exitpoll"],
                              "scope": ["national"] * 2, "quantity": ["x"] * 2,
                              "estimate": [0.45, 0.55], "margin_95": [0.03, 0.04]})
    rows = side_by_side(official, estimates)
    assert rows[["source", "value"]].values.tolist() == [
        ["official", 0.5], ["observer_copy", 0.45], ["exitpoll", 0.55]]
    assert pd.isna(rows["margin_95"].iloc[0])  # a count has no margin
    assert rows["margin_95"].iloc[1:].tolist() == [0.03, 0.04]
    assert side_by_side(official.iloc[:0], estimates.iloc[:0]).empty


def test_without_exit_poll_leaves_out_only_the_exit_poll_rows() -> None:
    estimates = pd.DataFrame({"source": ["observer_copy", "exitpoll"], "estimate": [0.4, 0.6]})
    other = pd.DataFrame({"station_id": ["s1"]})
    kept = without_exit_poll({"estimates": estimates, "other": other})
    assert kept["estimates"]["source"].tolist() == ["observer_copy"]
    assert kept["other"] is other


def test_a_table_s_csv_has_fixed_float_text_and_reads_back() -> None:
    table = pd.DataFrame({"scope": ["national"], "estimate": [1 / 3], "stations": [7]})
    assert table_csv(table) == "scope,estimate,stations\nnational,0.333333,7\n"
