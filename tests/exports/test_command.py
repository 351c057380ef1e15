"""`saylau export` arguments, and the scheduled exports `saylau up` starts."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from saylau.cli.export_cmd import parse_as_of, start_scheduled_exports
from saylau.cli.main import main
from saylau.core.settings import Settings
from saylau.exports import list_bundles, verify_bundle
from saylau.warehouse.client import Warehouse
from tests.exports.days import StoredDay

pytestmark = pytest.mark.timeout(300)

ALMATY = ZoneInfo("Asia/Almaty")
DAY = dt.date(2026, 3, 15)


@pytest.mark.parametrize(("text", "expected"), [
    ("20:00", dt.datetime(2026, 3, 15, 20, 0, tzinfo=ALMATY)),
    ("2026-03-15T21:30", dt.datetime(2026, 3, 15, 21, 30, tzinfo=ALMATY)),
    ("2026-03-15T15:00:00Z", dt.datetime(2026, 3, 15, 15, 0, tzinfo=dt.UTC)),
    ("2026-03-15T20:00:00+05:00", dt.datetime(2026, 3, 15, 15, 0, tzinfo=dt.UTC)),
])
def test_as_of_is_iso_or_a_time_on_the_election_day(text: str, expected: dt.datetime) -> None:
    assert parse_as_of(text, DAY, ALMATY) == expected


@pytest.mark.parametrize("bad", ["25:00", "yesterday", "2026-13-01T00:00"])
def test_a_bad_as_of_is_a_clear_error(bad: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--as-of", bad, "--data-dir", str(tmp_path)]) == 2
    assert "is not a time" in capsys.readouterr().err
    assert not (tmp_path / "exports").exists()


def test_an_as_of_in_the_future_is_refused(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert main(["export", "--as-of", future, "--data-dir", str(tmp_path)]) == 2
    assert "in the future" in capsys.readouterr().err


def test_saylau_up_exports_on_its_schedule(stored: tuple[Warehouse, StoredDay],
                                           registry: pd.DataFrame, tmp_path: Path) -> None:
    warehouse, _day = stored
    settings = Settings(data_dir=tmp_path, registry=tmp_path / "stations.csv",
                        export_interval_seconds=0.5)
    stop = threading.Event()
    thread = start_scheduled_exports(settings, warehouse, stop)
    assert thread is not None
    try:
        deadline = time.monotonic() + 120
        while not list_bundles(settings.export_path) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    bundles = list_bundles(settings.export_path)
    # The day's data is in the past: the as-of is its latest report (the day after noon).
    assert bundles and bundles[0].data_as_of.startswith("2026-03-1")
    assert verify_bundle(bundles[0].path) == []
    off = Settings(data_dir=tmp_path, export_interval_seconds=0)
    assert start_scheduled_exports(off, warehouse, threading.Event()) is None
