"""Forensics against hand-computed cases, and against the falsification a simulated day injects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from saylau.analysis.forensics import (
    integer_test,
    is_integer_pct,
    is_round,
    national_leader,
    protocol_discrepancies,
    round_flags,
    shpilkin,
    station_results,
    turnout_share_histogram,
)
from tests.analysis.days import simulated


def official(rows):
    """(station, region, registered, issued, votes) → an official protocols table."""
    return pd.DataFrame([{"station_id": s, "region_code": r, "source": "official",
                          "registered": reg, "ballots_issued": issued, "votes": votes}
                         for s, r, reg, issued, votes in rows])


OFFICIAL = official([
    ("s1", "R1", 200, 100, {"a": 60, "b": 30, "against_all": 10}),  # 50 %, a 60 %
    ("s2", "R1", 400, 300, {"a": 100, "b": 150, "against_all": 50}),  # 75 %, a 33.3 %
    ("s3", "R2", 100, 51, {"a": 20, "b": 10, "against_all": 70}),  # 51 %, a 20 %
])


def test_leader_is_the_party_with_most_votes_never_against_all():
    assert national_leader(OFFICIAL) == "b"  # a 180, b 190, against_all 130
    rows = official([("s", "R", 100, 50, {"a": 1, "against_all": 49})])
    assert national_leader(rows) == "a"


def test_station_results():
    results = station_results(OFFICIAL, leader="a").set_index("station_id")
    assert results.loc["s2", "turnout"] == pytest.approx(0.75)
    assert results.loc["s2", "leader_share"] == pytest.approx(100 / 300)
    assert results.loc["s3", "valid"] == 100


def test_histogram_counts_stations_per_cell_nationally_and_per_region():
    table = turnout_share_histogram(station_results(OFFICIAL, leader="a"), bin_pct=10)
    national = table[table["scope"] == "national"]
    # s1 (50, 60), s2 (70, 30), s3 (50, 20): three cells of one station each
    assert sorted(zip(national["turnout_pct"], national["leader_share_pct"], strict=True)) == \
        [(50, 20), (50, 60), (70, 30)]
    r1 = table[table["scope"] == "R1"]
    assert r1["stations"].sum() == 2 and r1["voters"].sum() == 400


@pytest.mark.parametrize(("fraction", "integer"), [
    (0.50, True), (0.5004, True), (0.5005, True), (0.5006, False), (0.4995, True),
    (0.333, False), (0.12951, True), (0.1294, False),  # 12.951 is 0.049 off 13
])
def test_integer_percentage_is_within_005_points(fraction, integer):
    assert bool(is_integer_pct(fraction)) is integer


@pytest.mark.parametrize(("part", "whole", "round_"), [
    (50, 100, True),  # 50 %
    (150, 300, True),  # 50 %
    (151, 300, False),  # 50.33 %: |50.33 − 50| = 0.33 points > half a vote = 50/300 = 0.167
    (601, 1200, False),  # 50.083 %: 0.083 points > max(0.05, half a vote = 50/1200 = 0.042)
    (301, 1000, False),  # 30.1 %: 0.1 points off 30 % and more than half a vote
    (3001, 10000, True),  # 30.01 %: within 0.05 points
    (333, 1000, False),
])
def test_round_means_a_multiple_of_5_percent_as_close_as_the_count_allows(part, whole, round_):
    assert bool(is_round(part, whole)) is round_


def test_integer_test_finds_no_excess_on_smooth_data_and_an_excess_on_whole_numbers():
    rng = np.random.default_rng(3)
    n = 3000
    registered = rng.integers(500, 3000, n)
    issued = rng.binomial(registered, 0.6)
    leader = rng.binomial(issued, 0.45)
    results = pd.DataFrame({"station_id": [f"s{i}" for i in range(n)], "region_code": "R",
                            "registered": registered, "ballots_issued": issued,
                            "valid": issued, "leader_votes": leader,
                            "turnout": issued / registered, "leader_share": leader / issued})
    smooth = integer_test(results, replicates=200, rng=np.random.default_rng(0))
    assert not smooth["significant"].any()
    # 300 stations pushed onto 70 % turnout exactly
    rounded = results.copy()
    rounded.loc[:299, "ballots_issued"] = np.rint(0.7 * rounded["registered"][:300])
    rounded["turnout"] = rounded["ballots_issued"] / rounded["registered"]
    table = integer_test(rounded, replicates=200, rng=np.random.default_rng(0))
    turnout = table.set_index("quantity").loc["turnout"]
    assert turnout["significant"] and turnout["excess"] > 200
    assert turnout["observed"] > turnout["threshold"] > turnout["null_mean"]


def test_integer_test_leaves_out_small_and_full_stations():
    results = station_results(official([
        ("small", "R", 99, 50, {"a": 25, "b": 25}),
        ("full", "R", 100, 100, {"a": 50, "b": 50}),
        ("empty", "R", 100, 0, {"a": 0, "b": 0}),
        ("kept", "R", 100, 50, {"a": 30, "b": 20}),
    ]), leader="a")
    assert integer_test(results, replicates=10)["stations"].tolist() == [1, 1, 1]


def test_shpilkin_on_a_hand_computed_case():
    # Bins 50 % (other 900, the peak), 60 % (other 600), 80 % (other 300).
    # s₀ = leader share at and below the peak = 600 / 1500 = 0.4
    # above: expected = other · 0.4/0.6 → 400 and 200; excess = 700 − 400 + 500 − 200 = 600
    results = station_results(official([
        ("s1", "R", 3000, 1500, {"a": 600, "b": 900}),
        ("s2", "R", 2200, 1300, {"a": 700, "b": 600}),
        ("s3", "R", 1000, 800, {"a": 500, "b": 300}),
    ]), leader="a")
    bins, summary = shpilkin(results)
    assert bins["turnout_pct"].tolist() == [50, 59, 80]  # 1300/2200 = 59.09 %
    assert summary["peak_pct"] == 50
    assert summary["clean_share"] == pytest.approx(0.4)
    assert bins["expected_leader"].tolist() == pytest.approx([600, 400, 200])
    assert summary["excess_votes"] == pytest.approx(600)


def test_discrepancies_name_the_fields_that_differ():
    protocols = pd.DataFrame([
        {"station_id": "s1", "region_code": "R", "source": "official", "ballots_issued": 10,
         "votes": {"a": 7, "b": 3}},
        {"station_id": "s1", "region_code": "R", "source": "observer_copy",
         "ballots_issued": 10, "votes": {"a": 5, "b": 5}},
        {"station_id": "s2", "region_code": "R", "source": "official", "ballots_issued": 10,
         "votes": {"a": 5, "b": 5}},
        {"station_id": "s2", "region_code": "R", "source": "observer_copy",
         "ballots_issued": 10, "votes": {"a": 5, "b": 5}},
        {"station_id": "s3", "region_code": "R", "source": "official", "ballots_issued": 9,
         "votes": {"a": 9}},
    ])
    table = protocol_discrepancies(protocols)
    assert table["station_id"].tolist() == ["s1", "s2"]  # s3 has no copy
    first = table.iloc[0]
    assert first["fields"] == "votes.a,votes.b"
    assert first["votes_diff"] == {"a": 2, "b": -2}
    assert first["leader_gain"] == 2 and first["largest"] == 2 and first["discrepant"]
    assert not table.iloc[1]["discrepant"]


DAYS = range(10)


@pytest.fixture(scope="module")
def days():
    return [simulated(seed, stations=400, falsified_share=0.1) for seed in DAYS]


def test_discrepancy_check_finds_exactly_the_rewritten_protocols(days):
    for day in days:
        table = protocol_discrepancies(day.protocols)
        assert set(table["station_id"][table["discrepant"]]) == day.falsified("protocol_rewrite")


def test_round_flags_find_stuffing_to_round_figures_and_spare_clean_stations(days):
    found = targets = clean_flagged = clean = 0
    for day in days:
        flags = round_flags(station_results(day.official()))
        flagged = set(flags["station_id"][flags["flagged"]])
        falsified = {s["station_id"] for s in day.truth["falsification"]["stations"]}
        rounded = {s["station_id"] for s in day.truth["falsification"]["stations"]
                   if s["kind"] == "ballot_stuffing" and s["round_turnout"]
                   and s["round_leader_share"]} & set(flags["station_id"])
        found += len(rounded & flagged)
        targets += len(rounded)
        honest = set(flags["station_id"]) - falsified
        clean_flagged += len(honest & flagged)
        clean += len(honest)
    print(f"round flags: {found}/{targets} stuffed-to-round stations found, "
          f"{clean_flagged}/{clean} clean stations flagged")
    assert targets > 20
    assert found >= 0.97 * targets
    assert clean_flagged <= 0.01 * clean


def test_integer_test_sees_the_falsified_day_and_not_the_clean_one():
    falsified = simulated(1, stations=2000, falsified_share=0.1)
    clean = simulated(1, stations=2000, falsified_share=0.0)
    def test(day):
        table = integer_test(station_results(day.official()), replicates=1000,
                             rng=np.random.default_rng(1))
        return table.set_index("quantity").loc["both"]
    assert test(falsified)["significant"]
    assert not test(clean)["significant"]


def test_shpilkin_sees_more_excess_when_votes_were_added(days):
    clean = simulated(0, stations=400, falsified_share=0.0)
    _, honest = shpilkin(station_results(clean.official()))
    _, stuffed = shpilkin(station_results(days[0].official()))
    assert stuffed["excess_votes"] > honest["excess_votes"]
