"""The ground truth file says exactly what the simulator injected, and agrees with the events."""

from collections import Counter

import pytest

from saylau.ingest.simulator import (
    FALSIFICATION_KINDS,
    NO_NOISE,
    Scenario,
    simulate_day,
    truth_path,
)
from tests.ingest.simulated import (
    ELECTION,
    N_STATIONS,
    REGISTERED,
    REGISTRY,
    clean_day,
    noisy_day,
    occurred,
)

LEADER = ELECTION.parties[0]


@pytest.fixture(scope="module")
def day():
    return clean_day()


@pytest.fixture(scope="module")
def official(day):
    return {p["station_id"]: p for p in day.of_kind("protocol", source="official")}


@pytest.fixture(scope="module")
def copies(day):
    return {p["station_id"]: p for p in day.of_kind("protocol", source="observer_copy")}


@pytest.fixture(scope="module")
def falsified(day):
    return {station["station_id"]: station for station in day.truth["falsification"]["stations"]}


def true_protocol(station_id, official, falsified):
    station = falsified.get(station_id)
    return station["true"] if station else official[station_id]


def test_truth_file_sits_next_to_the_events_file(day):
    assert truth_path(day.path) == day.path.with_name("day.truth.json")
    assert day.truth["events_file"] == "day.jsonl"
    assert day.truth["stations"] == N_STATIONS


def test_true_national_turnout_is_the_sum_over_stations(day, official, falsified):
    issued = sum(true_protocol(s, official, falsified)["ballots_issued"] for s in official)
    true = day.truth["national"]["true"]
    assert true["ballots_issued"] == issued
    assert true["registered"] == sum(REGISTERED.values()) == day.truth["registered_voters"]
    assert true["turnout"] == pytest.approx(issued / sum(REGISTERED.values()), rel=1e-12)


def test_true_national_shares_are_the_sum_of_true_votes(day, official, falsified):
    votes: Counter = Counter()
    for station in official:
        votes.update(true_protocol(station, official, falsified)["votes"])
    true = day.truth["national"]["true"]
    assert true["votes"] == dict(votes)
    for option, count in votes.items():
        assert true["shares"][option] == pytest.approx(count / sum(votes.values()), rel=1e-12)


def test_official_national_figures_are_the_sum_of_official_protocols(day, official):
    votes: Counter = Counter()
    for protocol in official.values():
        votes.update(protocol["votes"])
    reported = day.truth["national"]["official"]
    assert reported["votes"] == dict(votes)
    assert reported["ballots_issued"] == sum(p["ballots_issued"] for p in official.values())


def test_every_kind_of_falsification_is_injected_and_counted(day, falsified):
    counts = Counter(station["kind"] for station in falsified.values())
    assert set(counts) == set(FALSIFICATION_KINDS)
    assert day.truth["falsification"]["counts"] == dict(counts)
    assert len(falsified) == round(0.1 * N_STATIONS)


def test_clean_stations_observer_copy_equals_the_official_protocol(copies, official, falsified):
    clean = [station for station in copies if station not in falsified]
    assert clean
    for station in clean:
        ignore = {"event_id", "observer_id", "occurred_at", "source"}
        assert {k: v for k, v in copies[station].items() if k not in ignore} == \
            {k: v for k, v in official[station].items() if k not in ignore}


@pytest.mark.parametrize("kind", FALSIFICATION_KINDS)
def test_official_protocol_differs_from_the_truth_as_recorded(kind, official, falsified):
    stations = [s for s in falsified.values() if s["kind"] == kind]
    assert stations
    for station in stations:
        published = official[station["station_id"]]
        true = station["true"]
        assert {k: published[k] for k in ("ballots_issued", "ballots_cast", "invalid", "votes")} \
            == station["official"]
        added, moved = station["added_ballots"], station["moved_votes"]
        assert published["ballots_issued"] - true["ballots_issued"] == added
        assert published["ballots_cast"] - true["ballots_cast"] == added
        assert published["votes"][LEADER] - true["votes"][LEADER] == added + moved
        others = sum(v for k, v in true["votes"].items() if k != LEADER)
        assert others - sum(v for k, v in published["votes"].items() if k != LEADER) == moved
        assert (added > 0) == (kind == "ballot_stuffing")
        assert added + moved > 0


def test_rewritten_protocols_differ_from_the_observer_copy_by_the_moved_votes(
        official, copies, falsified):
    rewrites = [s for s in falsified.values() if s["kind"] == "protocol_rewrite"]
    assert rewrites
    for station in rewrites:
        copy = copies[station["station_id"]]
        assert copy["votes"] == station["true"]["votes"]
        assert official[station["station_id"]]["votes"][LEADER] - copy["votes"][LEADER] == \
            station["moved_votes"] > 0


def test_observer_removed_before_the_count_leaves_no_copy(day, copies, falsified):
    removals = {s["station_id"]: s for s in falsified.values()
                if s["kind"] == "observer_removed_before_count"}
    assert removals
    checkouts = {e["station_id"]: e for e in day.of_kind("checkout", reason="removed")}
    for station_id, station in removals.items():
        assert station_id not in copies
        removed = checkouts[station_id]
        assert removed["occurred_at"] == station["observer_removed_at"]
        assert occurred(removed) < ELECTION.closes_at


def test_stuffed_stations_show_more_official_turnout_than_observers_counted(day, falsified):
    counts = day.by_station("turnout", source="observer_count")
    stuffed = [s for s in falsified.values() if s["kind"] == "ballot_stuffing"
               and s["station_id"] in counts]
    assert stuffed
    for station in stuffed:
        assert counts[station["station_id"]][-1]["ballots_issued"] <= \
            station["true"]["ballots_issued"] < station["official"]["ballots_issued"]


def test_stuffing_happens_in_the_recorded_burst(day, falsified):
    official = day.by_station("turnout", source="official")
    seen = {e["station_id"]: e for e in day.of_kind("incident", category="ballot_stuffing",
                                                      severity=3)}
    stuffed = [s for s in falsified.values() if s["kind"] == "ballot_stuffing"]
    assert any(s["station_id"] in seen for s in stuffed)
    for station in stuffed:
        start, end = station["stuffed_between"]
        assert start < end <= ELECTION.closes_at.isoformat()
        reports = official[station["station_id"]]
        before = [r for r in reports if r["occurred_at"] <= start]
        if before:
            jump = reports[-1]["ballots_issued"] - before[-1]["ballots_issued"]
            assert jump >= station["added_ballots"]
        if station["station_id"] in seen:
            assert start <= seen[station["station_id"]]["occurred_at"] <= end


def test_round_percentages_are_where_the_truth_says(falsified):
    def is_round(part, whole):
        return abs(part / whole * 20 - round(part / whole * 20)) * whole / 20 <= 1

    stuffed = [s for s in falsified.values() if s["kind"] == "ballot_stuffing"]
    assert any(s["round_turnout"] for s in stuffed)
    for station in stuffed:
        if station["round_turnout"]:
            assert is_round(station["official"]["ballots_issued"],
                            REGISTERED[station["station_id"]])
    for station in falsified.values():
        if station["round_leader_share"]:
            votes = station["official"]["votes"]
            assert is_round(votes[LEADER], sum(votes.values()))


def test_truth_counts_the_events_of_each_kind(day):
    assert day.truth["events"] == dict(Counter(event["kind"] for event in day.events))


def test_truth_records_hotspots_and_employer_towns():
    truth = noisy_day().truth
    assert truth["incidents"]["hotspot_regions"]
    assert set(truth["incidents"]["hotspot_regions"]) <= set(truth["regions"])
    towns = truth["incidents"]["employer_towns"]
    assert towns and all(town["stations"] >= 1 for town in towns)
    observers = truth["observers"]
    assert observers["removed"] == observers["checkouts"]["removed"] > 0


@pytest.mark.parametrize(("scenario", "expected"), [
    (Scenario(seed=2, noise=NO_NOISE, falsified_share=0.0), {}),
    # Nobody at the count: rewrites could not be told apart, so every case is stuffing.
    (Scenario(seed=2, noise=NO_NOISE, falsified_share=0.1, coverage=(0.0, 0.0),
              poor_coverage=(0.0, 0.0), reserve=0.0), {"ballot_stuffing": 30}),
])
def test_falsification_mix_follows_the_scenario(scenario, expected):
    truth = simulate_day(REGISTRY, ELECTION, scenario).truth
    counts = {kind: n for kind, n in truth["falsification"]["counts"].items() if n}
    assert counts == expected
    if not expected:
        assert truth["national"]["true"] == truth["national"]["official"]
