"""A throwaway PostgreSQL cluster for bench/dashboard.py, and the dashboard's queries in SQL.

The cluster lives in a folder (initdb, then pg_ctl on a free port, trust auth on
127.0.0.1); Debian's `postgresql` is apt-get installed when missing and we are root on
Debian. As root, the server runs as the `postgres` user (it refuses to run as root).

The queries mean what saylau/warehouse/queries.py's do: the latest turnout report per station and
source, each observer's latest check event, the latest assignment, all as of a moment,
ties in time going to the larger value; every incident with its latest review; each
station's latest turnout report at each reporting time; the alerts that hold. ``wall``
derives the wall's tables from those answers with the dashboard's own pure functions, as
``saylau.dashboard.snapshot.take_snapshot`` does. PostgreSQL gets its best plain indexes for them:
partial B-trees per kind that hold every column the query reads, in the order DISTINCT ON
wants them (index-only scans after VACUUM), an index on event time, the registry by
region. No materialised latest-state table: that would answer another question.
"""

from __future__ import annotations

import datetime as dt
import glob
import io
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import psycopg

from saylau.dashboard.snapshot import (
    Snapshot,
    built_snapshot,
    incident_panels,
    snapshot_moment,
    state_panels,
)
from saylau.kafka.broker import free_port
from saylau.warehouse.state import assemble

STATION_COLUMNS = ("station_id", "region_code", "lat", "lon", "registered_voters")
SCHEMA_TAG = "v1"  # change when the tables or indexes below change: a new database
END_OF_TIME = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
SERVER_SETTINGS = {  # a dedicated analytics box, within what this shared machine allows
    "shared_buffers": "2GB", "work_mem": "256MB", "maintenance_work_mem": "1GB",
    "effective_cache_size": "8GB", "max_parallel_workers_per_gather": "2",
    "random_page_cost": "1.1", "fsync": "off", "synchronous_commit": "off",
    "full_page_writes": "off", "max_wal_size": "8GB"}

TABLES = """
CREATE TABLE stations (
    station_id text PRIMARY KEY, region_code text NOT NULL, lat float8 NOT NULL,
    lon float8 NOT NULL, registered_voters integer NOT NULL);
CREATE TABLE events (
    event_id text NOT NULL, kind text NOT NULL, station_id text NOT NULL,
    region_code text NOT NULL, observer_id text NOT NULL, occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL, ballots_issued integer NOT NULL,
    registered_voters integer NOT NULL, source text NOT NULL, role text NOT NULL,
    reason text NOT NULL, category text NOT NULL, severity smallint NOT NULL,
    incident_id text NOT NULL, verdict text NOT NULL, target_station_id text NOT NULL,
    payload text NOT NULL);
CREATE TABLE rejected (source_topic text, source_partition integer, source_offset bigint,
    reason text, detail text, raw text, rejected_at timestamptz);
"""

INDEXES = """
CREATE INDEX stations_region ON stations (region_code, station_id);
CREATE INDEX events_turnout_latest ON events
    (station_id, source, occurred_at DESC, ballots_issued DESC) WHERE kind = 'turnout';
CREATE INDEX events_check_latest ON events
    (station_id, observer_id, occurred_at DESC) INCLUDE (kind, reason)
    WHERE kind IN ('checkin', 'checkout') AND role = 'observer';
CREATE INDEX events_assignment ON events (target_station_id, occurred_at)
    WHERE kind = 'assignment';
CREATE INDEX events_incident_region ON events (region_code, occurred_at)
    INCLUDE (event_id, station_id, category, severity) WHERE kind = 'incident';
CREATE INDEX events_time ON events (occurred_at);
CREATE INDEX rejected_reason ON rejected (reason);
"""

# Added after SCHEMA_TAG v1 was loaded: created where missing, so a loaded database is
# kept (the alerts table is empty, as the bench's warehouse's: no alert rules run here).
EXTRA_TABLES = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id text NOT NULL, kind text NOT NULL, region_code text NOT NULL,
    station_id text NOT NULL, occurred_at timestamptz NOT NULL,
    raised_at timestamptz NOT NULL, active smallint NOT NULL, version bigint NOT NULL,
    value float8 NOT NULL, threshold float8 NOT NULL, detail text NOT NULL);
"""
EXTRA_INDEXES = {
    "events_incident_all": """CREATE INDEX events_incident_all ON events (event_id)
        INCLUDE (station_id, region_code, category, severity, occurred_at)
        WHERE kind = 'incident'""",
    "events_review_latest": """CREATE INDEX events_review_latest ON events
        (incident_id, occurred_at DESC) INCLUDE (verdict) WHERE kind = 'review'""",
    "alerts_latest": "CREATE INDEX alerts_latest ON alerts (alert_id, version DESC)",
}

STATUS = "CASE WHEN kind = 'checkin' THEN kind ELSE kind || ':' || reason END"
RANK = "CASE WHEN kind = 'checkin' THEN 0 WHEN reason = 'removed' THEN 2 ELSE 1 END"

TURNOUT = """
SELECT DISTINCT ON (station_id, source) station_id, source, ballots_issued, occurred_at
FROM events
WHERE kind = 'turnout' AND occurred_at <= %(as_of)s {stations}
ORDER BY station_id, source, occurred_at DESC, ballots_issued DESC"""

PRESENCE = f"""
SELECT DISTINCT ON (station_id, observer_id) station_id, observer_id,
       {STATUS} AS status, occurred_at
FROM events
WHERE kind IN ('checkin', 'checkout') AND role = 'observer'
      AND occurred_at <= %(as_of)s {{stations}}
ORDER BY station_id, observer_id, occurred_at DESC, {RANK} DESC"""

IN_REGION = ("AND station_id IN (SELECT station_id FROM stations "
             "WHERE region_code = %(region)s)")

STATE = """
WITH turnout AS ({turnout}), presence AS ({presence})
SELECT s.station_id, s.region_code, s.lat, s.lon, s.registered_voters,
       coalesce(t.ballots, 0) AS ballots, coalesce(t.ballots_official, 0) AS ballots_official,
       coalesce(p.present, 0) AS present, coalesce(p.removed, 0) AS removed,
       t.turnout_at, p.changed_at, a.assigned_at
FROM stations s
LEFT JOIN (SELECT station_id,
                  max(ballots_issued) FILTER (WHERE source = 'observer_count') AS ballots,
                  max(ballots_issued) FILTER (WHERE source = 'official') AS ballots_official,
                  max(occurred_at) AS turnout_at
           FROM turnout GROUP BY station_id) t USING (station_id)
LEFT JOIN (SELECT station_id, (count(*) FILTER (WHERE status = 'checkin') > 0)::int AS present,
                  (count(*) FILTER (WHERE status = 'checkout:removed') > 0)::int AS removed,
                  max(occurred_at) AS changed_at
           FROM presence GROUP BY station_id) p USING (station_id)
LEFT JOIN (SELECT target_station_id AS station_id, max(occurred_at) AS assigned_at
           FROM events WHERE kind = 'assignment' AND occurred_at <= %(as_of)s {targets}
           GROUP BY target_station_id) a USING (station_id)
WHERE true {registry}
"""

OBSERVERS = """
SELECT DISTINCT ON (observer_id) observer_id, station_id AS last_station,
       status AS last_status, occurred_at AS changed_at
FROM ({presence}) AS latest
ORDER BY observer_id, occurred_at DESC, station_id DESC"""

INCIDENTS = """
SELECT event_id AS incident_id, min(station_id) AS station_id, min(category) AS category,
       min(severity) AS severity, min(occurred_at) AS occurred_at
FROM events
WHERE kind = 'incident' AND region_code = %(region)s AND occurred_at <= %(as_of)s
GROUP BY event_id ORDER BY 5, 1"""

# Every incident (each once) with its latest review's verdict as of a moment.
ALL_INCIDENTS = """
SELECT i.incident_id, i.station_id, i.region_code, i.category, i.severity, i.occurred_at,
       CASE WHEN coalesce(r.verdict, '') = '' THEN 'unverified' ELSE r.verdict END AS status
FROM (SELECT DISTINCT ON (event_id) event_id AS incident_id, station_id, region_code,
             category, severity, occurred_at
      FROM events WHERE kind = 'incident' AND occurred_at <= %(as_of)s
      ORDER BY event_id) AS i
LEFT JOIN (SELECT DISTINCT ON (incident_id) incident_id, verdict
           FROM events WHERE kind = 'review' AND occurred_at <= %(as_of)s
           ORDER BY incident_id, occurred_at DESC) AS r USING (incident_id)
ORDER BY i.occurred_at, i.incident_id"""

# National ballots per source at one moment: each station's latest report by then.
TURNOUT_AT = """
SELECT source, sum(ballots_issued) AS ballots, count(*) AS stations
FROM (SELECT DISTINCT ON (station_id, source) station_id, source, ballots_issued
      FROM events WHERE kind = 'turnout' AND occurred_at <= %(moment)s
      ORDER BY station_id, source, occurred_at DESC, ballots_issued DESC) AS latest
GROUP BY source"""

ALERTS = """
SELECT alert_id, kind, region_code, station_id, occurred_at, value, threshold, detail
FROM (SELECT DISTINCT ON (alert_id) * FROM alerts ORDER BY alert_id, version DESC) AS a
WHERE active = 1 AND occurred_at <= %(as_of)s
ORDER BY occurred_at, alert_id"""

REJECTED = "SELECT reason, count(*) FROM rejected GROUP BY reason ORDER BY reason"
LATEST = "SELECT max(occurred_at) FROM events"


class PostgresUnavailable(RuntimeError):
    pass


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, or Debian's versioned folder."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


def install_if_missing() -> Path:
    folder = binaries()
    if folder is None and os.geteuid() == 0 and Path("/etc/debian_version").exists():
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], check=True,
                       timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        folder = binaries()
    if folder is None:
        raise PostgresUnavailable("PostgreSQL not found: apt-get install postgresql")
    return folder


def start_cluster(folder: Path) -> Cluster:
    return Cluster(folder, install_if_missing()).start()


class Cluster:
    """One PostgreSQL server on a data folder that is kept between runs (loaded data too)."""

    def __init__(self, folder: Path, bin_dir: Path) -> None:
        self.folder, self.bin_dir, self.port = folder, bin_dir, free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str, timeout: float = 600) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        subprocess.run([*prefix, str(self.bin_dir / args[0]), *args[1:]], check=True,
                       timeout=timeout, stdout=subprocess.DEVNULL)

    def start(self) -> Cluster:
        data = self.folder / "data"
        if not (data / "PG_VERSION").exists():
            shutil.rmtree(data, ignore_errors=True)
            self.folder.mkdir(parents=True, exist_ok=True)
            if self.as_root:
                shutil.chown(self.folder, "postgres", "postgres")
            self._run("initdb", "-D", str(data), "-A", "trust", "-U", "bench", "-E", "UTF8",
                      "--no-sync")
        options = " ".join([f"-p {self.port}", "-c listen_addresses=127.0.0.1",
                            f"-c unix_socket_directories={self.folder}"]
                           + [f"-c {k}={v}" for k, v in SERVER_SETTINGS.items()])
        self._run("pg_ctl", "-D", str(data), "-l", str(self.folder / "server.log"), "-w",
                  "-t", "120", "-o", options, "start")
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="bench",
                               dbname=database, autocommit=True)

    def database(self, name: str, load: Callable[[Database], None]) -> Database:
        """The database ``name``, created and filled by ``load`` the first time."""
        with self.connect() as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                   [name]).fetchone()
            if exists and not _is_complete(self, name):
                admin.execute(f'DROP DATABASE "{name}"')  # a load that was interrupted
                exists = None
            if not exists:
                admin.execute(f'CREATE DATABASE "{name}"')
                database = Database(self.connect(name))
                database.create_tables()
                load(database)
                database.finish_load()
                return database
        database = Database(self.connect(name))
        database.add_extras()
        return database


def _is_complete(cluster: Cluster, name: str) -> bool:
    with cluster.connect(name) as conn:
        row = conn.execute("SELECT to_regclass('load_complete') IS NOT NULL").fetchone()
        return bool(row and row[0])


class Database:
    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def create_tables(self) -> None:
        self.conn.execute(TABLES)

    def copy_frame(self, table: str, frame: pd.DataFrame) -> None:
        text = frame.to_csv(index=False, header=False)
        # NULL '\\N': an empty field is an empty string, as in the warehouse.
        with self.conn.cursor().copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, NULL '\\N')") \
                as copy:
            copy.write(text)

    def finish_load(self) -> None:
        started = time.perf_counter()
        self.conn.execute(INDEXES)
        self.conn.execute(EXTRA_TABLES)
        for sql in EXTRA_INDEXES.values():
            self.conn.execute(sql)
        self.conn.execute("VACUUM ANALYZE")  # visibility map: index-only scans
        self.conn.execute("CREATE TABLE load_complete ()")
        print(f"PostgreSQL indexes and VACUUM ANALYZE in {time.perf_counter() - started:.0f} s",
              flush=True)

    def add_extras(self) -> None:
        """Tables and indexes added since the database was loaded, where missing."""
        self.conn.execute(EXTRA_TABLES)
        present = {row[0] for row in self.conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'").fetchall()}
        missing = [sql for name, sql in EXTRA_INDEXES.items() if name not in present]
        if missing:
            started = time.perf_counter()
            for sql in missing:
                self.conn.execute(sql)
            self.conn.execute("VACUUM ANALYZE")
            print(f"PostgreSQL: {len(missing)} more indexes in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)

    def close(self) -> None:
        self.conn.close()

    def frame(self, sql: str, params: dict) -> pd.DataFrame:
        """A query's rows through COPY TO STDOUT: the fastest way to many rows in pandas."""
        query = psycopg.ClientCursor(self.conn).mogrify(sql, params)
        buffer = io.BytesIO()
        with self.conn.cursor().copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)") \
                as copy:
            for block in copy:
                buffer.write(block)
        buffer.seek(0)
        return pd.read_csv(buffer, dtype={"station_id": str, "region_code": str})

    def station_state(self, as_of: dt.datetime | None,
                      region: str | None = None) -> pd.DataFrame:
        stations = IN_REGION if region else ""
        sql = STATE.format(turnout=TURNOUT.format(stations=stations),
                           presence=PRESENCE.format(stations=stations),
                           targets=IN_REGION.replace("station_id IN", "target_station_id IN")
                           if region else "",
                           registry="AND s.region_code = %(region)s" if region else "")
        frame = self.frame(sql, {"as_of": as_of or END_OF_TIME, "region": region})
        return assemble(frame)

    def incidents(self, as_of: dt.datetime | None) -> pd.DataFrame:
        frame = self.frame(ALL_INCIDENTS, {"as_of": as_of or END_OF_TIME})
        frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
        return frame

    def turnout_at_moments(self, moments: list[dt.datetime],
                           as_of: dt.datetime | None) -> pd.DataFrame:
        """As ``queries.turnout_at_moments``: source, moment, ballots, stations."""
        rows = []
        for moment in moments:
            bound = min(moment, as_of) if as_of is not None else moment
            for source, ballots, stations in self.conn.execute(
                    TURNOUT_AT, {"moment": bound}).fetchall():
                rows.append((source, pd.Timestamp(moment).tz_convert("UTC"), int(ballots),
                             int(stations)))
        frame = pd.DataFrame(rows, columns=["source", "moment", "ballots", "stations"])
        return frame.sort_values(["moment", "source"], ignore_index=True)

    def latest_event_time(self) -> dt.datetime | None:
        row = self.conn.execute(LATEST).fetchone()
        return row[0] if row else None

    def wall(self, as_of: dt.datetime | None, moments: list[dt.datetime],
             region_names: dict[str, str]) -> Snapshot:
        """What ``take_snapshot`` reads, from PostgreSQL, and the same tables derived."""
        latest = snapshot_moment(as_of, self.latest_event_time())
        passed = [m for m in moments if latest is not None and m <= latest]
        state = self.station_state(as_of)
        incidents = self.incidents(as_of)
        at_moments = self.turnout_at_moments(passed, as_of)
        alerts = self.frame(ALERTS, {"as_of": as_of or END_OF_TIME})
        rejected = sum(count for _reason, count in self.conn.execute(REJECTED).fetchall())
        # Stations come in one order every time here, so their numbers fingerprint the state.
        stations = state[["ballots", "ballots_official", "covered", "removed"]].assign(
            en_route=state["coverage"] == "en_route", voters=state["registered_voters"])
        return built_snapshot(as_of, latest, state, state_panels(state, region_names),
                              incident_panels(incidents, state), stations, incidents,
                              at_moments, alerts, rejected, moments)

    def region(self, region: str, as_of: dt.datetime | None) -> tuple:
        params = {"as_of": as_of or END_OF_TIME, "region": region}
        state = self.station_state(as_of, region)
        observers = self.frame(OBSERVERS.format(presence=PRESENCE.format(stations=IN_REGION)),
                               params)
        incidents = self.frame(INCIDENTS, params)
        return state, observers, incidents


if __name__ == "__main__":
    print("bench/postgres.py is bench/dashboard.py's PostgreSQL helper: run that instead")
