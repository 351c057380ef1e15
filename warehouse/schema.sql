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
    category String,
    severity UInt8,
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

-- Latest state per station. Aggregate states of argMax/max are idempotent, so a
-- duplicate or late event can never inflate them: the newest event time wins.
CREATE TABLE IF NOT EXISTS $db.station_turnout (
    region_code String,
    station_id String,
    ballots AggregateFunction(argMax, UInt32, DateTime('UTC')),
    reported_at AggregateFunction(max, DateTime('UTC'))
) ENGINE = AggregatingMergeTree()
ORDER BY (region_code, station_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS $db.station_turnout_mv TO $db.station_turnout AS
SELECT region_code, station_id,
       argMaxState(ballots_issued, occurred_at) AS ballots,
       maxState(occurred_at) AS reported_at
FROM $db.events
WHERE kind = 'turnout'
GROUP BY region_code, station_id;

-- Presence per observer at a station: the kind of their newest check-in/check-out.
CREATE TABLE IF NOT EXISTS $db.observer_presence (
    region_code String,
    station_id String,
    observer_id String,
    last_kind AggregateFunction(argMax, String, DateTime('UTC'))
) ENGINE = AggregatingMergeTree()
ORDER BY (region_code, station_id, observer_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS $db.observer_presence_mv TO $db.observer_presence AS
SELECT region_code, station_id, observer_id,
       argMaxState(kind, occurred_at) AS last_kind
FROM $db.events
WHERE kind IN ('checkin', 'checkout')
GROUP BY region_code, station_id, observer_id;
