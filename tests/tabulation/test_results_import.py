"""`saylau results import` end to end: the command → the real broker → `saylau worker` →
each warehouse engine; and the command's own behaviour (exit codes, what reaches Kafka).

Nothing is mocked: the command runs in-process against the session's embedded broker, the
worker as a child process, the warehouse on chDB and on a real clickhouse-server.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest
from kafka import KafkaConsumer, TopicPartition

from saylau.cli.main import main
from saylau.core.contract import topic_for
from saylau.geo.registry import synthetic_registry, write_registry_csv
from saylau.ingest.results import publication_id
from saylau.kafka.broker import EmbeddedBroker
from saylau.warehouse.client import open_warehouse
from saylau.warehouse.queries import latest_protocols
from tests.integration.test_pipeline import worker_env
from tests.integration.worker import WorkerProcess
from tests.tabulation.results_publications import (
    COUNTS,
    OPTIONS,
    RUSSIAN,
    station_figures,
    write_csv,
    write_xlsx,
)

pytestmark = [pytest.mark.broker, pytest.mark.timeout(400)]

FIRST_AT = "2026-03-15T23:30:00+05:00"
CORRECTED_AT = "2026-03-16T09:00:00+05:00"


@pytest.fixture
def registry(tmp_path: Path) -> pd.DataFrame:
    """40 stations, also where the worker and the command read the registry."""
    frame = synthetic_registry(n_stations=40, total_voters=50_000, seed=11)
    write_registry_csv(frame, tmp_path / "stations.csv")
    return frame


@pytest.fixture
def command_env(monkeypatch: pytest.MonkeyPatch, broker: EmbeddedBroker, topic_prefix: str,
                tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("SAYLAU_"):
            monkeypatch.delenv(name)
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.setenv(name, "C.UTF-8")  # English texts, whatever the machine's locale
    monkeypatch.setenv("SAYLAU_KAFKA_BOOTSTRAP", broker.bootstrap)
    monkeypatch.setenv("SAYLAU_TOPIC_PREFIX", topic_prefix)
    monkeypatch.setenv("SAYLAU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SAYLAU_REGISTRY", str(tmp_path / "stations.csv"))


def results_import(*argv: object) -> int:
    return main(["results", "import", *(str(arg) for arg in argv)])


def record_ends(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    """Each partition's offset after its last record, found by reading them all: the
    embedded broker's end offsets count a batch of records as one (see
    docs/results-import.md), and the import sends records in large batches."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=2000,
                             auto_offset_reset="earliest")
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        ends = dict.fromkeys(partitions, 0)
        for record in consumer:
            part = TopicPartition(record.topic, record.partition)
            ends[part] = max(ends[part], record.offset + 1)
        return ends
    finally:
        consumer.close()


def messages_on_topic(bootstrap: str, topic: str) -> int:
    return sum(record_ends(bootstrap, topic).values())


def wait_until_committed(worker: WorkerProcess, ends: dict[TopicPartition, int],
                         timeout: float = 120.0) -> None:
    """Until the worker's group has committed every record of ``ends``."""
    env = worker.env
    consumer = KafkaConsumer(bootstrap_servers=env["SAYLAU_KAFKA_BOOTSTRAP"],
                             group_id=env["SAYLAU_WORKER_GROUP"], enable_auto_commit=False)
    deadline = time.monotonic() + timeout
    try:
        while any((consumer.committed(part) or 0) < end for part, end in ends.items()):
            assert worker.process is not None and worker.process.poll() is None, worker.tail()
            assert time.monotonic() < deadline, f"worker not caught up:\n{worker.tail()}"
            time.sleep(0.5)
    finally:
        consumer.close(autocommit=False)


def by_region(figures: pd.DataFrame, registry: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {f"Регион {code}": figures[registry["region_code"] == code]
            for code in registry["region_code"].unique()}


def test_a_corrected_publication_supersedes_the_first_and_both_stay_in_the_archive(
        command_env: None, broker: EmbeddedBroker, topic_prefix: str, warehouse_url: str,
        tmp_path: Path, registry: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    figures = station_figures(registry, seed=2)
    first = write_xlsx(tmp_path / "results.xlsx", by_region(figures, registry))
    corrected_figures = figures.copy()
    row = corrected_figures.index[7]
    for column in ("amanat", "ballots_issued", "ballots_cast"):
        corrected_figures.loc[row, column] += 25  # a recount: 25 more ballots for AMANAT
    corrected = write_csv(tmp_path / "results-corrected.csv", corrected_figures)
    station = str(corrected_figures.loc[row, "station_id"])

    assert results_import(first, "--published-at", FIRST_AT) == 0
    assert results_import(first, "--published-at", FIRST_AT) == 0  # imported twice
    assert results_import(corrected, "--published-at", CORRECTED_AT, "--by", "cec-desk") == 0
    out = capsys.readouterr().out
    assert f"publication {publication_id(first.read_bytes())}" in out
    assert f"{len(figures)} stations imported" in out and "acknowledged" in out
    ends = record_ends(broker.bootstrap, topic_for("protocol", topic_prefix))
    assert sum(ends.values()) == 3 * len(figures)  # sent; the worker counts each event once

    env = worker_env(broker, topic_prefix, warehouse_url, tmp_path)
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        wait_until_committed(worker, ends)
        assert worker.stop() == 0

    warehouse = open_warehouse(warehouse_url)
    try:
        latest = latest_protocols(warehouse)
        official = latest[latest["source"] == "official"].set_index("station_id")
        assert len(official) == len(figures)
        expected = corrected_figures.set_index("station_id")
        for column in COUNTS:
            assert official[column].to_dict() == expected[column].astype(int).to_dict()
        assert official.loc[station, "votes"] == {o: int(expected.loc[station, o])
                                                  for o in OPTIONS}
        archive = warehouse.query_df(
            "SELECT publication, any(actor) AS actor, uniqExact(event_id) AS events, "
            "uniqExact(station_id) AS stations FROM $db.tabulation WHERE fact = 'official' "
            "GROUP BY publication ORDER BY publication")
        assert dict(zip(archive["publication"], archive["stations"].astype(int),
                        strict=True)) == {publication_id(first.read_bytes()): len(figures),
                                          publication_id(corrected.read_bytes()): len(figures)}
        assert archive["events"].astype(int).tolist() == [len(figures)] * 2
        assert set(archive["actor"]) == {"cec-import", "cec-desk"}
        stored = warehouse.query_df("SELECT uniqExact(event_id) AS n FROM $db.events "
                                    "WHERE kind = 'protocol'")
        assert int(stored["n"].iloc[0]) == 2 * len(figures)
        first_figures = warehouse.query_df(
            "SELECT argMin(ballots_cast, occurred_at) AS first, "
            "argMax(ballots_cast, occurred_at) AS last FROM $db.protocols "
            "WHERE station_id = {station:String} AND source = 'official'",
            {"station": station})
        assert (int(first_figures["first"].iloc[0]), int(first_figures["last"].iloc[0])) == (
            int(figures.loc[row, "ballots_cast"]), int(figures.loc[row, "ballots_cast"]) + 25)
    finally:
        warehouse.close()


def test_a_row_whose_arithmetic_fails_stops_the_import_unless_keep_valid(
        command_env: None, broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path,
        registry: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    figures = station_figures(registry, seed=4)
    figures.loc[figures.index[0], "invalid"] += 2
    path = write_csv(tmp_path / "results.csv", figures)
    topic = topic_for("protocol", topic_prefix)

    assert results_import(path, "--published-at", FIRST_AT) == 1
    err = capsys.readouterr().err
    assert f'sheet "results", row 3, column "{RUSSIAN["ballots_cast"]}": ballots cast' in err
    assert "nothing imported: 1 errors in 1 rows" in err
    assert messages_on_topic(broker.bootstrap, topic) == 0

    assert results_import(path, "--published-at", FIRST_AT, "--keep-valid", "--dry-run") == 0
    assert "dry run" in capsys.readouterr().out
    assert messages_on_topic(broker.bootstrap, topic) == 0

    assert results_import(path, "--published-at", FIRST_AT, "--keep-valid") == 0
    out = capsys.readouterr().out
    assert f"{len(figures) - 1} stations imported of {len(figures)} station rows" in out
    assert messages_on_topic(broker.bootstrap, topic) == len(figures) - 1


@pytest.mark.parametrize(("argv", "says"), [
    (["--published-at", "2026-03-15T23:00:00"], "UTC offset"),
    (["--published-at", "yesterday"], "ISO 8601"),
    (["--published-at", "2026-05-01T10:00:00+05:00"], "outside the span"),
    ([], "outside the span"),  # now: months after this test's election day
    (["--by", "CEC import"], "--by"),
    (["--publication", "pub 1"], "--publication"),
])
def test_unusable_options_exit_2_before_anything_is_read(
        command_env: None, tmp_path: Path, registry: pd.DataFrame, argv: list[str], says: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "results.csv", station_figures(registry))
    assert results_import(path, *argv) == 2
    assert says in capsys.readouterr().err


def test_a_missing_file_and_a_bad_mapping_exit_2(
        command_env: None, tmp_path: Path, registry: pd.DataFrame,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert results_import(tmp_path / "none.csv", "--published-at", FIRST_AT) == 2
    assert "no such file" in capsys.readouterr().err
    path = write_csv(tmp_path / "results.csv", station_figures(registry))
    mapping = tmp_path / "mapping.toml"
    mapping.write_text("[columns]\nturnout = 'Явка'\n", encoding="utf-8")
    assert results_import(path, "--mapping", mapping, "--published-at", FIRST_AT) == 2
    assert "unknown field(s) in [columns]: turnout" in capsys.readouterr().err
    legacy = tmp_path / "results.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0")
    assert results_import(legacy, "--published-at", FIRST_AT) == 2
    assert "save the file as XLSX or CSV" in capsys.readouterr().err
