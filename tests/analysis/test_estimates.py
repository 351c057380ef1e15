"""Estimators against hand-computed cases, and their intervals against simulated truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from saylau.analysis.estimates import (
    counted_share_table,
    counted_turnout_table,
    ratio_estimate,
    sample_size,
    share_table,
    stratified_ratio,
    stratified_share_table,
    stratified_turnout,
    tally_from_exitpolls,
    tally_from_protocols,
    turnout_table,
    unit_variance,
    z_value,
)
from tests.analysis.days import simulated


@pytest.mark.parametrize(("a", "m", "population", "p", "variance"), [
    # p̂ = 10/40 = 0.25; f = 3/6 = 0.5; m̄ = 40/3
    # Σa² = 4+9+25 = 38, Σam = 20+30+100 = 150, Σm² = 100+100+400 = 600
    # [38 − 2·0.25·150 + 0.0625·600] = 38 − 75 + 37.5 = 0.5
    # Var = 0.5 / (3·(40/3)²) · 0.5/2 = 0.5/533.33 · 0.25 = 2.34375e-4
    ([2, 3, 5], [10, 10, 20], 6, 0.25, 2.34375e-4),
    # p̂ = 4/8 = 0.5; f = 0.5; m̄ = 4; residuals a − p̂m = −2, +2 → Σ = 8
    # Var = 0.5 / (2·16) · 8/1 = 0.125
    ([0, 4], [4, 4], 4, 0.5, 0.125),
    # every station at p̂ = 0.5: no residuals, no variance
    ([1, 1], [2, 2], 100, 0.5, 0.0),
    # the whole population counted: f = 1, no sampling error
    ([2, 3, 5], [10, 10, 20], 3, 0.25, 0.0),
])
def test_ratio_estimate_matches_hand_computation(a, m, population, p, variance):
    estimate = ratio_estimate(a, m, population)
    assert estimate.p == pytest.approx(p)
    assert estimate.variance == pytest.approx(variance, abs=1e-15)
    assert estimate.k == len(a)


def test_margins_are_z_times_the_standard_error():
    estimate = ratio_estimate([2, 3, 5], [10, 10, 20], 6)
    # √2.34375e-4 = 0.0153093; ×1.959964 = 0.030006; ×2.575829 = 0.039434
    assert estimate.se == pytest.approx(0.0153093, rel=1e-5)
    assert estimate.margin(0.95) == pytest.approx(0.030006, rel=1e-4)
    assert estimate.margin(0.99) == pytest.approx(0.039434, rel=1e-4)
    assert estimate.interval(0.95) == pytest.approx((0.25 - 0.030006, 0.25 + 0.030006),
                                                    rel=1e-4)
    assert z_value(0.95) == pytest.approx(1.959964, rel=1e-6)


def test_a_single_station_has_no_variance_estimate():
    assert math.isnan(ratio_estimate([3], [10], 5).variance)
    with pytest.raises(ValueError):
        ratio_estimate([1, 2], [3, 4], 1)


def test_sample_size_for_a_target_margin():
    # S² = 0.5 / (2 · (40/3)²) = 0.00140625
    s2 = unit_variance([2, 3, 5], [10, 10, 20])
    assert s2 == pytest.approx(0.00140625)
    # n₀ = 1.959964² · 0.00140625 / 0.01² = 54.0205; k = 54.0205 / 1.0540205 = 51.25 → 52
    assert sample_size(0.01, s2, 1000) == 52
    # the margin at k = 52 meets the target, at k = 51 it does not
    def margin(k):
        return z_value(0.95) * math.sqrt((1 - k / 1000) * s2 / k)
    assert margin(52) <= 0.01 < margin(51)
    assert sample_size(0.0001, s2, 1000) <= 1000
    assert sample_size(0.01, s2, 1000, confidence=0.99) > 52


def test_stratified_estimate_weights_strata_by_their_stations():
    # A: K=10, k=2 (a 1,3; m 4,4) → weight 5; B: K=30, k=1 (a 2; m 10) → weight 30
    # p̂_st = (5·4 + 30·2) / (5·8 + 30·10) = 80/340 = 0.2352941
    # Bootstrap: in A Σa ∈ {2,4,6} w.p. ¼,½,¼ (variance 2), Σm = 8; B fixed
    # Var = 5²·2 / 340² = 4.3253e-4 → SE = 0.020797
    p, se = stratified_ratio([1, 3, 2], [4, 4, 10], ["A", "A", "B"], {"A": 10, "B": 30},
                             replicates=4000, rng=np.random.default_rng(1))
    assert p == pytest.approx(80 / 340)
    assert se == pytest.approx(0.020797, rel=0.08)


def test_stratified_equals_plain_ratio_under_proportional_allocation():
    a, m = [1, 3, 2, 5], [4, 4, 10, 10]
    p, _ = stratified_ratio(a, m, ["A", "A", "B", "B"], {"A": 20, "B": 20})
    assert p == pytest.approx(ratio_estimate(a, m, 40).p)


PROTOCOLS = pd.DataFrame({
    "station_id": ["s1", "s1", "s2", "s3"],
    "region_code": ["R1", "R1", "R1", "R2"],
    "source": ["observer_copy", "official", "observer_copy", "observer_copy"],
    "registered": [100, 100, 200, 100], "ballots_issued": [50, 60, 100, 80],
    "votes": [{"x": 30, "against_all": 20}, {"x": 40, "against_all": 20},
              {"x": 10, "against_all": 90}, {"x": 40, "against_all": 40}],
})


def test_share_table_from_observer_copies():
    tally = tally_from_protocols(PROTOCOLS)
    assert len(tally) == 6  # three copies, two options each
    table = share_table(tally, {"R1": 4, "R2": 2}).set_index(["scope", "quantity"])
    # national: x = (30+10+40)/(50+100+80) = 80/230
    assert table.loc[("national", "x"), "estimate"] == pytest.approx(80 / 230)
    assert table.loc[("national", "against_all"), "estimate"] == pytest.approx(150 / 230)
    # R1: x = 40/150, k = 2 of K = 4
    assert table.loc[("R1", "x"), "estimate"] == pytest.approx(40 / 150)
    assert table.loc[("R1", "x"), "stations"] == 2
    assert table.loc[("R1", "x"), "population"] == 4
    assert math.isnan(table.loc[("R2", "x"), "se"])  # one station
    row = table.loc[("national", "x")]
    assert row["high_99"] - row["estimate"] == pytest.approx(row["margin_99"])


def test_turnout_table():
    copies = PROTOCOLS[PROTOCOLS["source"] == "observer_copy"]
    table = turnout_table(copies, {"R1": 4, "R2": 2}).set_index("scope")
    assert table.loc["national", "estimate"] == pytest.approx(230 / 400)
    assert table.loc["R1", "estimate"] == pytest.approx(150 / 300)


OFFICIAL = pd.DataFrame({
    "station_id": ["s1", "s2", "s3"], "region_code": ["R1", "R1", "R2"],
    "source": ["official"] * 3, "registered": [100, 200, 100],
    "ballots_issued": [60, 100, 80],
    # s2 has no votes for b at all: it counts as 0, not as a missing station
    "votes": [{"a": 30, "b": 20, "against_all": 10}, {"a": 70, "against_all": 30},
              {"a": 10, "b": 60, "against_all": 10}],
})


def test_counted_shares_are_the_votes_over_all_valid_votes_of_the_scope():
    # R1 has 3 stations in the registry, one of which has not reported
    table = counted_share_table(tally_from_protocols(OFFICIAL, "official"),
                                {"R1": 3, "R2": 2}).set_index(["scope", "quantity"])
    # national: 240 valid votes; a = 30+70+10, b = 20+0+60, against all = 10+30+10
    assert table.loc[("national", "a"), "result"] == pytest.approx(110 / 240)
    assert table.loc[("national", "b"), "result"] == pytest.approx(80 / 240)
    assert table.loc[("national", "against_all"), "result"] == pytest.approx(50 / 240)
    assert table.loc[("national", "a"), ["count", "total", "stations", "population"]
                     ].tolist() == [110, 240, 3, 5]
    # R1: 160 valid votes at 2 of its 3 stations
    assert table.loc[("R1", "b"), "result"] == pytest.approx(20 / 160)
    assert table.loc[("R1", "a"), ["count", "total", "stations", "population"]
                     ].tolist() == [100, 160, 2, 3]
    assert table.loc[("R2", "b"), "result"] == pytest.approx(60 / 80)
    for scope in ("national", "R1", "R2"):
        assert table.loc[scope, "result"].sum() == pytest.approx(1.0)
    assert "margin_95" not in table.columns  # a count has no margin of error


def test_counted_turnout_is_ballots_issued_over_registered_voters():
    table = counted_turnout_table(OFFICIAL, {"R1": 3, "R2": 2}).set_index("scope")
    assert table.loc["national", "result"] == pytest.approx(240 / 400)
    assert table.loc["R1", "result"] == pytest.approx(160 / 300)
    assert table.loc["R2", ["count", "total", "stations"]].tolist() == [80, 100, 1]
    assert set(table["quantity"]) == {"turnout"}


def test_nothing_counted_gives_an_empty_table_with_the_columns():
    empty = OFFICIAL.iloc[:0]
    assert list(counted_share_table(tally_from_protocols(empty, "official"), {})) == \
        list(counted_turnout_table(empty, {})) == \
        ["scope", "quantity", "result", "count", "total", "stations", "population"]


def test_exitpoll_tally_leaves_out_refusals():
    tallies = pd.DataFrame({"region_code": ["R1"] * 3, "station_id": ["s1"] * 3,
                            "option": ["x", "refused", "undecided"], "answers": [5, 2, 1]})
    tally = tally_from_exitpolls(tallies)
    assert tally.to_dict("records") == [{"station_id": "s1", "region_code": "R1", "option": "x",
                                         "count": 5}]


SEEDS = range(100)
SAMPLE = 80  # stations drawn at random from a 400-station day


def _sample_of_true_protocols(seed):
    day = simulated(seed)
    rng = np.random.default_rng(seed)
    chosen = day.true_protocols.iloc[rng.choice(len(day.true_protocols), SAMPLE,
                                                replace=False)]
    return day, chosen.assign(source="observer_copy")


@pytest.fixture(scope="module")
def coverage():
    """Per seed: which 95 % intervals contain the true national figure."""
    hits = {"leader": 0, "against_all": 0, "turnout": 0, "stratified_leader": 0,
            "stratified_turnout": 0}
    for seed in SEEDS:
        day, sample = _sample_of_true_protocols(seed)
        true = day.truth["national"]["true"]
        leader = day.truth["leader"]
        shares = share_table(tally_from_protocols(sample), day.population)
        national = shares[shares["scope"] == "national"].set_index("quantity")
        turnout = turnout_table(sample, day.population).set_index("scope").loc["national"]
        stratified = stratified_share_table(tally_from_protocols(sample), day.population,
                                            replicates=300, seed=seed).set_index("quantity")
        strat_turnout = stratified_turnout(sample, day.population, replicates=300, seed=seed)
        def within(row, value):
            return row["low_95"] <= value <= row["high_95"]
        hits["leader"] += within(national.loc[leader], true["shares"][leader])
        hits["against_all"] += within(national.loc["against_all"], true["shares"]["against_all"])
        hits["turnout"] += within(turnout, true["turnout"])
        hits["stratified_leader"] += within(stratified.loc[leader], true["shares"][leader])
        hits["stratified_turnout"] += (abs(strat_turnout["estimate"] - true["turnout"])
                                       <= strat_turnout["margin_95"])
    print(f"95 % intervals containing the truth, of {len(SEEDS)}: {hits}")
    return hits


@pytest.mark.parametrize("quantity", ["leader", "against_all", "turnout", "stratified_leader",
                                      "stratified_turnout"])
def test_95_percent_interval_contains_the_truth_in_90_of_100_days(coverage, quantity):
    assert coverage[quantity] >= 90


def test_exit_poll_estimate_is_near_the_true_shares():
    day = simulated(5, stations=400)
    table = share_table(tally_from_exitpolls(day.exitpolls), day.population)
    national = table[table["scope"] == "national"].set_index("quantity")
    assert set(national.index) == set(day.truth["national"]["true"]["shares"])
    leader = day.truth["leader"]
    assert abs(national.loc[leader, "estimate"] - day.truth["national"]["true"]["shares"][leader]) \
        <= 2 * national.loc[leader, "margin_99"]
