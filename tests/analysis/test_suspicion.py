"""Every reason of the station suspicion score on hand-made stations, honest oddities too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from saylau.analysis.suspicion import (
    DEFAULT_THRESHOLD,
    all_reasons,
    arithmetic_reasons,
    chance_of_round,
    copy_reasons,
    curve_jump_reasons,
    list_addition_reasons,
    missing_copy_reasons,
    observer_count_reasons,
    outlier_reasons,
    removal_reasons,
    round_reasons,
    suspicion_scores,
)

OPTIONS = ("amanat", "respublica", "auyl", "against_all")
HOURS = (10, 12, 14, 16, 18, 20)
SHAPE = np.array([0.12, 0.22, 0.14, 0.14, 0.22, 0.16])  # share of the day's voters per interval


def station(station_id: str, registered: int, issued: int, leader: int, region: str = "R1",
            invalid: int = 0, cast: int | None = None) -> dict:
    """A protocol row: the leader's votes, the rest split 2:1:0.3 among the others."""
    cast = issued if cast is None else cast
    rest = cast - invalid - leader
    second, against = int(rest * 0.6), int(rest * 0.1)
    votes = {"amanat": leader, "respublica": second, "auyl": rest - second - against,
             "against_all": against}
    return {"station_id": station_id, "region_code": region, "registered": registered,
            "ballots_received": registered + 20, "ballots_issued": issued, "ballots_cast": cast,
            "invalid": invalid, "votes": votes}


def honest(count: int = 40, seed: int = 1, region: str = "R1", prefix: str = "S") -> list[dict]:
    """Honest stations: turnout about 60 %, the leader about 45 %, sizes 800-2500, with
    turnout and share nudged off round percentages so that chance plays no part."""
    rng = np.random.default_rng(seed)
    rows = []
    for number in range(count):
        registered = int(rng.integers(800, 2500))
        issued = int(registered * rng.normal(0.6, 0.05))
        leader = int(issued * rng.normal(0.45, 0.03))
        rows.append(station(f"{prefix}{number:03d}", registered, issued, leader, region))
    return rows


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def registry(rows: list[dict]) -> pd.DataFrame:
    """Stations on a line, a kilometre apart."""
    return pd.DataFrame({"station_id": [row["station_id"] for row in rows],
                         "lat": [43.0 + k * 0.01 for k in range(len(rows))],
                         "lon": [76.0] * len(rows)})


def strong(reasons: pd.DataFrame, at_least: float = 3.0) -> pd.DataFrame:
    """Reasons a chance would give one honest station in a thousand or less."""
    return reasons[reasons["strength"] >= at_least]


def reasons_of(reasons: pd.DataFrame, station_id: str) -> set[str]:
    return set(reasons["reason"][reasons["station_id"] == station_id])


# --- Round percentages ----------------------------------------------------------------------

def test_chance_of_round_is_large_for_tiny_stations_and_small_for_big_ones():
    chance = chance_of_round([20, 3000], [0.5, 0.6], step_pct=5.0)
    assert chance[0] > 0.3  # 20 voters: every 5 % is one voter, chance is high
    assert chance[1] == pytest.approx(1 / 150, rel=0.15)  # 3,000 voters: 1 in 150 values


def test_round_turnout_at_a_big_station_is_a_reason_but_not_at_a_tiny_one():
    rows = honest(20)
    rows.append(station("BIG", 3000, 1950, 700))  # turnout exactly 65 %
    rows.append(station("TINY", 20, 13, 5))  # also 65 %, 13 of 20 voters
    reasons = round_reasons(frame(rows))
    assert "round_turnout" in reasons_of(reasons, "BIG")
    assert "round_turnout" not in reasons_of(reasons, "TINY")
    big = reasons[(reasons["station_id"] == "BIG") & (reasons["reason"] == "round_turnout")]
    assert "65 %" in big["detail"].iloc[0]


def test_round_leader_share_over_registered_voters_is_found_on_its_own():
    rows = honest(20)
    # 30 % of the 3,000 registered voters, while 900 / 1,871 valid votes is 48.1 %.
    rows.append(station("REG", 3000, 1871, 900))
    reasons = round_reasons(frame(rows))
    found = reasons[(reasons["station_id"] == "REG")
                    & (reasons["reason"] == "round_leader_share")]
    assert len(found) == 1 and "registered voters" in found["detail"].iloc[0]
    assert "round_turnout" not in reasons_of(reasons, "REG")


def test_honest_stations_landing_on_round_figures_by_chance_are_weak_reasons():
    reasons = round_reasons(frame(honest(200)))
    assert (reasons["strength"] < 2).all()


# --- Outliers -------------------------------------------------------------------------------

def test_stuffing_shows_as_high_turnout_and_share_against_the_neighbours():
    rows = honest(40)
    rows.append(station("STUFFED", 2000, 1700, 1100))  # 85 % turnout, 65 % for the leader
    reasons = outlier_reasons(frame(rows), registry(rows))
    assert reasons_of(reasons, "STUFFED") == {"outlier_turnout_and_share"}
    assert set(strong(reasons)["station_id"]) == {"STUFFED"}


def test_a_hospital_with_everyone_voting_as_around_it_is_not_an_outlier():
    rows = honest(40)
    rows.append(station("HOSPITAL", 400, 396, 178))  # 99 % turnout, 45 % for the leader
    assert "HOSPITAL" not in set(outlier_reasons(frame(rows), registry(rows))["station_id"])
    assert {"S000", "HOSPITAL"}.isdisjoint(outlier_reasons(frame(rows))["station_id"])


def test_rewriting_shows_as_the_leader_share_alone():
    rows = honest(40)
    rows.append(station("REWRITTEN", 2000, 1200, 900))  # turnout 60 %, the leader 75 %
    reasons = outlier_reasons(frame(rows), registry(rows))
    assert "outlier_leader_share" in reasons_of(reasons, "REWRITTEN")


def test_a_district_with_many_stuffed_stations_does_not_hide_them():
    rows = honest(40)
    for number in range(10):  # a fifth of the district
        rows.append(station(f"STUFFED{number}", 2000, 1700 + number, 1100 + number))
    reasons = outlier_reasons(frame(rows))  # district only, no coordinates
    assert {f"STUFFED{number}" for number in range(10)} <= set(reasons["station_id"])


def test_a_tiny_station_is_not_an_outlier_for_its_size():
    rows = honest(40)
    rows.append(station("TINY", 12, 10, 7))  # 83 % turnout, 70 % leader: 7 voters of 10
    assert "TINY" not in set(strong(outlier_reasons(frame(rows), registry(rows)), 2.0)[
        "station_id"])


# --- Turnout curves -------------------------------------------------------------------------

def curves(rows: list[dict], extra: dict[str, tuple[int, float]] | None = None,
           observer: dict[str, float] | None = None) -> pd.DataFrame:
    """Official reports at HOURS following SHAPE; ``extra`` adds a share of registered voters
    in one interval; ``observer`` gives stations an observer with that undercount, counting
    3 minutes after each report (the stuffed ballots are not in the observer's count)."""
    extra, observer = extra or {}, observer or {}
    reports = []
    for row in rows:
        honest_issued = row["ballots_issued"]
        added = np.zeros(len(HOURS))
        if row["station_id"] in extra:
            interval, share = extra[row["station_id"]]
            added[interval:] = share * row["registered"]
            honest_issued -= int(share * row["registered"])
        cumulative = np.floor(np.cumsum(SHAPE) * honest_issued)
        for hour, value, plus in zip(HOURS, cumulative, added, strict=True):
            at = pd.Timestamp(f"2026-03-15 {hour:02d}:00", tz="UTC")
            reports.append((row["station_id"], "official", at, int(value + plus)))
            if row["station_id"] in observer:
                reports.append((row["station_id"], "observer_count", at + pd.Timedelta("3min"),
                                int(value * (1 - observer[row["station_id"]]))))
    return pd.DataFrame(reports, columns=["station_id", "source", "occurred_at", "ballots"])


def test_a_last_hour_surge_in_the_official_curve_is_a_turnout_jump():
    rows = honest(30)
    rows.append(station("SURGE", 2000, 1400, 700))
    rows.append(station("TINY", 15, 9, 4))
    registered = frame(rows).set_index("station_id")["registered"]
    reasons = curve_jump_reasons(curves(rows, {"SURGE": (5, 0.08)}), registered)
    assert set(reasons["station_id"]) == {"SURGE"}
    assert "last reporting interval" in reasons["detail"].iloc[0]
    assert reasons["figure"].iloc[0] == pytest.approx(0.08, abs=0.01)


def test_official_turnout_ahead_of_the_observer_count_is_found_and_undercounts_are_not():
    rows = honest(30)
    rows.append(station("STUFFED", 2000, 1400, 700))
    registered = frame(rows).set_index("station_id")["registered"]
    watchers = {row["station_id"]: 0.02 * (k % 3) / 2 for k, row in enumerate(rows)}
    reports = curves(rows, {"STUFFED": (3, 0.06)}, watchers)
    reasons = observer_count_reasons(reports, registered)
    assert set(reasons["station_id"]) == {"STUFFED"}
    assert reasons["figure"].iloc[0] == pytest.approx(0.06, abs=0.01)


def test_an_observer_there_in_the_last_hour_without_a_copy_is_a_missing_copy():
    rows = honest(3)
    reports = curves(rows, observer={row["station_id"]: 0.0 for row in rows})
    copies = frame(rows[1:])  # the first station's observer sent no copy
    reasons = missing_copy_reasons(reports, copies)
    assert list(reasons["station_id"]) == [rows[0]["station_id"]]
    assert reasons["strength"].iloc[0] < DEFAULT_THRESHOLD  # not enough alone


def removal(station_id: str, at: str) -> pd.DataFrame:
    return pd.DataFrame({"station_id": [station_id],
                         "occurred_at": [pd.Timestamp(f"2026-03-15 {at}", tz="UTC")]})


def test_an_observer_expelled_in_the_last_hour_without_a_copy_is_a_reason_but_not_a_flag():
    rows = honest(3)
    reports = curves(rows)  # the last official report, the close, is at 20:00
    reasons = removal_reasons(removal("S000", "19:20"), reports, frame([]))
    assert list(reasons["station_id"]) == ["S000"]
    assert reasons["figure"].iloc[0] == pytest.approx(40)  # minutes before the close
    assert "40 minutes before the close" in reasons["detail"].iloc[0]
    assert reasons["strength"].iloc[0] < DEFAULT_THRESHOLD  # not enough alone


def test_an_expulsion_early_in_the_day_or_where_a_copy_came_is_no_reason():
    rows = honest(3)
    reports = curves(rows)
    assert removal_reasons(removal("S000", "12:30"), reports, frame([])).empty
    assert removal_reasons(removal("S000", "19:50"), reports, frame(rows[:1])).empty
    after_close = removal_reasons(removal("S001", "20:30"), reports, frame([]))
    assert "after the close" in after_close["detail"].iloc[0]


# --- Voters added to the list on the day ---------------------------------------------------

def listed(rows: list[dict], added: dict[str, float], seed: int = 3
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The protocols with voters added on the day (about 2 % honestly, ``added`` where
    given), and the registry with the lists as they were before."""
    rng = np.random.default_rng(seed)
    places = registry(rows).assign(registered_voters=[row["registered"] for row in rows])
    protocols = []
    for row in rows:
        rate = added.get(row["station_id"], rng.uniform(0.012, 0.028))
        protocols.append({**row, "registered": row["registered"] + round(rate * row["registered"])})
    return frame(protocols), places


def test_a_carousel_shows_as_voters_added_to_the_list_far_above_the_neighbours():
    rows = honest(40)
    official, places = listed(rows, {"S007": 0.09})
    reasons = list_addition_reasons(official, places)
    assert set(strong(reasons)["station_id"]) == {"S007"}
    found = reasons[reasons["station_id"] == "S007"].iloc[0]
    assert found["figure"] == pytest.approx(0.09, abs=0.001)
    assert found["strength"] >= DEFAULT_THRESHOLD


def test_honest_additions_a_tiny_station_and_a_shrunk_list_are_not_flagged():
    rows = honest(40)
    rows.append(station("TINY", 12, 10, 7))
    official, places = listed(rows, {"TINY": 2 / 12, "S003": -0.01})  # 2 voters; 1 % left
    assert strong(list_addition_reasons(official, places)).empty


def test_without_the_registry_s_lists_there_is_no_addition_reason():
    rows = honest(10)
    official, places = listed(rows, {"S001": 0.2})
    assert list_addition_reasons(official, places.drop(columns=["registered_voters"])).empty
    assert list_addition_reasons(official, None).empty


# --- Observer copies and arithmetic ---------------------------------------------------------

def test_a_rewritten_protocol_against_a_consistent_copy_is_strong_evidence():
    official = frame([station("A", 1000, 600, 400)])
    copy = frame([station("A", 1000, 600, 270)])
    reasons = copy_reasons(official, copy)
    assert list(reasons["reason"]) == ["observer_copy_differs"]
    assert reasons["strength"].iloc[0] >= DEFAULT_THRESHOLD


def test_an_observer_typing_mistake_is_listed_but_not_enough_to_flag():
    official = frame([station("A", 1000, 600, 270)])
    mistyped = station("A", 1000, 600, 270)
    mistyped["votes"] = {**mistyped["votes"], "respublica": mistyped["votes"]["respublica"] + 90}
    reasons = copy_reasons(official, frame([mistyped]))
    assert reasons["strength"].iloc[0] < DEFAULT_THRESHOLD
    assert "does not add up" in reasons["detail"].iloc[0]


def test_impossible_figures_and_identical_protocols_are_reasons():
    rows = honest(5)
    rows.append(station("OVER", 500, 520, 300))
    rows.append(station("COPY1", 1500, 900, 500))
    rows.append(station("COPY2", 1400, 900, 500))
    reasons = arithmetic_reasons(frame(rows))
    assert reasons_of(reasons, "OVER") == {"impossible_arithmetic"}
    assert reasons_of(reasons, "COPY1") == reasons_of(reasons, "COPY2") == {"identical_figures"}
    assert set(reasons["station_id"]) == {"OVER", "COPY1", "COPY2"}


# --- The score ------------------------------------------------------------------------------

def test_scores_add_reasons_and_flag_only_above_the_threshold():
    rows = honest(40)
    rows.append(station("STUFFED", 2000, 1700, 1100))
    rows.append(station("HOSPITAL", 400, 396, 178))
    rows.append(station("TINY", 12, 10, 7))
    official = frame(rows)
    reasons = all_reasons(official, frame([]), curves(rows, {"STUFFED": (4, 0.2)}),
                          registry(rows))
    scores = suspicion_scores(official, reasons).set_index("station_id")
    assert list(scores.index[scores["flagged"]]) == ["STUFFED"]
    stuffed = scores.loc["STUFFED"]
    assert stuffed["score"] == pytest.approx(
        reasons["strength"][reasons["station_id"] == "STUFFED"].sum())
    assert {"outlier_turnout_and_share", "turnout_jump"} <= set(stuffed["reasons"].split(";"))
    assert scores["score"].iloc[0] == scores["score"].max()
    assert len(scores) == len(official)


def test_the_threshold_setting_defaults_to_the_one_chosen_on_the_simulator():
    from saylau.core.settings import Settings

    assert Settings().forensics_threshold == DEFAULT_THRESHOLD
