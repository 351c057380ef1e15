"""The station state read "now" (latest-state tables) and "as of" (the archive) agree,
on both engines, including ties, late events and a warehouse that predates the tables."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from saylau.cli.runtime import station_index
from saylau.core.settings import Settings
from saylau.core.validation import DayWindow
from saylau.geo.registry import synthetic_registry
from saylau.streams.batch import Message, RecentIds, process_batch
from saylau.streams.rows import EVENT_COLUMNS
from saylau.streams.sink import WarehouseSink
from saylau.warehouse import queries
from saylau.warehouse.client import create_schema, open_warehouse
from saylau.warehouse.state import RegistryCache, region_observers, station_state
from tests.integration.events import at, encode, event

pytestmark = pytest.mark.timeout(240)


def store(wh, registry, messages: list[dict]) -> None:
    batch = [Message("test", 0, n, encode(m)) for n, m in enumerate(messages)]
    window = DayWindow.for_election(dt.date(2026, 3, 15), Settings().tz)
    result = process_batch(batch, station_index(registry), window, RecentIds(),
                           dt.datetime.now(dt.UTC))
    assert not result.rejects, result.rejects
    WarehouseSink(wh).write(result)


@pytest.fixture
def day(warehouse_url: str):
    registry = synthetic_registry(n_stations=60, total_voters=60_000, seed=3)
    wh = open_warehouse(warehouse_url)
    create_schema(wh)
    queries.load_stations(wh, registry)
    a, b, c, d = registry["station_id"].iloc[:4]
    store(wh, registry, [
        event("checkin", a, at(8), "obs-1", role="observer"),
        event("turnout", a, at(10), "obs-1", ballots_issued=100, source="observer_count"),
        event("turnout", a, at(12), "obs-1", ballots_issued=250, source="observer_count"),
        # a tie in time: the larger count is the one that counts, on every path
        event("turnout", a, at(12), "obs-1", ballots_issued=240, source="observer_count"),
        event("turnout", a, at(12), "hq", ballots_issued=260, source="official"),
        event("checkin", b, at(8), "obs-2", role="observer"),
        event("checkout", b, at(11), "obs-2", role="observer", reason="removed"),
        event("checkin", c, at(9), "obs-3", role="journalist"),  # not an observer
        event("assignment", a, at(11), "obs-4", assigned_by="lead-1", target_station_id=d),
    ])
    yield wh, registry, (a, b, c, d)
    wh.close()


def by_id(frame):
    return frame.set_index("station_id").sort_index()


def test_now_and_as_of_the_newest_event_give_the_archive_answer(day) -> None:
    wh, _registry, (a, b, c, d) = day
    now = by_id(station_state(wh))
    newest = queries.latest_event_time(wh)
    archive = by_id(queries.station_state_inputs(wh, newest, now=False))
    assert now.loc[a, "ballots"] == 250 and now.loc[a, "ballots_official"] == 260
    assert now.loc[a, "coverage"] == "present"
    assert now.loc[b, "coverage"] == "removed"
    assert now.loc[c, "coverage"] == "absent"
    assert now.loc[d, "coverage"] == "en_route"
    assert (now["ballots"] == archive["ballots"]).all()
    assert (now["present"] == archive["present"]).all()
    assert by_id(station_state(wh, newest)).equals(now)


def test_an_earlier_moment_reads_the_archive(day) -> None:
    wh, _registry, (a, b, _c, d) = day
    earlier = by_id(station_state(wh, dt.datetime.fromisoformat(at(10, 30))))
    assert earlier.loc[a, "ballots"] == 100 and earlier.loc[a, "ballots_official"] == 0
    assert earlier.loc[b, "coverage"] == "present"
    assert earlier.loc[d, "coverage"] == "absent"


def test_region_state_is_the_regions_rows_of_the_whole(day) -> None:
    wh, registry, (a, _b, _c, _d) = day
    region = registry.set_index("station_id").loc[a, "region_code"]
    whole = by_id(station_state(wh))
    part = by_id(station_state(wh, region=region))
    assert part.equals(whole[whole["region_code"] == region])
    observers = region_observers(wh, region)
    assert "obs-1" in set(observers["observer_id"])


def test_a_turnout_row_without_a_valid_source_is_stored_not_refused(day) -> None:
    """turnout_reports keeps the source as an Enum: a row stored without validation and
    without a source must not fail its whole batch's insert (nor the events with it)."""
    wh, _registry, (a, *_rest) = day
    row = {column: "" for column in EVENT_COLUMNS}
    row.update(event_id="unvalidated-1", kind="turnout", station_id=a, ballots_issued=7,
               registered_voters=0, severity=0, received_at=dt.datetime.now(dt.UTC),
               occurred_at=dt.datetime.fromisoformat(at(9)))
    wh.insert_rows("events", EVENT_COLUMNS, [row])
    stored = wh.query_df("SELECT toString(source) AS source, ballots_issued "
                         "FROM $db.turnout_reports WHERE ballots_issued = 7")
    assert stored.to_dict("records") == [{"source": "observer_count", "ballots_issued": 7}]


def test_schema_back_fills_latest_state_for_an_older_archive(day) -> None:
    wh, _registry, _ids = day
    before = by_id(station_state(wh))
    for table in ("turnout_latest", "observer_latest", "assignment_times"):
        wh.command(f"TRUNCATE TABLE $db.{table}")  # as if the archive predated them
    create_schema(wh)
    create_schema(wh)  # a second start-up changes nothing
    assert by_id(station_state(wh)).equals(before)


def test_turnout_at_the_reporting_moments_is_each_stations_latest_report_then(day) -> None:
    wh, _registry, _stations = day

    def moment(hour: int) -> dt.datetime:
        return dt.datetime.fromisoformat(at(hour)).astimezone(dt.UTC)

    moments = [moment(hour) for hour in (9, 10, 11, 12, 13)]
    frame = queries.turnout_at_moments(wh, moments)
    got = {(row.source, row.moment.to_pydatetime()): (row.ballots, row.stations)
           for row in frame.itertuples(index=False)}
    # Station a: 100 at 10:00, then 250 and 240 at 12:00 (the tie goes to 250); official 260.
    assert got == {("observer_count", moment(10)): (100, 1),
                   ("observer_count", moment(11)): (100, 1),
                   ("observer_count", moment(12)): (250, 1),
                   ("observer_count", moment(13)): (250, 1),
                   ("official", moment(12)): (260, 1), ("official", moment(13)): (260, 1)}
    # As of 11:00 the later reports are not there yet.
    earlier = queries.turnout_at_moments(wh, moments, as_of=moment(11))
    assert earlier["ballots"].tolist() == [100, 100, 100, 100]
    assert queries.turnout_at_moments(wh, []).empty


# The reference: each incident reported in the archive, joined to its latest review.
ARCHIVE_INCIDENTS = """
SELECT incident_id, station_id, region_code, category, severity, occurred_at,
       if(verdict = '', 'unverified', verdict) AS status
FROM (SELECT event_id AS incident_id, any(station_id) AS station_id,
             any(region_code) AS region_code, any(category) AS category,
             any(severity) AS severity, any(occurred_at) AS occurred_at
      FROM (SELECT * FROM $db.events
            WHERE kind = 'incident' AND occurred_at <= {as_of:DateTime})
      GROUP BY event_id) AS incident
ANY LEFT JOIN (
      SELECT incident_id, argMax(verdict, occurred_at) AS verdict
      FROM $db.events
      WHERE kind = 'review' AND occurred_at <= {as_of:DateTime}
      GROUP BY incident_id) AS review USING incident_id
ORDER BY occurred_at, incident_id"""


def test_incidents_read_from_their_own_tables_equal_the_archive_late_and_resent_too(
        day) -> None:
    wh, registry, (a, b, _c, _d) = day
    late = event("incident", b, at(9), "obs-2", category="carousel_voting", severity=3,
                 description="seen at nine, sent at noon")
    reviewed = event("incident", a, at(10), "obs-1", category="vote_buying", severity=2,
                     description="cash at the door")
    store(wh, registry, [reviewed, event("review", a, at(11), "hq-1", reviewer_id="hq-1",
                                         incident_id=reviewed["event_id"],
                                         verdict="verified")])
    store(wh, registry, [late])
    store(wh, registry, [late])  # resent: stored twice until a merge, counted once
    # A review of an incident nobody reported: no incident comes of it.
    store(wh, registry, [event("review", a, at(9), "hq-1", reviewer_id="hq-1",
                               incident_id="00000000-0000-4000-8000-000000000000",
                               verdict="rejected")])
    for moment in (None, dt.datetime.fromisoformat(at(10, 30))):
        ours = queries.incidents(wh, moment)
        assert ours.equals(queries._as_ints(
            wh.query_df(ARCHIVE_INCIDENTS, queries._as_of(moment)), ["severity"]))
    now = queries.incidents(wh).set_index("incident_id")
    assert now["status"].to_dict() == {late["event_id"]: "unverified",
                                       reviewed["event_id"]: "verified"}
    earlier = queries.incidents(wh, dt.datetime.fromisoformat(at(10, 30)))
    assert earlier.set_index("incident_id")["status"].to_dict() == {
        late["event_id"]: "unverified", reviewed["event_id"]: "unverified"}
    region = registry.set_index("station_id").loc[b, "region_code"]
    region_archive = queries.REGION_INCIDENTS.replace(
        "FROM $db.incident_reports\n      WHERE",
        "FROM $db.events\n      WHERE kind = 'incident' AND")
    assert "incident_reports" not in region_archive
    in_region = queries.region_incidents(wh, region)
    assert late["event_id"] in set(in_region["incident_id"])
    assert in_region.equals(queries._as_ints(
        wh.query_df(region_archive, {**queries._as_of(None), "region": region}), ["severity"]))
    before = queries.incidents(wh)
    for table in ("incident_reports", "incident_reviews"):
        wh.command(f"TRUNCATE TABLE $db.{table}")  # as if the archive predated them
    create_schema(wh)
    create_schema(wh)  # a second start-up changes nothing
    assert queries.incidents(wh).equals(before)


def test_unordered_state_is_the_same_state_with_a_fingerprint_per_station(day) -> None:
    wh, registry, (a, _b, _c, _d) = day
    for as_of in (None, dt.datetime.fromisoformat(at(10, 30))):
        ordered = station_state(wh, as_of)
        unordered = station_state(wh, as_of, ordered=False)
        assert by_id(unordered.drop(columns="fingerprint")).equals(by_id(ordered))
        assert unordered["fingerprint"].nunique() == len(unordered)
    before = station_state(wh, ordered=False).set_index("station_id")["fingerprint"]
    store(wh, registry, [event("turnout", a, at(13), "obs-1", ballots_issued=300,
                               source="observer_count")])
    after = station_state(wh, ordered=False).set_index("station_id")["fingerprint"]
    changed = after.sort_index() != before.sort_index()
    assert list(changed[changed].index) == [a]


def test_turnout_read_from_its_own_table_equals_the_archive_late_and_resent_too(day) -> None:
    wh, registry, (a, b, _c, _d) = day
    late = event("turnout", b, at(9, 30), "obs-2", ballots_issued=40,
                 source="observer_count")
    store(wh, registry, [late])
    store(wh, registry, [late])  # resent: stored twice until a merge, counted once
    store(wh, registry, [event("turnout", a, at(11), "obs-1", ballots_issued=180,
                               source="observer_count")])  # between two earlier reports
    moments = [dt.datetime.fromisoformat(at(hour)).astimezone(dt.UTC) for hour in (10, 11, 12)]
    narrow = "$db.turnout_reports\n            WHERE"
    assert narrow in queries.TURNOUT_AT_MOMENTS
    archive_sql = queries.TURNOUT_AT_MOMENTS.replace(
        narrow, "$db.events\n            WHERE kind = 'turnout' AND")
    ours = {as_of: queries.turnout_at_moments(wh, moments, as_of)
            for as_of in (None, moments[1])}
    states = {as_of: by_id(station_state(wh, as_of)) for as_of in (moments[0], moments[1])}
    original = queries.TURNOUT_AT_MOMENTS
    try:
        queries.TURNOUT_AT_MOMENTS = archive_sql
        for as_of, frame in ours.items():
            assert frame.equals(queries.turnout_at_moments(wh, moments, as_of))
    finally:
        queries.TURNOUT_AT_MOMENTS = original
    at_eleven = ours[None].set_index(["source", "moment"])["ballots"]
    assert at_eleven[("observer_count", pd.Timestamp(moments[1]))] == 180 + 40  # a, b
    for table in ("turnout_reports",):
        wh.command(f"TRUNCATE TABLE $db.{table}")  # as if the archive predated it
    create_schema(wh)
    create_schema(wh)  # a second start-up changes nothing
    for as_of, frame in ours.items():
        assert queries.turnout_at_moments(wh, moments, as_of).equals(frame)
    for as_of, state in states.items():
        assert by_id(station_state(wh, as_of)).equals(state)


def test_a_region_code_longer_than_a_number_holds_is_read_as_text(warehouse_url) -> None:
    registry = synthetic_registry(n_stations=20, total_voters=20_000, seed=8)
    registry.loc[:4, "region_code"] = "REGION-CODE-LONGER-THAN-8"
    wh = open_warehouse(warehouse_url)
    create_schema(wh)
    queries.load_stations(wh, registry)
    a = registry["station_id"].iloc[0]
    store(wh, registry, [event("turnout", a, at(10), "obs-1", ballots_issued=10,
                               source="observer_count")])
    for ordered in (True, False):
        state = by_id(station_state(wh, ordered=ordered))
        assert state["region_code"].to_dict() == registry.set_index("station_id")[
            "region_code"].to_dict()
        assert state.at[a, "ballots"] == 10
    wh.close()


def test_the_kept_registry_gives_the_state_read_whole_and_follows_a_new_registry(day) -> None:
    wh, registry, (a, _b, _c, d) = day
    kept = RegistryCache()
    for as_of in (None, dt.datetime.fromisoformat(at(10, 30))):
        whole = by_id(station_state(wh, as_of, ordered=False).drop(columns="fingerprint"))
        assert by_id(kept.station_state(wh, as_of).drop(columns="fingerprint")).equals(whole)
    before = by_id(kept.station_state(wh))["fingerprint"]
    store(wh, registry, [event("turnout", a, at(13), "obs-1", ballots_issued=300,
                               source="observer_count")])
    after = by_id(kept.station_state(wh))
    assert after.at[a, "ballots"] == 300
    changed = after["fingerprint"] != before
    assert list(changed[changed].index) == [a]
    # A registry loaded again with other voters at one station: read again, seen.
    moved = registry.copy()
    moved.loc[moved["station_id"] == d, "registered_voters"] += 7
    queries.load_stations(wh, moved)
    state = by_id(kept.station_state(wh))
    assert state.at[d, "registered_voters"] == int(
        registry.loc[registry["station_id"] == d, "registered_voters"].iloc[0]) + 7
    assert state["fingerprint"][d] != after["fingerprint"][d]
    assert by_id(station_state(wh, ordered=False).drop(columns="fingerprint")).equals(
        state.drop(columns="fingerprint"))


def test_the_kept_registry_survives_a_merge_of_the_stations_table(day, monkeypatch,
                                                                   warehouse_url) -> None:
    wh, registry, _stations = day
    reads = []
    original = queries.station_registry
    monkeypatch.setattr(queries, "station_registry", lambda w: reads.append(1) or original(w))
    kept = RegistryCache()
    first = by_id(kept.station_state(wh))
    queries.load_stations(wh, registry)  # the same registry again: new parts, new blocks
    wh.command("OPTIMIZE TABLE $db.stations FINAL")
    second = by_id(kept.station_state(wh))
    wh.command("OPTIMIZE TABLE $db.stations FINAL")  # merged again: the same blocks
    third = by_id(kept.station_state(wh))
    assert first.equals(second) and second.equals(third)
    if warehouse_url.startswith("chdb://"):  # a server's folders have no UUID: read whole
        assert len(reads) == 2  # once, once more for the new blocks, not for the merge
