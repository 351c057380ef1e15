"""Alert rules, one scenario each that fires and a quiet one that must not."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from saylau.core.contract import Checkout, Incident
from saylau.streams.alerts import (
    JUMP_WINDOW,
    burst_alerts,
    protocol_alerts,
    removal_alerts,
    turnout_alerts,
    uncovered_alerts,
)

TZ = ZoneInfo("Asia/Almaty")
OPEN = dt.datetime(2026, 3, 15, 7, 0, tzinfo=TZ)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, 15, hour, minute, tzinfo=TZ).astimezone(dt.UTC)


def incidents(region: str, minutes: list[int], hour: int = 11) -> pd.DataFrame:
    return pd.DataFrame({"event_id": [str(uuid.uuid4()) for _ in minutes],
                         "region_code": region,
                         "occurred_at": [at(hour) + dt.timedelta(minutes=m) for m in minutes]})


@pytest.mark.parametrize(("minutes", "fires"), [
    ([0, 2, 4, 6, 8], True),          # five within 15 minutes
    ([0, 5, 10, 14, 14], True),       # the fifth at 14 min still inside
    ([0, 4, 8, 12, 16], False),       # the window slides: never five inside 15 minutes
    ([0, 20, 40, 60, 80], False),     # quiet: spread over the morning
    ([0, 1, 2, 3], False),            # only four
])
def test_incident_burst_fires_for_k_incidents_within_15_minutes(minutes, fires):
    alerts = burst_alerts(incidents("KAZ001", minutes), threshold=5)
    assert bool(alerts) == fires
    assert all(a.kind == "incident_burst" and a.region_code == "KAZ001" for a in alerts)


def test_burst_straddling_a_bucket_boundary_is_one_alert_per_bucket_with_deterministic_id():
    frame = incidents("KAZ002", [10, 12, 14, 16, 18, 19], hour=11)
    first = burst_alerts(frame, threshold=5)
    again = burst_alerts(frame.sample(frac=1, random_state=3), threshold=5)
    assert [a.alert_id for a in first] == [a.alert_id for a in again]
    assert [a.value for a in first] == [6.0]
    assert first[0].occurred_at == at(11, 18)


def test_burst_counts_each_region_on_its_own():
    frame = pd.concat([incidents("KAZ001", [0, 1, 2]), incidents("KAZ002", [0, 1, 2])])
    assert burst_alerts(frame, threshold=5) == []


def history(station: str, reports: list[tuple[dt.datetime, int]],
            source: str = "observer_count") -> pd.DataFrame:
    return pd.DataFrame({"event_id": [f"e{i}" for i in range(len(reports))],
                         "station_id": station, "source": source,
                         "occurred_at": [t for t, _ in reports],
                         "ballots": [b for _, b in reports]})


@pytest.mark.parametrize(("reports", "kinds"), [
    ([(at(9), 100), (at(10), 150), (at(11), 200)], []),                     # steady
    ([(at(9), 100), (at(10), 300)], ["turnout_jump"]),                      # +20% in an hour
    ([(at(9), 100), (at(10), 250)], []),                                    # +15%: not above
    ([(at(8), 200)], ["turnout_jump"]),                                     # 20% in the first hour
    ([(at(15), 600)], []),                                                  # first report, late
    ([(at(9), 300), (at(10), 250)], ["turnout_decrease"]),                  # went down
    ([(at(10), 250), (at(9), 300)], ["turnout_decrease"]),                  # same, out of order
])
def test_turnout_jump_and_decrease(reports, kinds):
    alerts = turnout_alerts(history("S1", reports), {"S1": 1000}, {"S1": "KAZ001"},
                            OPEN.astimezone(dt.UTC), jump_pct=15.0)
    assert sorted(a.kind for a in alerts) == kinds


def test_a_late_report_can_withdraw_a_jump():
    reports = [(at(9, 10), 100), (at(10), 300)]
    kinds = [a.kind for a in turnout_alerts(history("S1", reports), {"S1": 1000}, {}, OPEN, 15)]
    assert kinds == ["turnout_jump"]
    late = reports + [(at(9, 5), 290)]  # the hour before 10:00 now starts at 290
    kinds = [a.kind for a in turnout_alerts(history("S1", late), {"S1": 1000}, {}, OPEN, 15)]
    assert "turnout_jump" not in kinds


def test_a_rise_after_a_long_silence_is_not_called_a_jump():
    reports = [(at(9), 100), (at(12), 400)]  # nothing reported in the hour before 12:00
    assert turnout_alerts(history("S1", reports), {"S1": 1000}, {}, OPEN, 15.0) == []


def protocol(source: str, cast: int, votes: dict[str, int]) -> dict:
    return {"station_id": "S1", "source": source, "reported_at": at(21), "registered": 1000,
            "ballots_received": 1000, "ballots_issued": cast, "ballots_cast": cast,
            "invalid": 0, "votes": votes}


@pytest.mark.parametrize(("official", "fires"), [
    (protocol("official", 600, {"amanat": 400, "auyl": 200}), False),
    (protocol("official", 600, {"amanat": 500, "auyl": 100}), True),
    (protocol("official", 700, {"amanat": 500, "auyl": 200}), True),
])
def test_protocol_mismatch_fires_when_official_differs_from_observer_copy(official, fires):
    copy = protocol("observer_copy", 600, {"amanat": 400, "auyl": 200})
    alerts = protocol_alerts(pd.DataFrame([copy, official]), {"S1": "KAZ001"})
    assert bool(alerts) == fires


def test_protocol_mismatch_needs_both_sources():
    only = pd.DataFrame([protocol("official", 600, {"amanat": 600})])
    assert protocol_alerts(only, {}) == []


def test_observer_removed_alert_only_for_removals():
    common = {"schema": "saylau.event/1", "station_id": "S1", "observer_id": "obs-1",
              "occurred_at": at(12)}
    removed = Checkout(event_id=uuid.uuid4(), kind="checkout", reason="removed", **common)
    shift = Checkout(event_id=uuid.uuid4(), kind="checkout", reason="shift_end", **common)
    incident = Incident(event_id=uuid.uuid4(), kind="incident", category="other", severity=1,
                        **common)
    alerts = removal_alerts([removed, shift, incident], {"S1": "KAZ001"})
    assert [(a.kind, a.station_id) for a in alerts] == [("observer_removed", "S1")]


def test_uncovered_alerts_name_every_station_without_a_check_in():
    stations = pd.DataFrame({"station_id": ["S1", "S2", "S3"], "region_code": "KAZ001"})
    alerts = uncovered_alerts(stations, {"S2"}, at(7, 30), 30)
    assert sorted(a.station_id for a in alerts) == ["S1", "S3"]
    assert uncovered_alerts(stations, {"S1", "S2", "S3"}, at(7, 30), 30) == []


def test_burst_alerts_keep_utc_times_and_respect_the_judged_buckets():
    frame = incidents("KAZ001", [0, 1, 2, 3, 4])
    bucket = at(11)
    alerts = burst_alerts(frame, threshold=5, buckets=(bucket, bucket))
    assert alerts and alerts[0].occurred_at == at(11, 4)
    assert alerts[0].occurred_at.utcoffset() == dt.timedelta(0)
    later = (at(12), at(12))
    assert burst_alerts(frame, threshold=5, buckets=later) == []


def random_history(seed: int) -> pd.DataFrame:
    """Reports of three stations and two sources, with jumps, drops and equal times."""
    rng = np.random.default_rng(seed)
    rows = []
    for station in ("S1", "S2", "S3"):
        for source in ("observer_count", "official"):
            for n in range(40):
                minute = int(rng.integers(0, 13 * 60))
                rows.append({"event_id": f"{station}-{source}-{n}", "station_id": station,
                             "source": source, "occurred_at": at(7) + dt.timedelta(
                                 minutes=minute - minute % 7),
                             "ballots": max(0, int(minute * 1.2 + rng.integers(-150, 150)))})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", range(6))
def test_a_window_and_the_highest_count_before_it_judge_as_the_whole_history(seed):
    history = random_history(seed).assign(
        occurred_at=lambda f: pd.to_datetime(f["occurred_at"], utc=True))
    registered = {"S1": 1000, "S2": 400, "S3": 2000}
    judged_from = {"S1": pd.Timestamp(at(10)).tz_convert("UTC").to_pydatetime(),
                   "S2": pd.Timestamp(at(14)).tz_convert("UTC").to_pydatetime(),
                   "S3": pd.Timestamp(at(7)).tz_convert("UTC").to_pydatetime()}
    start = pd.to_datetime(history["station_id"].map(judged_from), utc=True) - JUMP_WINDOW
    window = history[history["occurred_at"] >= start]
    before = history[history["occurred_at"] < start]
    highest = before.groupby(["station_id", "source"], as_index=False)["ballots"].max()
    everything = turnout_alerts(history, registered, {}, OPEN, 15.0)
    expected = [a for a in everything if a.occurred_at >= judged_from[a.station_id]]
    windowed = turnout_alerts(window, registered, {}, OPEN, 15.0, highest, judged_from)
    assert sorted(windowed, key=lambda a: a.alert_id) == sorted(expected,
                                                                key=lambda a: a.alert_id)
    assert {a.kind for a in expected} == {"turnout_jump", "turnout_decrease"}
