"""Publication is atomic: a reader following `latest` during exports only ever finds whole
bundles whose checksums verify, and a failed export leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path

import pytest

from saylau.exports import Exporter, list_bundles, read_latest, verify_bundle
from saylau.exports.publish import remove_stale_staging
from tests.exports.days import ELECTION

pytestmark = pytest.mark.timeout(300)


class LatestReader(threading.Thread):
    """Polls `latest` (and the bundle list) as fast as it can, verifying what it finds."""

    def __init__(self, out_dir: Path) -> None:
        super().__init__(daemon=True)
        self.out_dir = out_dir
        self.stop = threading.Event()
        self.polls = 0
        self.seen: set[str] = set()
        self.problems: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            folder = read_latest(self.out_dir)  # resolve once, then read from that folder
            if folder is not None:
                self.problems += [f"{folder.name}: {p}" for p in verify_bundle(folder)]
                self.seen.add(folder.name)
            for bundle in list_bundles(self.out_dir):
                self.problems += [f"{bundle.name}: {p}" for p in verify_bundle(bundle.path)]
            self.polls += 1


def test_a_reader_polling_latest_during_exports_never_sees_an_incomplete_bundle(
        exporter: Exporter) -> None:
    reader = LatestReader(exporter.out_dir)
    reader.start()
    times = [ELECTION.local(dt.time(hour, 30)) for hour in range(9, 22, 2)]
    try:
        published = [exporter.export(as_of).name for as_of in times]
    finally:
        reader.stop.set()
        reader.join(timeout=60)
    assert reader.problems == []
    assert reader.polls > 50 and len(reader.seen) >= 2
    assert reader.seen <= set(published)
    assert [b.name for b in list_bundles(exporter.out_dir)] == published[::-1]  # all kept
    assert not [p for p in exporter.out_dir.iterdir() if p.name.startswith(".")]


def test_a_failed_export_publishes_nothing_and_leaves_latest_alone(
        exporter: Exporter, tmp_path: Path) -> None:
    first = exporter.export(ELECTION.local(dt.time(12)))
    broken = tmp_path / "broken-commission.csv"
    broken.write_text("station_id,name\nKAZ001-0001,someone\n", encoding="utf-8")
    exporter.commission_file = broken  # the registry's members file is unreadable now
    with pytest.raises(KeyError):
        exporter.export(ELECTION.local(dt.time(13)))
    assert sorted(p.name for p in exporter.out_dir.iterdir()) == [first.name, "latest"]
    assert read_latest(exporter.out_dir) == first


def test_staging_folders_left_by_a_killed_export_are_removed_later(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    old, fresh = out / ".staging-old", out / ".staging-running"
    for folder in (old, fresh):
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text("{", encoding="utf-8")
    hours_ago = time.time() - 7200
    os.utime(old, (hours_ago, hours_ago))
    assert remove_stale_staging(out) == [".staging-old"]
    assert not old.exists() and fresh.is_dir()
