"""Dashboard benchmark: the server side of the wall and region pages, chDB against PostgreSQL.

For each size (10,000 stations, then 1,000,000 stations and 10,000,000 events) it loads a
simulated day into the warehouse through the worker's pure batch path (``process_batch``
then ``WarehouseSink``: validation, de-duplication, enrichment, the same rows the worker
writes) and times, median of several runs after a warm-up, with and without ``as_of``:
  wall    the wall's whole refresh, ``saylau.dashboard.snapshot.take_snapshot``: station state,
          every incident with its review, turnout at the passed official reporting times,
          alerts, rejected counts, latest event time, and the tables derived from them
          (region summary, headline, incidents by category and region, stations with
          incidents, coverage gaps, the content fingerprint); figures left out. The
          warm-up reads the registry and the turnout at the passed reporting times, which
          the wall keeps while the warehouse's parts show they did not change
          (saylau/warehouse/state.py RegistryCache, saylau/dashboard/moments.py), so the
          timed runs are the refreshes of a running wall (a first refresh costs more);
  region  one region's station states + the redeployment inputs (its observers' latest
          check events, its incidents) for the region with most stations.
In the same run it copies the same archive rows into a throwaway PostgreSQL cluster
(bench/postgres.py) with its best indexes and times SQL with the same meaning (its wall
derives the same tables with the same functions), after checking that both stores give
the same station states, turnout at the reporting times and incident counts.

The large day is the first 10,000,000 messages, in sending order, of the simulated
1,000,000-station day (the day up to the afternoon); the 10,000-station day is whole.
Days and loaded warehouses are cached in bench/.data (gitignored) and reused; a change of
saylau/warehouse/schema.sql starts a new warehouse cache.

Usage: timeout 7200 python bench/dashboard.py [--small-only] [--runs N]
Last line: ``dashboard_bench stations=… events=… wall_ms=… region_ms=… postgres_wall_ms=…
ratio=…`` for the large size (the 10,000-station figures on the line before).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from bench import postgres  # noqa: E402
from saylau.cli.simulation import read_messages, registry_for, simulate_to_file  # noqa: E402
from saylau.core.settings import Settings, load_settings  # noqa: E402
from saylau.core.validation import DayWindow, station_index  # noqa: E402
from saylau.dashboard.snapshot import Snapshot, reporting_moments, take_snapshot  # noqa: E402
from saylau.streams.batch import REJECTED_COLUMNS, Message, SeenIds, process_batch, settle  # noqa: E402
from saylau.streams.rows import EVENT_COLUMNS, EXITPOLL_COLUMNS, PROTOCOL_COLUMNS  # noqa: E402
from saylau.warehouse import queries  # noqa: E402
from saylau.warehouse.client import SCHEMA_PATH, Warehouse, create_schema, open_warehouse  # noqa: E402
from saylau.warehouse.state import region_observers, station_state  # noqa: E402

DATA = Path(__file__).resolve().parent / ".data"
BATCH = 50_000
SIZES = ((10_000, None), (1_000_000, 10_000_000))


@dataclass(frozen=True)
class Timing:
    wall_ms: float
    wall_as_of_ms: float
    region_ms: float
    region_as_of_ms: float


def cached_day(settings: Settings, stations: int) -> tuple[pd.DataFrame, Path]:
    """The registry and the simulated day of ``stations`` stations (written once)."""
    registry = registry_for(settings, stations)
    path = DATA / f"day-{stations}.jsonl"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        count, _truth = simulate_to_file(settings, registry, partial)
        partial.rename(path)
        print(f"simulated {count:,} messages for {stations:,} stations in "
              f"{time.perf_counter() - started:.0f} s -> {path}", flush=True)
    return registry, path


def schema_tag() -> str:
    return hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest()[:10]


def cached_rows(settings: Settings, registry: pd.DataFrame, day: Path,
                limit: int | None) -> Path:
    """The warehouse rows of the first ``limit`` messages of ``day``, as the worker makes
    them, in Parquet files per table and batch (computed once)."""
    folder = DATA / f"rows-{len(registry)}-{limit or 'all'}"
    if not (folder / "done").exists():
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        accepted = process_day(folder, settings, registry, day, limit)
        seconds = time.perf_counter() - started
        print(f"processed {accepted:,} events through process_batch in {seconds:.0f} s "
              f"({accepted / seconds:,.0f} events/s)", flush=True)
        (folder / "done").write_text(f"{accepted}\n")
    return folder


def process_day(folder: Path, settings: Settings, registry: pd.DataFrame, day: Path,
                limit: int | None) -> int:
    """The worker's pure batch path, batch after batch, with one de-duplication memory."""
    stations = station_index(registry)
    window = DayWindow.for_election(settings.election_date, settings.tz)
    recent, accepted = SeenIds(), 0
    written: set[str] = set()  # no warehouse to settle the filter's suspects: kept here
    now = dt.datetime.now(dt.UTC)
    for number, batch in enumerate(batches(day, limit)):
        result = process_batch(batch, stations, window, recent, now)
        settle(result, written & {s.event_id for s in result.suspects}, now)
        recent.add_all(result.event_ids)
        written.update(result.event_ids)
        for table, columns, rows in (("events", EVENT_COLUMNS, result.rows),
                                     ("protocols", PROTOCOL_COLUMNS, result.protocols),
                                     ("exitpolls", EXITPOLL_COLUMNS, result.exitpolls),
                                     ("rejected", REJECTED_COLUMNS, result.rejects)):
            if rows:
                frame = pd.DataFrame(rows, columns=list(columns))
                frame.to_parquet(folder / f"{table}-{number:05d}.parquet", index=False)
        accepted += len(result.rows)
        if number % 20 == 19:
            print(f"  ... {(number + 1) * BATCH:,} messages", flush=True)
    return accepted


def batches(day: Path, limit: int | None) -> Iterator[list[Message]]:
    messages = itertools.islice(read_messages(day), limit)
    offsets = itertools.count()
    while chunk := list(itertools.islice(messages, BATCH)):
        yield [Message(f"saylau.{m.topic_suffix}", 0, next(offsets), m.value) for m in chunk]


def cached_warehouse(registry: pd.DataFrame, rows: Path) -> Warehouse:
    """A chDB warehouse holding ``rows`` (bulk-inserted once per schema version)."""
    folder = DATA / f"chdb-{rows.name}-{schema_tag()}"
    warehouse = open_warehouse(f"chdb://{folder}")
    if not (folder / "loaded").exists():
        started = time.perf_counter()
        create_schema(warehouse)
        queries.load_stations(warehouse, registry)
        for table in ("protocols", "exitpolls", "events", "rejected"):  # the sink's order
            if any(rows.glob(f"{table}-*.parquet")):
                warehouse.command(f"INSERT INTO $db.{table} SELECT * FROM "  # noqa: S608
                                  "file({files:String}, Parquet)",
                                  {"files": str(rows / f"{table}-*.parquet")})
        print(f"bulk-inserted the rows into chDB in {time.perf_counter() - started:.0f} s",
              flush=True)
        (folder / "loaded").write_text("yes\n")
    return warehouse


def load_postgres(database: postgres.Database, registry: pd.DataFrame, rows: Path) -> None:
    """The same registry and archive rows, copied in (COPY), indexes built after."""
    started = time.perf_counter()
    database.copy_frame("stations", registry[list(postgres.STATION_COLUMNS)])
    for table, columns in (("events", EVENT_COLUMNS), ("rejected", REJECTED_COLUMNS)):
        for part in sorted(rows.glob(f"{table}-*.parquet")):
            frame = pd.read_parquet(part)[list(columns)]
            for column in ("raw", "detail", "payload"):  # PostgreSQL text cannot hold NUL
                if column in frame:
                    frame[column] = frame[column].str.replace("\x00", "\ufffd", regex=False)
            database.copy_frame(table, frame)
    print(f"copied the rows into PostgreSQL in {time.perf_counter() - started:.0f} s",
          flush=True)


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm-up: caches, first-query compilation
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def region_refresh(warehouse: Warehouse, region: str, as_of: dt.datetime | None) -> tuple:
    """The region page: its stations' states and the redeployment inputs."""
    state = station_state(warehouse, as_of, region=region)
    observers = region_observers(warehouse, region, as_of)
    incidents = queries.region_incidents(warehouse, region, as_of)
    return state, observers, incidents


def time_chdb(warehouse: Warehouse, region: str, as_of: dt.datetime,
              moments: list[dt.datetime], runs: int) -> Timing:
    names = {region: region}
    return Timing(
        wall_ms=median_ms(lambda: take_snapshot(warehouse, None, names, moments), runs),
        wall_as_of_ms=median_ms(lambda: take_snapshot(warehouse, as_of, names, moments),
                                runs),
        region_ms=median_ms(lambda: region_refresh(warehouse, region, None), runs),
        region_as_of_ms=median_ms(lambda: region_refresh(warehouse, region, as_of), runs))


def time_postgres(database: postgres.Database, region: str, as_of: dt.datetime,
                  moments: list[dt.datetime], runs: int) -> Timing:
    names = {region: region}
    return Timing(
        wall_ms=median_ms(lambda: database.wall(None, moments, names), runs),
        wall_as_of_ms=median_ms(lambda: database.wall(as_of, moments, names), runs),
        region_ms=median_ms(lambda: database.region(region, None), runs),
        region_as_of_ms=median_ms(lambda: database.region(region, as_of), runs))


def check_same_answers(warehouse: Warehouse, database: postgres.Database, region: str,
                       as_of: dt.datetime, moments: list[dt.datetime]) -> None:
    """Both stores must give the same answers, or the timings compare nothing: station
    states, and the whole wall (turnout at the reporting times, incidents by category,
    region and station, headline, region summary, coverage gaps)."""
    for moment in (None, as_of):
        check_same_wall(take_snapshot(warehouse, moment, {}, moments),
                        database.wall(moment, moments, {}), moment)
    for moment in (None, as_of):
        ours = station_state(warehouse, moment).set_index("station_id").sort_index()
        theirs = database.station_state(moment).set_index("station_id").sort_index()
        columns = ["ballots", "ballots_official", "present", "removed", "coverage"]
        if not ours[columns].equals(theirs[columns]):
            differing = (ours[columns] != theirs[columns]).any(axis=1)
            raise SystemExit(f"PostgreSQL and chDB disagree on {int(differing.sum())} stations "
                             f"as of {moment}: e.g. {list(ours.index[differing][:3])}")
    ours_obs = region_observers(warehouse, region, as_of)
    theirs_obs = database.region(region, as_of)[1]
    if len(ours_obs) != len(theirs_obs):
        raise SystemExit(f"observers of {region}: chDB {len(ours_obs)}, "
                         f"PostgreSQL {len(theirs_obs)}")


def check_same_wall(ours: Snapshot, theirs: Snapshot, moment: dt.datetime | None) -> None:
    def same(name: str, a: pd.DataFrame, b: pd.DataFrame, key: list[str] | None) -> None:
        if key:
            a = a.sort_values(key, ignore_index=True)
            b = b.sort_values(key, ignore_index=True)
        a, b = a.reset_index(drop=True), b.reset_index(drop=True)
        if a.shape != b.shape or not (a.astype(str).to_numpy() == b.astype(str).to_numpy()).all():
            raise SystemExit(f"PostgreSQL and chDB disagree on the wall's {name} as of "
                             f"{moment}:\n{a.head(8)}\n{b.head(8)}")

    if ours.latest != theirs.latest or ours.rejected != theirs.rejected \
            or ours.headline != theirs.headline:
        raise SystemExit(f"PostgreSQL and chDB disagree as of {moment}: latest "
                         f"{ours.latest} / {theirs.latest}, rejected {ours.rejected} / "
                         f"{theirs.rejected}, headline {ours.headline} / {theirs.headline}")
    same("turnout at the reporting times", ours.reporting, theirs.reporting, None)
    same("incidents by category", ours.incidents_by_category.reset_index(),
         theirs.incidents_by_category.reset_index(), ["category"])
    same("incident density", ours.density, theirs.density, ["region_code"])
    same("stations with incidents", ours.incident_stations, theirs.incident_stations,
         ["station_id"])
    same("incident ids", ours.incidents[["incident_id", "status"]],
         theirs.incidents[["incident_id", "status"]], ["incident_id"])
    same("region summary", ours.summary, theirs.summary, None)
    same("coverage gaps", ours.gaps, theirs.gaps, ["region_code"])
    same("alerts", ours.alerts[["alert_id"]], theirs.alerts[["alert_id"]], None)


def run_size(settings: Settings, stations: int, limit: int | None, runs: int,
             pg: postgres.Cluster | None) -> tuple[int, Timing, Timing | None]:
    registry, day = cached_day(settings, stations)
    rows = cached_rows(settings, registry, day, limit)
    warehouse = cached_warehouse(registry, rows)
    try:
        events = sum(queries.event_counts(warehouse).values())
        region = str(registry["region_code"].value_counts().idxmax())
        latest = queries.latest_event_time(warehouse)
        assert latest is not None, "the warehouse holds no events"
        as_of = latest - dt.timedelta(hours=3)
        print(f"{stations:,} stations, {events:,} events in chDB; region page: {region} "
              f"({int((registry['region_code'] == region).sum()):,} stations); "
              f"as_of = latest - 3 h = {as_of:%H:%M} UTC", flush=True)
        moments = reporting_moments(settings)
        passed = sum(m <= latest for m in moments)
        print(f"  reporting times passed: {passed} of {len(moments)}", flush=True)
        theirs, database = None, None
        if pg is not None:
            database = pg.database(f"day_{stations}_{limit or 'all'}_{postgres.SCHEMA_TAG}",
                                   lambda db: load_postgres(db, registry, rows))
            check_same_answers(warehouse, database, region, as_of, moments)
            print("  PostgreSQL and chDB give the same wall (now and as_of)", flush=True)
        ours = time_chdb(warehouse, region, as_of, moments, runs)
        print(f"  chDB       wall {ours.wall_ms:7.0f} ms (as_of {ours.wall_as_of_ms:7.0f} ms)  "
              f"region {ours.region_ms:7.0f} ms (as_of {ours.region_as_of_ms:7.0f} ms)  "
              f"[{machine()}]", flush=True)
        if database is not None:
            theirs = time_postgres(database, region, as_of, moments, runs)
            print(f"  PostgreSQL wall {theirs.wall_ms:7.0f} ms (as_of "
                  f"{theirs.wall_as_of_ms:7.0f} ms)  region {theirs.region_ms:7.0f} ms "
                  f"(as_of {theirs.region_as_of_ms:7.0f} ms)  [{machine()}]", flush=True)
            database.close()
    finally:
        warehouse.close()
    return events, ours, theirs


def summary_line(name: str, stations: int, events: int, ours: Timing,
                 theirs: Timing | None) -> str:
    pg_ms = f"{theirs.wall_ms:.0f}" if theirs else "nan"
    ratio = f"{theirs.wall_ms / ours.wall_ms:.1f}" if theirs else "nan"
    return (f"{name} stations={stations} events={events} wall_ms={ours.wall_ms:.0f} "
            f"region_ms={ours.region_ms:.0f} postgres_wall_ms={pg_ms} ratio={ratio}")


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load} (a shared machine: figures vary)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--small-only", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    settings = load_settings()
    sizes = SIZES[:1] if args.small_only else SIZES
    cluster = None if args.no_postgres else postgres.start_cluster(DATA / "postgres")
    lines = []
    print(machine(), flush=True)
    try:
        for stations, limit in sizes:
            events, ours, theirs = run_size(settings, stations, limit, args.runs, cluster)
            name = "dashboard_bench" if stations == sizes[-1][0] else "dashboard_bench_10k"
            lines.append(summary_line(name, stations, events, ours, theirs))
    finally:
        if cluster is not None:
            cluster.stop()
    print(machine())
    for line in lines:
        print(line)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
