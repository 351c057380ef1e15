"""Results import benchmark: a commission's publication of N stations, imported and stored.

    python bench/tabulation.py [--stations 1000000] [--partitions 4] [--timeout 1800]

1. A synthetic registry of ``--stations`` stations and a commission-shaped CSV of their
   results (semicolons, a title line, the default mapping's Russian headers, counts above
   999 grouped with a no-break space, a total row after each district), in a temporary folder.
2. ``import_s``: ``saylau results import FILE`` run in this process against the embedded
   broker: registry read, file read, every row checked, the events built, sent and
   acknowledged. Target: at most 60 s for 1,000,000 stations on the 2-core test machine.
3. ``store_s``: ``saylau worker`` (a child process) stores them in a clickhouse-server
   warehouse, timed until every station's official protocol is queryable.
   Beside the publication, ``--verified`` (default 10 %) of the stations get a verified copy
   (a digitised observer copy, as double entry makes it; one in five differs from the
   official figures by a few votes) and half of those a released photo, sent through the
   same worker.
4. ``compare_s``: ``saylau.exports.comparison.comparison_tables(warehouse)`` on that
   warehouse: every station's official and verified figures, differences and the
   per-region summary. Target: at most 10 s for 1,000,000 stations.

Everything it needs is started and stopped here, each with a hard timeout. Last line:
``tabulation_bench stations=… import_s=… compare_s=… store_s=…``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import math
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from saylau.cli.main import main as saylau  # noqa: E402
from saylau.core.contract import (  # noqa: E402
    Digitisation,
    Media,
    PhotoRelease,
    Protocol,
    event_to_json,
    topic_for,
)
from saylau.core.election import Election  # noqa: E402
from saylau.exports.comparison import comparison_tables  # noqa: E402
from saylau.geo.registry import synthetic_registry, write_registry_csv  # noqa: E402
from saylau.kafka.batches import send_keyed  # noqa: E402
from saylau.kafka.broker import EmbeddedBroker, free_port  # noqa: E402
from saylau.kafka.topics import ensure_topics, topic_names  # noqa: E402
from saylau.warehouse.client import open_warehouse  # noqa: E402
from tests.integration.worker import WorkerProcess  # noqa: E402
from tests.support.clickhouse_server import ClickHouseServer, clickhouse_server_available  # noqa: E402

# the default mapping's Russian headers, as the import tests' publications have them
from tests.tabulation.results_publications import COUNTS  # noqa: E402
from tests.tabulation.results_publications import RUSSIAN as HEADERS  # noqa: E402

PREFIX = "tabbench"
VOTERS_PER_STATION = 1_200
PUBLISHED_AT = "2026-03-15T23:00:00+05:00"
NBSP = "\u00a0"
POLL_SECONDS = 1.0


def station_results(registry: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """Consistent figures per station (the arithmetic holds), vectorised."""
    options = list(Election().options)
    rng = np.random.default_rng(seed)
    registered = registry["registered_voters"].to_numpy(dtype=np.int64)
    cast = (registered * rng.uniform(0.4, 0.8, len(registered))).astype(np.int64)
    invalid = cast // 50
    shares = rng.dirichlet(np.ones(len(options)), len(registered))
    votes = np.floor(shares * (cast - invalid)[:, None]).astype(np.int64)
    votes[:, 0] += (cast - invalid) - votes.sum(axis=1)
    frame = pd.DataFrame({"station_id": registry["station_id"].to_numpy(),
                          "district": (registry["region_code"] + " " +
                                       registry["district"]).to_numpy(),
                          "registered": registered, "ballots_received": registered + 20,
                          "ballots_issued": cast, "ballots_cast": cast, "invalid": invalid})
    for number, option in enumerate(options):
        frame[option] = votes[:, number]
    return frame


def with_district_totals(figures: pd.DataFrame) -> pd.DataFrame:
    """The stations district by district, each district followed by its total row."""
    numbers = [c for c in figures.columns if c not in ("station_id", "district")]
    ordered = figures.sort_values(["district", "station_id"], kind="stable")
    totals = ordered.groupby("district", sort=True)[numbers].sum().reset_index()
    totals["station_id"] = ""
    ordered = ordered.assign(order=0)
    totals = totals.assign(order=1)
    both = pd.concat([ordered, totals[ordered.columns]], ignore_index=True)
    both = both.sort_values(["district", "order"], kind="stable")
    both.loc[both["order"] == 1, "district"] = "Итого по району " + \
        both.loc[both["order"] == 1, "district"]
    return both.drop(columns="order")


def grouped(values: pd.Series) -> pd.Series:
    """Counts as the commission prints them: ``1 234``, ``12 345 678`` with no-break spaces."""
    text = values.astype(str)
    thousands = text.where(text.str.len() <= 3, text.str[:-3] + NBSP + text.str[-3:])
    return thousands.where(text.str.len() <= 6, text.str[:-6] + NBSP + text.str[-6:-3] +
                           NBSP + text.str[-3:])


def write_publication(path: Path, figures: pd.DataFrame) -> int:
    table = with_district_totals(figures)
    for column in table.columns:
        if column not in ("station_id", "district"):
            table[column] = grouped(table[column])
    table = table.rename(columns=HEADERS)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Итоги голосования по избирательным участкам\n")
        table.to_csv(out, sep=";", index=False)
    return len(table)


def time_import(path: Path, bootstrap: str, folder: Path) -> float:
    os.environ.update({"SAYLAU_KAFKA_BOOTSTRAP": bootstrap, "SAYLAU_TOPIC_PREFIX": PREFIX,
                       "SAYLAU_DATA_DIR": str(folder),
                       "SAYLAU_REGISTRY": str(folder / "stations.csv"),
                       "SAYLAU_LOG_LEVEL": "warning"})
    summary = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(summary):
        code = saylau(["results", "import", str(path), "--published-at", PUBLISHED_AT,
                       "--progress"])
    seconds = time.perf_counter() - started
    print(summary.getvalue().strip(), flush=True)
    if code != 0:
        raise SystemExit(f"the import failed with exit code {code}")
    return seconds


def verified_copies(figures: pd.DataFrame, share: float, seed: int = 2
                    ) -> list[tuple[bytes, bytes, str]]:
    """(key, value) of a digitised copy for ``share`` of the stations and of a photo release
    for half of them; one copy in five moves a few votes from the first option to the last."""
    rng = np.random.default_rng(seed)
    chosen = figures.sample(frac=share, random_state=seed)
    options = list(Election().options)
    at = dt.datetime.fromisoformat(PUBLISHED_AT)
    messages = []
    for number, row in enumerate(chosen.itertuples(index=False)):
        votes = {option: int(getattr(row, option)) for option in options}
        if number % 5 == 0:
            moved = min(votes[options[0]], int(rng.integers(1, 30)))
            votes[options[0]] -= moved
            votes[options[-1]] += moved
        photo = hashlib.sha256(row.station_id.encode()).hexdigest()
        copy = Protocol(event_id=uuid.uuid4(), station_id=row.station_id, observer_id="obs-1",
                        occurred_at=at, kind="protocol", source="observer_copy",
                        media=[Media(sha256=photo, mime="image/jpeg")],
                        digitised=Digitisation(photo_sha256=photo,
                                               entry_ids=[uuid.uuid4(), uuid.uuid4()],
                                               entered_by=["vol-1", "vol-2"]),
                        votes=votes, **{c: int(getattr(row, c)) for c in COUNTS})
        messages.append((copy, "protocol"))
        if number % 2 == 0:
            messages.append((PhotoRelease(event_id=uuid.uuid4(), station_id=row.station_id,
                                          observer_id="hq-1", occurred_at=at,
                                          kind="photo_release", photo_sha256=photo), "tab"))
    return [(event.station_id.encode(), event_to_json(event).encode(), kind)
            for event, kind in messages]


def send_verified(bootstrap: str, messages: list[tuple[bytes, bytes, str]]) -> None:
    for kind, topic in (("protocol", topic_for("protocol", PREFIX)),
                        ("tab", topic_for("photo_release", PREFIX))):
        send_keyed(bootstrap, topic, [(k, v) for k, v, which in messages if which == kind])


def stored_stations(url: str) -> int:
    """Official protocols and verified copies stored."""
    warehouse = open_warehouse(url)
    try:
        frame = warehouse.query_df(
            "SELECT (SELECT uniqExact(station_id) FROM $db.protocols WHERE source = 'official')"
            " + (SELECT uniqExact(station_id) FROM $db.tabulation WHERE fact = 'agreed') AS n")
        return int(frame["n"].iloc[0])
    except Exception:  # noqa: BLE001 - the worker has not created the schema yet
        return 0
    finally:
        warehouse.close()


def time_store(bootstrap: str, url: str, folder: Path, stations: int, timeout: float) -> float:
    env = {"SAYLAU_KAFKA_BOOTSTRAP": bootstrap, "SAYLAU_TOPIC_PREFIX": PREFIX,
           "SAYLAU_WORKER_GROUP": f"{PREFIX}-worker", "SAYLAU_WAREHOUSE": url,
           "SAYLAU_DATA_DIR": str(folder), "SAYLAU_REGISTRY": str(folder / "stations.csv"),
           "SAYLAU_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "warning")}
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    with WorkerProcess(env, folder / "worker.log") as worker:
        while (stored := stored_stations(url)) < stations:
            assert worker.process is not None
            if worker.process.poll() is not None:
                raise SystemExit(f"the worker exited:\n{worker.tail()}")
            if time.monotonic() > deadline:
                raise SystemExit(f"only {stored:,} of {stations:,} stations stored after "
                                 f"{timeout:.0f} s:\n{worker.tail()}")
            print(f"\rstore {stored:,}/{stations:,}", end="", file=sys.stderr, flush=True)
            time.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - started
        print(f"\rstore {stations:,}/{stations:,}", file=sys.stderr, flush=True)
        worker.stop(60)
    return seconds


def time_comparison(url: str) -> float:
    warehouse = open_warehouse(url)
    try:
        started = time.perf_counter()
        tables = comparison_tables(warehouse)
        seconds = time.perf_counter() - started
    finally:
        warehouse.close()
    regions = tables.regions
    print(f"compare: {seconds:.2f} s for {len(tables.stations):,} stations; compared "
          f"{int(regions['stations_compared'].sum()):,}, matching "
          f"{int(regions['stations_matching'].sum()):,}, votes moved "
          f"{int(regions['votes_moved'].sum()):,}", flush=True)
    return seconds


def store_and_compare(bootstrap: str, folder: Path, args: argparse.Namespace, verified: int
                      ) -> tuple[float, float]:
    server = ClickHouseServer(folder / "clickhouse").start()
    try:
        store_s = time_store(bootstrap, server.url, folder, args.stations + verified,
                             args.timeout)
        print(f"store: {store_s:.1f} s for the worker to make every station's protocol "
              "queryable", flush=True)
        return store_s, time_comparison(server.url)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds the worker may "
                        "take to store everything")
    parser.add_argument("--verified", type=float, default=0.1, help="share of stations with "
                        "a verified copy (default 0.1)")
    parser.add_argument("--store", action=argparse.BooleanOptionalAction, default=True,
                        help="also store with the worker and time the comparison (default); "
                             "--no-store times the import alone")
    args = parser.parse_args()
    if args.store and not clickhouse_server_available():
        sys.exit("bench/tabulation.py needs Debian's clickhouse-server (apt-get install "
                 "clickhouse-server)")
    folder = Path(tempfile.mkdtemp(prefix="saylau-tabulation-"))
    try:
        started = time.perf_counter()
        registry = synthetic_registry(args.stations, args.stations * VOTERS_PER_STATION,
                                      seed=2026)
        write_registry_csv(registry, folder / "stations.csv")
        path = folder / "results.csv"
        figures = station_results(registry)
        rows = write_publication(path, figures)
        copies = verified_copies(figures, args.verified)
        print(f"publication: {rows:,} rows ({args.stations:,} stations and their districts' "
              f"totals), {path.stat().st_size / 2**20:.0f} MiB, made in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        with EmbeddedBroker(free_port()) as broker:
            ensure_topics(broker.bootstrap, topic_names(PREFIX), args.partitions)
            import_s = time_import(path, broker.bootstrap, folder)
            print(f"import: {import_s:.1f} s ({args.stations / import_s:,.0f} stations/s; "
                  "read, checked, sent and acknowledged)", flush=True)
            store_s = compare_s = math.nan
            if args.store:
                send_verified(broker.bootstrap, copies)
                verified = sum(kind == "protocol" for _, _, kind in copies)
                print(f"verified copies: {verified:,} sent", flush=True)
                store_s, compare_s = store_and_compare(broker.bootstrap, folder, args,
                                                       verified)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"tabulation_bench stations={args.stations} import_s={import_s:.1f} "
          f"compare_s={compare_s:.2f} store_s={store_s:.1f}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
