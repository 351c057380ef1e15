-- Saylau warehouse schema. The same text runs on chDB and on ClickHouse server >= 18.16:
-- no DateTime64, TTL, window functions or toStartOfInterval. `$db` is the database name.
-- Every statement is idempotent (IF NOT EXISTS), so start-up may run this file again.

CREATE DATABASE IF NOT EXISTS $db;

-- The raw archive: every accepted event, unchanged in `payload`, plus the columns that
-- aggregates need. A resent event (same event_id) is stored again until a merge removes
-- it, so counting queries use FINAL or uniqExact(event_id), never count().
CREATE TABLE IF NOT EXISTS $db.events (
    event_id String,
    kind String,
    station_id String,
    region_code String,
    observer_id String,
    occurred_at DateTime('UTC'),
    received_at DateTime('UTC'),
    ballots_issued UInt32,
    registered_voters UInt32,
    source String,
    role String,
    reason String,
    category String,
    severity UInt8,
    incident_id String,
    verdict String,
    target_station_id String,
    payload String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (station_id, event_id);

-- Messages that broke the contract, with a machine-readable reason. Keyed by the Kafka
-- position of the message so a re-processed message replaces itself.
CREATE TABLE IF NOT EXISTS $db.rejected (
    source_topic String,
    source_partition UInt32,
    source_offset UInt64,
    reason String,
    detail String,
    raw String,
    rejected_at DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY (source_topic, source_partition, source_offset);

-- The station registry the worker enriched events with (loaded at start-up).
CREATE TABLE IF NOT EXISTS $db.stations (
    station_id String,
    name String,
    region_code String,
    district String,
    settlement String,
    address String,
    lat Float64,
    lon Float64,
    registered_voters UInt32
) ENGINE = ReplacingMergeTree()
ORDER BY station_id;

-- Protocols (observer copies and official results). One row per event; the latest per
-- (station, source) by event time is the one that counts. Votes as parallel arrays.
CREATE TABLE IF NOT EXISTS $db.protocols (
    event_id String,
    station_id String,
    region_code String,
    source String,
    occurred_at DateTime('UTC'),
    registered UInt32,
    ballots_received UInt32,
    ballots_issued UInt32,
    ballots_cast UInt32,
    invalid UInt32,
    options Array(String),
    votes Array(UInt32)
) ENGINE = ReplacingMergeTree()
ORDER BY (station_id, source, event_id);

-- Double-entry tabulation (docs/tabulation.md), one row per fact (`fact`): `photo` a
-- protocol photo an observer sent (actor: the observer), `entry` a volunteer's typing of a
-- photo (actor: the volunteer), `agreed` the digitised copy the agreeing entries made,
-- `release` headquarters released (released=1) or withdrew a photo, `official` a row of a
-- commission publication (`publication`). A resent event replaces its own rows.
CREATE TABLE IF NOT EXISTS $db.tabulation (
    event_id String,
    fact String,
    station_id String,
    region_code String,
    actor String,
    occurred_at DateTime('UTC'),
    photo_sha256 String,
    released UInt8,
    publication String,
    entry_ids Array(String),
    entered_by Array(String),
    registered UInt32,
    ballots_received UInt32,
    ballots_issued UInt32,
    ballots_cast UInt32,
    invalid UInt32,
    options Array(String),
    votes Array(UInt32)
) ENGINE = ReplacingMergeTree()
ORDER BY (station_id, fact, event_id, photo_sha256);

-- Exit-poll interview batches: tallies are sums over distinct event_ids.
CREATE TABLE IF NOT EXISTS $db.exitpolls (
    event_id String,
    station_id String,
    region_code String,
    occurred_at DateTime('UTC'),
    window_start DateTime('UTC'),
    window_end DateTime('UTC'),
    interviews UInt32,
    options Array(String),
    counts Array(UInt32)
) ENGINE = ReplacingMergeTree()
ORDER BY (station_id, event_id);

-- Per-station turnout by 15-minute bucket of event time: the highest cumulative count
-- reported in the bucket (a max, so a duplicate or late report cannot distort it).
CREATE TABLE IF NOT EXISTS $db.turnout_15m (
    region_code String,
    station_id String,
    source String,
    bucket DateTime('UTC'),
    ballots AggregateFunction(max, UInt32)
) ENGINE = AggregatingMergeTree()
ORDER BY (region_code, bucket, station_id, source);

CREATE MATERIALIZED VIEW IF NOT EXISTS $db.turnout_15m_mv TO $db.turnout_15m AS
SELECT region_code, station_id, source, toStartOfFifteenMinutes(occurred_at) AS bucket,
       maxState(ballots_issued) AS ballots
FROM $db.events
WHERE kind = 'turnout'
GROUP BY region_code, station_id, source, bucket;

-- Incidents per region, category and 15-minute bucket, counted by distinct event_id.
CREATE TABLE IF NOT EXISTS $db.incidents_15m (
    region_code String,
    category String,
    bucket DateTime('UTC'),
    incidents AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree()
ORDER BY (region_code, bucket, category);

CREATE MATERIALIZED VIEW IF NOT EXISTS $db.incidents_15m_mv TO $db.incidents_15m AS
SELECT region_code, category, toStartOfFifteenMinutes(occurred_at) AS bucket,
       uniqExactState(event_id) AS incidents
FROM $db.events
WHERE kind = 'incident'
GROUP BY region_code, category, bucket;

-- Incidents by region and time, for the burst rule's look-back (the archive is keyed
-- by station, so a time range there would be a full scan).
CREATE TABLE IF NOT EXISTS $db.incident_times (
    region_code String,
    occurred_at DateTime('UTC'),
    event_id String
) ENGINE = ReplacingMergeTree()
ORDER BY (region_code, occurred_at, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS $db.incident_times_mv TO $db.incident_times AS
SELECT region_code, occurred_at, event_id
FROM $db.events
WHERE kind = 'incident';

-- Incident reports and their reviews, narrow copies kept as events arrive: the wall reads
-- every incident as of a moment, and in the archive (keyed by station) the two kinds
-- would take a scan of every event. A resent event lands twice until a merge: readers
-- GROUP BY event_id as in the archive.
CREATE TABLE IF NOT EXISTS $db.incident_reports (
    event_id String,
    station_id String,
    region_code String,
    category String,
    severity UInt8,
    occurred_at DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY (occurred_at, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS $db.incident_reports_mv TO $db.incident_reports AS
SELECT event_id, station_id, region_code, category, severity, occurred_at
FROM $db.events
WHERE kind = 'incident';

CREATE TABLE IF NOT EXISTS $db.incident_reviews (
    incident_id String,
    occurred_at DateTime('UTC'),
    event_id String,
    verdict String
) ENGINE = ReplacingMergeTree()
ORDER BY (incident_id, occurred_at, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS $db.incident_reviews_mv TO $db.incident_reviews AS
SELECT incident_id, occurred_at, event_id, verdict
FROM $db.events
WHERE kind = 'review';

-- Turnout reports alone, in station order: turnout as of a moment (the reporting times on
-- the wall, time travel) reads a narrow table instead of the archive (at 1M stations 0.6 s
-- -> 0.4 s). Readers take the newest report key (max), which a resent report landing twice
-- until a merge does not change. The source is one byte, compared as text as before:
-- reading it is a sixth of the reporting-time query. Its names are the contract's
-- (saylau/core/contract.py, Turnout.source; a test holds the two equal), and validation admits
-- no other. The view maps any other text to observer_count rather than fail the whole
-- insert of a batch: a writer that skips validation (the pipeline bench's raw ceiling)
-- stores turnout events without a source.
CREATE TABLE IF NOT EXISTS $db.turnout_reports (
    station_id String,
    source Enum8('observer_count' = 1, 'official' = 2),
    occurred_at DateTime('UTC'),
    ballots_issued UInt32
) ENGINE = ReplacingMergeTree()
ORDER BY (station_id, source, occurred_at, ballots_issued);

CREATE MATERIALIZED VIEW IF NOT EXISTS $db.turnout_reports_mv TO $db.turnout_reports AS
SELECT station_id, CAST(if(source = 'official', 'official', 'observer_count')
            AS Enum8('observer_count' = 1, 'official' = 2)) AS source,
       occurred_at, ballots_issued
FROM $db.events
WHERE kind = 'turnout';

-- Alerts raised by the worker. alert_id is derived from what the alert is about, and an
-- alert is re-computed whenever a report that could change it arrives; the newest
-- version says whether it holds (active = 1) or was withdrawn by later evidence.
CREATE TABLE IF NOT EXISTS $db.alerts (
    alert_id String,
    kind String,
    region_code String,
    station_id String,
    occurred_at DateTime('UTC'),
    raised_at DateTime('UTC'),
    active UInt8,
    version UInt64,
    value Float64,
    threshold Float64,
    detail String
) ENGINE = ReplacingMergeTree(version)
ORDER BY (kind, station_id, region_code, alert_id);  -- the worker looks alerts up by kind
                                                     -- and station or region

-- Latest-state tables, kept current as events arrive, so "now" needs no archive scan:
-- per station, the newest turnout report of each source; per station and observer, the
-- newest check-in/out. They answer for any moment at or after the newest event time
-- (saylau/warehouse/state.py checks); earlier moments read the archive. argMax and max give the
-- same answer when a row is aggregated twice, so a resent event or a second back-fill
-- changes nothing. The ordering keys are numbers (tuples make slow states): time, then a
-- tie goes to the larger count, and to a check-out over a check-in (removal first), the
-- same in the archive queries. A row of the other source has key 0: it never wins.
CREATE TABLE IF NOT EXISTS $db.turnout_latest (
    station_id String,
    observer_count_latest AggregateFunction(argMax, UInt32, UInt64),
    official_latest AggregateFunction(argMax, UInt32, UInt64),
    reported_max AggregateFunction(max, DateTime('UTC'))
) ENGINE = AggregatingMergeTree()
ORDER BY station_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS $db.turnout_latest_mv TO $db.turnout_latest AS
SELECT station_id,
       argMaxState(if(source = 'observer_count', ballots_issued, toUInt32(0)),
                   if(source = 'observer_count', toUInt64(occurred_at) * 4294967296 + ballots_issued,
                      toUInt64(0))) AS observer_count_latest,
       argMaxState(if(source = 'official', ballots_issued, toUInt32(0)),
                   if(source = 'official', toUInt64(occurred_at) * 4294967296 + ballots_issued,
                      toUInt64(0))) AS official_latest,
       maxState(occurred_at) AS reported_max
FROM $db.events
WHERE kind = 'turnout'
GROUP BY station_id;

-- Only observers cover a station: exit pollsters and journalists check in too.
CREATE TABLE IF NOT EXISTS $db.observer_latest (
    station_id String,
    observer_id String,
    status_latest AggregateFunction(argMax, String, UInt64),
    changed_max AggregateFunction(max, DateTime('UTC'))
) ENGINE = AggregatingMergeTree()
ORDER BY (station_id, observer_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS $db.observer_latest_mv TO $db.observer_latest AS
SELECT station_id, observer_id,
       argMaxState(if(kind = 'checkin', kind, concat(kind, ':', reason)),
                   toUInt64(occurred_at) * 4 + multiIf(kind = 'checkin', 0,
                                                       reason = 'removed', 2, 1))
           AS status_latest,
       maxState(occurred_at) AS changed_max
FROM $db.events
WHERE kind IN ('checkin', 'checkout') AND role = 'observer'
GROUP BY station_id, observer_id;

-- Assignments by target station and time: a few rows, read for any moment.
CREATE TABLE IF NOT EXISTS $db.assignment_times (
    target_station_id String,
    occurred_at DateTime('UTC'),
    event_id String
) ENGINE = ReplacingMergeTree()
ORDER BY (target_station_id, occurred_at, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS $db.assignment_times_mv TO $db.assignment_times AS
SELECT target_station_id, occurred_at, event_id
FROM $db.events
WHERE kind = 'assignment';

-- Back-fill an archive that predates these tables (into an empty table only).
INSERT INTO $db.turnout_latest
SELECT station_id,
       argMaxState(if(source = 'observer_count', ballots_issued, toUInt32(0)),
                   if(source = 'observer_count', toUInt64(occurred_at) * 4294967296 + ballots_issued,
                      toUInt64(0))) AS observer_count_latest,
       argMaxState(if(source = 'official', ballots_issued, toUInt32(0)),
                   if(source = 'official', toUInt64(occurred_at) * 4294967296 + ballots_issued,
                      toUInt64(0))) AS official_latest,
       maxState(occurred_at) AS reported_max
FROM $db.events
WHERE kind = 'turnout' AND (SELECT count() FROM $db.turnout_latest) = 0
GROUP BY station_id;

INSERT INTO $db.observer_latest
SELECT station_id, observer_id,
       argMaxState(if(kind = 'checkin', kind, concat(kind, ':', reason)),
                   toUInt64(occurred_at) * 4 + multiIf(kind = 'checkin', 0,
                                                       reason = 'removed', 2, 1))
           AS status_latest,
       maxState(occurred_at) AS changed_max
FROM $db.events
WHERE kind IN ('checkin', 'checkout') AND role = 'observer'
      AND (SELECT count() FROM $db.observer_latest) = 0
GROUP BY station_id, observer_id;

INSERT INTO $db.assignment_times
SELECT target_station_id, occurred_at, event_id
FROM $db.events
WHERE kind = 'assignment' AND (SELECT count() FROM $db.assignment_times) = 0;

INSERT INTO $db.incident_reports
SELECT event_id, station_id, region_code, category, severity, occurred_at
FROM $db.events
WHERE kind = 'incident' AND (SELECT count() FROM $db.incident_reports) = 0;

INSERT INTO $db.incident_reviews
SELECT incident_id, occurred_at, event_id, verdict
FROM $db.events
WHERE kind = 'review' AND (SELECT count() FROM $db.incident_reviews) = 0;

INSERT INTO $db.turnout_reports
SELECT station_id, CAST(if(source = 'official', 'official', 'observer_count')
            AS Enum8('observer_count' = 1, 'official' = 2)) AS source,
       occurred_at, ballots_issued
FROM $db.events
WHERE kind = 'turnout' AND (SELECT count() FROM $db.turnout_reports) = 0;
