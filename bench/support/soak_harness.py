"""A simulated election day sent over HTTP while its processes are killed and restarted.

Used by ``bench/soak.py`` (a whole day) and ``tests/operations/test_soak.py`` (a short one).
Every part runs as a real child process: a ClickHouse server (tests/support), the embedded
broker (memory storage: restarted empty, topics re-created), the gateway, two workers of one
consumer group and a dashboard. A sender posts the day's messages as phones do (each actor's
messages of a moment in one batch, retried with the same body until answered); a seeded
fault schedule SIGKILLs and restarts each part and pauses a worker; screens poll the
dashboard; a media export runs every ``export_every`` seconds and is checked against its
manifest. ``Soak.check`` then compares what the gateway acknowledged with the warehouse.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from saylau.core.contract import INTAKE_TOPICS, REFUSED_TOPIC
from saylau.core.election import Election
from saylau.core.refused import MAX_RAW_KEPT
from saylau.dashboard.users import add_user
from saylau.exports.manifest import verify_bundle
from saylau.geo.registry import synthetic_registry, write_registry_csv
from saylau.ingest.gateway.tokens import TokenStore, tokens_path
from saylau.ingest.simulator import Scenario, simulate_day
from saylau.kafka.broker import EmbeddedBroker, _die_with_parent, free_port
from saylau.kafka.lag import consumer_lag
from saylau.kafka.topics import ensure_topics, topic_names
from saylau.warehouse.client import open_warehouse
from tests.integration.worker import SaylauProcess, WorkerProcess
from tests.support.clickhouse_server import ClickHouseServer

PREFIX = "soak"
PARTITIONS = 4
WORKERS = 2
PEPPER = "soak-pepper-0123456789abcdef"
FAULT_KINDS = ("worker", "gateway", "broker", "clickhouse", "dashboard")
SCREEN_KINDS = ("wall", "region", "incidents")
SCREEN_REFRESH_S = 10.0  # each screen asks for its numbers about this often
HQ_FIELDS = {"review": "reviewer_id", "assignment": "assigned_by"}
FAILED, EXPORT_RETRY_S = "failed", 5.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


@dataclass
class Message:
    """One message of the day: when to send it (seconds into the run), who sends it, its
    body, its event_id (None for a malformed one)."""

    at: float
    actor: str
    body: bytes
    event_id: str | None


@dataclass
class Fault:
    at: float
    kind: str  # worker, gateway, broker, clickhouse, dashboard, pause
    aimed: str = ""
    started: float = 0.0
    ended: float = 0.0
    recovered: float | None = None

    @property
    def recovery_s(self) -> float | None:
        return None if self.recovered is None else self.recovered - self.started


@dataclass
class Results:
    acked: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)  # event_id -> reason
    malformed_sent: int = 0
    malformed_refused: dict[str, int] = field(default_factory=dict)  # reason -> count
    malformed_answered: list[tuple[str, str]] = field(default_factory=list)  # raw, reason
    retries: int = 0
    last_ack: float = 0.0
    screen: list[tuple[float, float, bool]] = field(default_factory=list)  # at, ms, ok
    exports: list[tuple[str, list[str]]] = field(default_factory=list)  # bundle, problems
    # (started, ended) of each export that failed (the warehouse down, say): allowed while
    # a fault lasts, and retried; one outside every fault is a bad export
    failed_exports: list[tuple[float, float]] = field(default_factory=list)


class Supervised(SaylauProcess):
    """A child that dies with this process (PR_SET_PDEATHSIG), so nothing outlives a run."""

    def spawn(self, *args: str) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen([sys.executable, "-m", "saylau", *args],
                                        env=self.env, stdout=log, stderr=log,
                                        preexec_fn=_die_with_parent)  # noqa: PLW1509


class Worker(Supervised, WorkerProcess):
    pass


class HttpService(Supervised):
    """A `saylau` command serving HTTP on a port: started when ``ready_path`` answers."""

    command = ""
    ready_path = "/"
    start_timeout = 60.0
    poll_seconds = 0.1

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        super().__init__(env, log_path)
        self.port = port

    def is_ready(self, status: int) -> bool:
        return status == 200

    def start(self) -> HttpService:
        self.spawn(self.command, "--port", str(self.port))
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.get(f"http://127.0.0.1:{self.port}{self.ready_path}", timeout=2)
                if self.is_ready(answer.status_code):
                    return self
            time.sleep(self.poll_seconds)
        raise RuntimeError(f"{self.name} did not start:\n{self.tail()}")


class Dashboard(HttpService):
    name = command = "dashboard"
    ready_path, start_timeout, poll_seconds = "/login", 120.0, 0.3

    def is_ready(self, status: int) -> bool:
        return True  # any answer: the login page may redirect


class Gateway(HttpService):
    name = command = "gateway"
    ready_path = "/healthz"


class Soak:
    def __init__(self, folder: Path, stations: int = 10_000, minutes: float = 20.0,
                 seed: int = 2026, screens: int = 100, export_every: float = 60.0,
                 pause_seconds: float = 12.0, log=print) -> None:  # noqa: ANN001
        self.folder, self.stations, self.minutes, self.seed = folder, stations, minutes, seed
        self.screens, self.export_every, self.pause_seconds = screens, export_every, pause_seconds
        self.log = log
        self.results = Results()
        self.stop_event = threading.Event()
        self.in_flight = 0
        self.lock = threading.Lock()
        self.processes: list[SaylauProcess] = []
        self.process_lock = threading.Lock()  # a fault and the supervisor, one at a time
        self.restarts: dict[str, int] = defaultdict(int)
        self.faults_done = threading.Event()
        self.quiet = threading.Event()  # the day is over: screens and exports stop
        self.faults: list[Fault] = []
        self.sent_ids: set[str] = set()

    # ----------------------------------------------------------------- the day
    def prepare(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        registry = synthetic_registry(self.stations, self.stations * 1200, seed=self.seed)
        self.registry_csv = self.folder / "stations.csv"
        write_registry_csv(registry, self.registry_csv)
        self.regions = sorted({str(s)[:6] for s in registry["station_id"]})
        day = simulate_day(registry, Election(), Scenario(seed=self.seed))
        raw = list(day.messages())
        first, last = raw[0].sent_at, raw[-1].sent_at
        span = max((last - first).total_seconds(), 1.0)
        run = self.minutes * 60.0
        self.messages: list[Message] = []
        for message in raw:
            at = (message.sent_at - first).total_seconds() / span * run
            try:
                value = json.loads(message.value)
            except ValueError:
                value = None
            if not isinstance(value, dict):
                self.messages.append(Message(at, "", message.value, None))
                continue
            actor = str(value.get(HQ_FIELDS.get(str(value.get("kind")), "observer_id"), ""))
            event_id = str(value.get("event_id"))
            self.sent_ids.add(event_id)
            self.messages.append(Message(at, actor, message.value, event_id))
        self.counts = day.schedule.counts
        actors = sorted({m.actor for m in self.messages if m.actor})
        store = TokenStore(tokens_path(self.folder), PEPPER)
        # Headquarters tokens: not bound to a station (the roster is not what is tested here)
        # and allowed official figures; each token still sends only its holder's reports.
        self.tokens = {actor: store.issue(actor, "hq", 3.0).token for actor in actors}
        self.malformed_token = self.tokens[actors[0]]
        store.close()
        self.log(f"day: {len(self.messages):,} messages, {len(self.sent_ids):,} distinct "
                 f"events, {len(actors):,} senders, {self.counts}")

    # ------------------------------------------------------------ the processes
    def start(self) -> None:
        self.clickhouse = ClickHouseServer(self.folder / "clickhouse").start()
        self.warehouse_url = (f"clickhouse://default@127.0.0.1:{self.clickhouse.tcp_port}/"
                              f"soak_{uuid.uuid4().hex[:8]}")
        self.broker_port = free_port()
        self.broker_generation = 0
        self._start_broker()
        password = secrets.token_urlsafe(16)
        self.password = password
        add_user(self.folder / "users.json", "hq", "headquarters", None, password, set())
        self.env = {"SAYLAU_KAFKA_BOOTSTRAP": f"127.0.0.1:{self.broker_port}",
                    "SAYLAU_TOPIC_PREFIX": PREFIX, "SAYLAU_TOPIC_PARTITIONS": str(PARTITIONS),
                    "SAYLAU_DATA_DIR": str(self.folder), "SAYLAU_REGISTRY": str(self.registry_csv),
                    "SAYLAU_GATEWAY_TOKEN_PEPPER": PEPPER, "SAYLAU_WAREHOUSE": self.warehouse_url,
                    "SAYLAU_WORKER_GROUP": f"{PREFIX}-worker", "SAYLAU_LOG_LEVEL": "info",
                    "SAYLAU_WORKER_BATCH_SIZE": "2000", "SAYLAU_WORKER_BATCH_SECONDS": "0.5",
                    "SAYLAU_GATEWAY_RATE_PER_SECOND": "100000",
                    "SAYLAU_GATEWAY_RATE_BURST": "100000",
                    "SAYLAU_DASHBOARD_SECRET": secrets.token_urlsafe(32),
                    "SAYLAU_DASHBOARD_USERS": str(self.folder / "users.json"),
                    "SAYLAU_DASHBOARD_LOGIN_ATTEMPTS": "1000",
                    "SAYLAU_EXPORT_DIR": str(self.folder / "exports"),
                    "SAYLAU_EXPORT_LANGUAGES": "en"}
        self.gateway_port = free_port()
        self.gateway = Gateway(self.env, self.gateway_port, self.folder / "gateway.log").start()
        self.workers = [Worker(self.env, self.folder / f"worker-{n}.log").start()
                        for n in range(WORKERS)]
        self.dashboard_port = free_port()
        self.dashboard = Dashboard(self.env, self.dashboard_port,
                                   self.folder / "dashboard.log").start()
        self.processes = [self.gateway, *self.workers, self.dashboard]

    def _start_broker(self) -> None:
        self.broker_generation += 1
        self.broker = EmbeddedBroker(
            self.broker_port, log_path=self.folder / f"broker-{self.broker_generation}.log")
        self.broker.start()
        ensure_topics(self.broker.bootstrap, topic_names(PREFIX), partitions=PARTITIONS)

    def close(self) -> None:
        self.quiet.set()
        self.stop_event.set()
        for process in self.processes:
            if process.process is not None and process.process.poll() is None:
                with contextlib.suppress(Exception):
                    os.kill(process.process.pid, signal.SIGCONT)
            process.__exit__()
        with contextlib.suppress(Exception):
            self.broker.stop()
        with contextlib.suppress(Exception):
            self.clickhouse.stop()

    # ----------------------------------------------------------------- sending
    def send_day(self) -> None:
        """Sends every message at its time; returns when all are answered."""
        self.t0 = time.monotonic()
        tick = 0.5
        pool = ThreadPoolExecutor(max_workers=16)
        position = 0
        futures = []
        while position < len(self.messages):
            now = time.monotonic() - self.t0
            batch: dict[str, list[Message]] = defaultdict(list)
            while position < len(self.messages) and self.messages[position].at <= now + tick:
                message = self.messages[position]
                if message.event_id is None:
                    futures.append(pool.submit(self._send_malformed, message))
                else:
                    batch[message.actor].append(message)
                position += 1
            for actor, messages in batch.items():
                for start in range(0, len(messages), 500):
                    futures.append(pool.submit(self._send_batch, actor,
                                               messages[start:start + 500]))
            time.sleep(tick)
        for future in futures:
            future.result()
        pool.shutdown()

    def _post(self, client: httpx.Client, path: str, body: bytes, token: str
              ) -> httpx.Response:
        """Until the gateway answers with something other than a failure to retry (or the
        run is stopped)."""
        while not self.stop_event.is_set():
            with self.lock:
                self.in_flight += 1
            try:
                answer = client.post(f"http://127.0.0.1:{self.gateway_port}{path}",
                                     content=body, headers={
                                         "Authorization": f"Bearer {token}",
                                         "Content-Type": "application/json"})
            except httpx.HTTPError:
                answer = None
            finally:
                with self.lock:
                    self.in_flight -= 1
            if answer is not None and answer.status_code < 500 and answer.status_code != 429:
                return answer
            with self.lock:
                self.results.retries += 1
            time.sleep(0.3)
        raise RuntimeError("the run was stopped")

    _local = threading.local()

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(timeout=15)
        return client

    def _send_batch(self, actor: str, messages: list[Message]) -> None:
        body = b'{"events": [' + b",".join(m.body for m in messages) + b"]}"
        answer = self._post(self._client(), "/v1/events:batch", body, self.tokens[actor])
        document = answer.json()
        with self.lock:
            for item in document.get("accepted", []):
                self.results.acked.add(str(item["event_id"]))
            for item in document.get("refused", []):
                self.results.refused[str(item.get("event_id"))] = str(item.get("reason"))
            if document.get("accepted"):
                self.results.last_ack = time.monotonic()

    def _send_malformed(self, message: Message) -> None:
        answer = self._post(self._client(), "/v1/events", message.body, self.malformed_token)
        try:
            reason = str(answer.json().get("reason") or answer.json()["refused"][0]["reason"])
        except (ValueError, KeyError, IndexError):
            reason = f"http_{answer.status_code}"
        with self.lock:
            self.results.malformed_sent += 1
            if answer.status_code == 202:
                reason = "accepted"
            else:
                raw = message.body.decode("utf-8", errors="replace")[:MAX_RAW_KEPT]
                self.results.malformed_answered.append((raw, reason))
            self.results.malformed_refused[reason] = \
                self.results.malformed_refused.get(reason, 0) + 1

    # ------------------------------------------------------------------ faults
    def plan_faults(self, rounds: int = 2) -> list[Fault]:
        """Each kind ``rounds`` times and one pause per round, in a seeded order, spread
        over the first 85 % of the run (the rest is for the last recovery)."""
        rng = random.Random(self.seed)
        kinds = [*FAULT_KINDS * rounds, *["pause"] * rounds]
        rng.shuffle(kinds)
        run = self.minutes * 60.0
        slot = 0.85 * run / (len(kinds) + 1)
        self.faults = [Fault(round((n + 1) * slot + rng.uniform(-0.2, 0.2) * slot, 1), kind)
                       for n, kind in enumerate(kinds)]
        return self.faults

    def run_faults(self) -> None:
        """Inflicts the schedule, then stays until the run stops: the children it restarted
        die with the thread that started them (PR_SET_PDEATHSIG is per thread)."""
        try:
            self._run_faults()
        finally:
            self.faults_done.set()
        self.stop_event.wait()

    def _run_faults(self) -> None:
        for fault in self.faults:
            while time.monotonic() - self.t0 < fault.at:
                if self.stop_event.wait(0.2):
                    return
            try:
                with self.process_lock:
                    self._inflict(fault)
            except Exception as error:  # noqa: BLE001 - recorded, the run goes on
                fault.aimed += f" (failed: {error})"
            self.log(f"fault {fault.kind} at {fault.started - self.t0:.1f} s: {fault.aimed}")
            self._await_recovery(fault)
            rec = fault.recovery_s
            self.log(f"  recovered in {rec:.1f} s" if rec is not None
                     else "  not recovered in 120 s")

    def _inserting(self) -> bool:
        try:
            text = httpx.get(f"http://127.0.0.1:{self.clickhouse.http_port}/", params={
                "query": "SELECT count() FROM system.processes WHERE query LIKE 'INSERT%'"},
                timeout=1).text
            return int(text.strip() or 0) > 0
        except (httpx.HTTPError, ValueError):
            return False

    def _aim(self, wanted, seconds: float = 10.0) -> bool:  # noqa: ANN001
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if wanted():
                return True
            time.sleep(0.005)
        return False

    def _inflict(self, fault: Fault) -> None:
        kind = fault.kind
        if kind == "worker":
            hit = self._aim(self._inserting)
            victim = self.workers[len([f for f in self.faults if f.kind == "worker"
                                       and f.started]) % WORKERS]
            fault.started = time.monotonic()
            victim.kill()
            fault.aimed = f"SIGKILL {victim.log_path.name}" + \
                (" during a batch insert" if hit else " (no insert seen in 10 s)")
            victim.start()
        elif kind == "clickhouse":
            hit = self._aim(self._inserting)
            fault.started = time.monotonic()
            self.clickhouse.kill()
            fault.aimed = "SIGKILL clickhouse-server" + \
                (" during a batch insert" if hit else " (no insert seen in 10 s)")
            time.sleep(1.0)
            self.clickhouse.start(timeout=60)
        elif kind == "gateway":
            hit = self._aim(lambda: self.in_flight >= 2)
            in_flight = self.in_flight
            fault.started = time.monotonic()
            self.gateway.kill()
            fault.aimed = "SIGKILL gateway" + (
                f" with {in_flight} requests in flight (waiting on the journal's fsync)"
                if hit else " (no request in flight)")
            time.sleep(0.5)
            self.gateway.start()
        elif kind == "broker":
            fault.started = time.monotonic()
            process = self.broker._process  # noqa: SLF001 - SIGKILL, not a clean stop
            if process is not None:
                process.kill()
                process.wait(10)
            self.broker.stop()
            fault.aimed = f"SIGKILL embedded broker (generation {self.broker_generation}), " \
                          "restarted empty, topics re-created"
            time.sleep(1.0)
            self._start_broker()
        elif kind == "dashboard":
            fault.started = time.monotonic()
            self.dashboard.kill()
            fault.aimed = "SIGKILL dashboard while screens refresh"
            self.dashboard.start()
        elif kind == "pause":
            victim = self.workers[0]
            assert victim.process is not None
            fault.started = time.monotonic()
            os.kill(victim.process.pid, signal.SIGSTOP)
            for child in victim.children():
                with contextlib.suppress(OSError):
                    os.kill(child, signal.SIGSTOP)
            fault.aimed = f"SIGSTOP {victim.log_path.name} for {self.pause_seconds:.0f} s " \
                          "(its group rebalances without it)"
            time.sleep(self.pause_seconds)
            for child in victim.children():
                with contextlib.suppress(OSError):
                    os.kill(child, signal.SIGCONT)
            os.kill(victim.process.pid, signal.SIGCONT)
        fault.ended = time.monotonic()

    def stored_count(self) -> int:
        try:
            text = httpx.get(f"http://127.0.0.1:{self.clickhouse.http_port}/", params={
                "query": f"SELECT count() FROM {self.warehouse_url.rsplit('/', 1)[1]}.events"},
                timeout=2).text
            return int(text.strip())
        except (httpx.HTTPError, ValueError):
            return -1

    def supervise(self) -> None:
        """Restarts a part that exited, as the compose file's ``restart: unless-stopped``
        does (a worker that cannot store a batch stops without acknowledging it, on purpose)."""
        while not self.stop_event.wait(0.5):
            with self.process_lock:
                if self.stop_event.is_set():
                    return
                if not self.clickhouse.running:
                    self.restarts["clickhouse"] += 1
                    self.log("  supervisor: clickhouse-server is not running, starting it")
                    with contextlib.suppress(Exception):
                        self.clickhouse.start(timeout=60)
                for process in self.processes:
                    if process.process is not None and process.process.poll() is not None:
                        self.restarts[process.log_path.stem] += 1
                        self.log(f"  supervisor: {process.log_path.stem} exited "
                                 f"({process.process.returncode}), restarting")
                        try:
                            process.start()  # type: ignore[attr-defined]
                        except Exception as error:  # noqa: BLE001 - tried again next round
                            self.log(f"  supervisor: restart failed: "
                                     f"{str(error).splitlines()[0]}")

    def _await_recovery(self, fault: Fault, timeout: float = 120.0) -> None:
        """Reports flow again: an acknowledgement after the fault's end and the warehouse
        growing after it; for the dashboard, a screen served again."""
        if fault.kind == "dashboard":
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not self.stop_event.is_set():
                with self.lock:
                    served = [at + ms / 1000 for at, ms, ok in self.results.screen
                              if ok and at >= fault.started]
                if served:
                    fault.recovered = min(served)
                    return
                time.sleep(0.2)
            return
        before = self.stored_count()
        deadline = time.monotonic() + timeout
        acked = stored = False
        while time.monotonic() < deadline and not self.stop_event.is_set():
            acked = acked or self.results.last_ack > fault.ended
            count = self.stored_count()
            stored = stored or count > before >= 0
            if count >= 0 and before < 0:
                before = count
            if acked and stored:
                fault.recovered = time.monotonic()
                return
            if self.sending_done and count >= 0 and self._caught_up():
                fault.recovered = time.monotonic()
                return
            time.sleep(0.2)

    sending_done = False

    def _caught_up(self) -> bool:
        topics = [f"{PREFIX}.{name}" for name in INTAKE_TOPICS]
        try:
            return consumer_lag(self.broker.bootstrap, f"{PREFIX}-worker", topics) == 0
        except Exception:  # noqa: BLE001 - the broker is down
            return False

    # ------------------------------------------------------------------ screens
    def run_screens(self) -> None:
        threads = [threading.Thread(target=self._screen, args=(number,), daemon=True)
                   for number in range(self.screens)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _screen(self, number: int) -> None:
        """One open screen: logs in, opens its page, then asks for its numbers as the page's
        own refresh callback does, every ``period`` seconds (a wall ticks every few)."""
        rng = random.Random(self.seed * 1000 + number)
        kind = SCREEN_KINDS[number % len(SCREEN_KINDS)]
        region = self.regions[number % len(self.regions)]
        period = SCREEN_REFRESH_S
        screen: Screen | None = None
        tick = 0
        while not self.quiet.wait(rng.uniform(0.5, 1.5) * period):
            started, ok, tick = time.monotonic(), False, tick + 1
            try:
                screen = screen or Screen.open(self.dashboard_port, self.password, kind,
                                               region)
                ok = screen.refresh(tick)
            except (httpx.HTTPError, ValueError, KeyError):
                ok = False
            if not ok and screen is not None:
                screen.close()
                screen = None  # log in again (a restarted dashboard keeps the secret)
            with self.lock:
                self.results.screen.append((started, (time.monotonic() - started) * 1000, ok))
        if screen is not None:
            screen.close()

    # ------------------------------------------------------------------ exports
    def run_exports(self) -> None:
        while not self.quiet.wait(self.export_every):
            # as a scheduler would: a failed export (the warehouse down) is tried again soon
            while self.export_once()[0] == FAILED and not self.quiet.wait(EXPORT_RETRY_S):
                pass

    def export_once(self) -> tuple[str, list[str]]:
        env = {**os.environ, **self.env}
        started = time.monotonic()
        out = subprocess.run([sys.executable, "-m", "saylau", "export"], env=env,
                             capture_output=True, text=True, timeout=180, check=False)
        latest = Path(self.env["SAYLAU_EXPORT_DIR"]) / "latest"
        if out.returncode != 0:
            result = (FAILED, [f"exit {out.returncode}: {out.stderr[-300:]}"])
        else:
            result = (latest.resolve().name, verify_bundle(latest))
        with self.lock:
            if result[0] == FAILED:
                self.results.failed_exports.append((started, time.monotonic()))
            else:
                self.results.exports.append(result)
        return result

    # ------------------------------------------------------------------- the run
    def run(self) -> None:
        self.plan_faults()
        self.log(f"fault schedule (seed {self.seed}):")
        for fault in self.faults:
            self.log(f"  at {fault.at:7.1f} s  {fault.kind}")
        threads = [threading.Thread(target=target, daemon=True)
                   for target in (self.run_faults, self.run_screens, self.run_exports,
                                  self.supervise)]
        sender = threading.Thread(target=self.send_day, daemon=True)
        self.t0 = time.monotonic()
        sender.start()
        for thread in threads:
            thread.start()
        sender.join()
        self.sending_done = True
        self.faults_done.wait()  # every fault inflicted and recovered from
        self.drain()
        self.quiet.set()  # screens and exports stop; faults' and supervisor's threads stay
        for thread in threads[1:3]:
            thread.join(200)

    def drain(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{self.gateway_port}/healthz",
                                   timeout=5).json()
                if not health["journal_pending"] and self._caught_up() \
                        and self.results.acked <= self.stored_ids()[0]:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1.0)
        self.log("drain: timed out")

    def stored_ids(self) -> tuple[set[str], int, int]:
        """(event ids in the archive, rows after FINAL, raw rows)."""
        try:
            warehouse = open_warehouse(self.warehouse_url)
        except Exception:  # noqa: BLE001
            return set(), 0, 0
        try:
            final = warehouse.query_df("SELECT event_id FROM $db.events FINAL")
            raw = warehouse.query_df("SELECT count() AS n FROM $db.events")
        except Exception:  # noqa: BLE001
            return set(), 0, 0
        finally:
            warehouse.close()
        return set(final["event_id"].astype(str)), len(final), int(raw["n"].iloc[0])

    # ------------------------------------------------------------------ checking
    def check(self) -> dict[str, Any]:
        stored, final_rows, raw_rows = self.stored_ids()
        acked = self.results.acked
        lost = acked - stored
        extra = stored - self.sent_ids
        unacked_stored = stored - acked
        for event_id in sorted(lost)[:50]:
            self.log(f"lost: {event_id}")
        for event_id in sorted(extra)[:50]:
            self.log(f"stored but never sent: {event_id}")
        for event_id in sorted(unacked_stored)[:50]:
            self.log(f"stored but not acknowledged: {event_id}")
        screens = self.results.screen
        in_fault = [(at, ms, ok) for at, ms, ok in screens if self._during_fault(at)]
        outside = [(at, ms, ok) for at, ms, ok in screens if not self._during_fault(at)]
        recoveries = [f.recovery_s for f in self.faults]
        summary = {
            "stations": self.stations, "sent": len(self.messages), "acked": len(acked),
            "stored": len(stored), "lost": len(lost),
            "duplicated": final_rows - len(stored), "raw_rows": raw_rows,
            "not_sent_stored": len(extra), "unacked_stored": len(unacked_stored),
            "faults": len([f for f in self.faults if f.recovered is not None]),
            "max_recovery_s": max((r for r in recoveries if r is not None), default=0.0),
            "unrecovered": sum(r is None for r in recoveries),
            "screen_errors": sum(not ok for _, _, ok in screens),
            "screen_requests": len(screens),
            "screen_p95_ms": percentile([ms for _, ms, _ in screens], 0.95),
            "screen_errors_in_faults": sum(not ok for _, _, ok in in_fault),
            "screen_p95_in_faults_ms": percentile([ms for _, ms, _ in in_fault], 0.95),
            "screen_errors_outside": sum(not ok for _, _, ok in outside),
            "screen_p95_outside_ms": percentile([ms for _, ms, _ in outside], 0.95),
            "malformed_sent": self.results.malformed_sent,
            "malformed_refused": dict(self.results.malformed_refused),
            "refused": len(self.results.refused), "retries": self.results.retries,
            "exports": len(self.results.exports),
            "bad_exports": sum(bool(problems) for _, problems in self.results.exports)
            + sum(not self._overlaps_fault(*span) for span in self.results.failed_exports),
            "failed_exports_in_faults": sum(self._overlaps_fault(*span)
                                            for span in self.results.failed_exports),
            "malformed_not_rejected": len(self.malformed_not_rejected()),
        }
        return summary

    # --------------------------------------------------- wall, export and replay agree
    def agreement(self) -> list[str]:
        """The per-region figures of the wall (the dashboard's own snapshot of the live
        warehouse), of a last export and of an export of a fresh replay from the archive,
        all as of the same moment; each difference as a line (empty: they agree)."""
        import pandas as pd

        from saylau.dashboard.snapshot import take_snapshot

        bundle, problems = self.export_once()
        if problems or bundle == "failed":
            return [f"last export {bundle}: {problems}"]
        live_bundle = Path(self.env["SAYLAU_EXPORT_DIR"]) / bundle
        as_of = json.loads((live_bundle / "manifest.json").read_text())["data_as_of"]
        exported = pd.read_csv(live_bundle / "regions.csv")
        replay_url = self.warehouse_url + "_replay"
        env = {**os.environ, **self.env}
        out = subprocess.run([sys.executable, "-m", "saylau", "replay", "archive", "--into",
                              replay_url, "--no-progress"], env=env, capture_output=True,
                             text=True, timeout=600, check=False)
        if out.returncode != 0:
            return [f"replay failed ({out.returncode}): {out.stderr[-500:]}"]
        replay_dir = self.folder / "exports-replay"
        out = subprocess.run([sys.executable, "-m", "saylau", "export", "--as-of", as_of,
                              "--out", str(replay_dir)],
                             env={**env, "SAYLAU_WAREHOUSE": replay_url},
                             capture_output=True, text=True, timeout=300, check=False)
        if out.returncode != 0:
            return [f"export of the replay failed ({out.returncode}): {out.stderr[-500:]}"]
        replayed = pd.read_csv(replay_dir / "latest" / "regions.csv")
        warehouse = open_warehouse(self.warehouse_url)
        try:
            wall = take_snapshot(warehouse, pd.Timestamp(as_of).to_pydatetime(), {}, []).summary
        finally:
            warehouse.close()
        columns = [c for c in wall.columns if c in exported.columns and c != "region_name"]
        wall = wall[columns].reset_index(drop=True)
        self.agreed_columns = columns
        differences = []
        for name, other in (("export", exported), ("replay", replayed)):
            other = other[columns].reset_index(drop=True)
            if list(other["region_code"]) != list(wall["region_code"]):
                differences.append(f"{name}: regions differ: {list(other['region_code'])}")
                continue
            for column in columns[1:]:
                for row, (a, b) in enumerate(zip(wall[column], other[column], strict=True)):
                    if not _same(a, b):
                        differences.append(f"{wall['region_code'][row]} {column}: wall={a} "
                                           f"{name}={b}")
        if not differences:
            differences += self._events_differ(replay_url)
        return differences

    def _events_differ(self, replay_url: str) -> list[str]:
        """Event by event: what the live archive and the replay hold."""
        live = self.stored_ids()[0]
        warehouse = open_warehouse(replay_url)
        try:
            frame = warehouse.query_df("SELECT event_id FROM $db.events FINAL")
        finally:
            warehouse.close()
        replayed = set(frame["event_id"].astype(str))
        return ([f"only live: {e}" for e in sorted(live - replayed)[:50]]
                + [f"only replayed: {e}" for e in sorted(replayed - live)[:50]])

    def malformed_not_rejected(self) -> list[tuple[str, str]]:
        """The malformed messages the gateway refused that are not in ``rejected`` with the
        reason it answered (each printed)."""
        try:
            warehouse = open_warehouse(self.warehouse_url)
            try:
                kept = warehouse.query_df("SELECT raw, reason FROM $db.rejected FINAL "
                                          f"WHERE source_topic = '{PREFIX}.{REFUSED_TOPIC}'")
            finally:
                warehouse.close()
        except Exception as error:  # noqa: BLE001 - the check then fails, saying why
            self.log(f"rejected could not be read: {error!r}")
            return list(self.results.malformed_answered)
        found = set(zip(kept["raw"].astype(str), kept["reason"].astype(str), strict=True))
        missing = [item for item in self.results.malformed_answered if item not in found]
        for raw, reason in missing[:50]:
            self.log(f"malformed, not in rejected: {reason} {raw[:80]!r}")
        return missing

    def _overlaps_fault(self, started: float, ended: float) -> bool:
        return any(f.started <= ended and started <= (f.recovered or f.ended or f.started)
                   for f in self.faults if f.started)

    def _during_fault(self, at: float) -> bool:
        return any(f.started <= at <= (f.recovered or f.ended or f.started) + 0.0
                   for f in self.faults if f.started)


# What a screen shows: its page, and an output of the callback that refreshes its numbers.
SCREEN_PAGES = {"wall": ("/", "wall-headline.children"),
                "region": ("/region/{region}", "region-counts.children"),
                "incidents": ("/incidents", "incidents-count.children")}


@dataclass
class Screen:
    """A logged-in browser's traffic without the browser: the page, then its refresh
    callback (``/_dash-update-component``) as the Dash front end posts it."""

    client: httpx.Client
    output: str
    spec: dict[str, Any]
    region: str
    held: dict[tuple[str, str], Any] = field(default_factory=dict)  # outputs as last drawn

    @classmethod
    def open(cls, port: int, password: str, kind: str, region: str) -> Screen:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20)
        try:
            client.post("/auth/login", data={"username": "hq", "password": password})
            path, marker = SCREEN_PAGES[kind]
            client.get(path.format(region=region)).raise_for_status()
            callbacks = client.get("/_dash-dependencies").json()
            spec = next(c for c in callbacks if marker in c["output"])
        except BaseException:
            client.close()
            raise
        return cls(client, spec["output"], spec, region)

    def refresh(self, tick: int) -> bool:
        answer = self.client.post("/_dash-update-component", json=self.request(tick))
        if answer.status_code == 204:  # every output unchanged (all no_update)
            return True
        if answer.status_code != 200 or '"response"' not in answer.text:
            return False
        self._keep(answer.json()["response"])
        return True

    def _keep(self, response: dict[str, dict[str, Any]]) -> None:
        """What the page now holds, as the Dash front end keeps it: a state the callback
        reads back (the snapshot version a screen shows) goes with the next request, so an
        unchanged snapshot is answered with no update, as for a browser."""
        for component, properties in response.items():
            for name, value in properties.items():
                self.held[(component, name)] = value

    def request(self, tick: int) -> dict[str, Any]:
        inputs = [self._slot(item, tick) for item in self.spec["inputs"]]
        states = [self._slot(item, tick) for item in self.spec["state"]]
        for slot in states:
            slot["value"] = self.held.get((slot["id"], slot["property"]), slot["value"])
        return {"output": self.output, "outputs": _outputs(self.output),
                "inputs": inputs, "state": states,
                "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"]}

    def _slot(self, item: dict[str, str], tick: int) -> dict[str, Any]:
        value: Any = None  # a store's data, an as-of: live
        if item["property"] == "n_intervals":
            value = tick
        elif item["id"] == "region-code":
            value = self.region
        elif item["property"] == "value" and item["id"] != "incidents-region":
            value = []  # a filter with nothing chosen: every category, severity, status
        return {"id": item["id"], "property": item["property"], "value": value}

    def close(self) -> None:
        self.client.close()


def _outputs(output: str) -> list[dict[str, str]]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True)) for part in parts]


def _same(a: Any, b: Any) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-6 or (a != a and b != b)  # noqa: PLR0124
    except (TypeError, ValueError):
        return str(a) == str(b)


@contextlib.contextmanager
def soak(folder: Path, **options: Any) -> Iterator[Soak]:
    run = Soak(folder, **options)
    try:
        run.prepare()
        run.start()
        yield run
    finally:
        run.close()
