"""Where each observer is placed: the only stations an observer token may report for.

An observer is placed at

- the station the roster assigns them (``DATA_DIR/roster/observers.csv``, read at start);
- every station headquarters assigned them to through this gateway (``assignment``);
- if neither places them (no roster, not in it, or no station in it): the station of their
  first check-in, and only that one.

Placements made here (assignments, first check-ins) are kept in
``DATA_DIR/gateway/placements.sqlite3``, so a restart does not let an observer check in
somewhere else. A placement is recorded when the report passes the gateway's checks, before
it is journaled: two concurrent first check-ins cannot both win.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path

from saylau.core.contract import Assignment, Checkin, Event

SCHEMA = """
CREATE TABLE IF NOT EXISTS placements (
    observer_id TEXT NOT NULL,
    station_id TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    PRIMARY KEY (observer_id, station_id)
)"""


class Placements:
    def __init__(self, path: Path, roster: Mapping[str, str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA)
        self._lock = threading.Lock()
        self._stations: dict[str, set[str]] = {}
        for observer_id, station_id in roster.items():
            self._stations.setdefault(observer_id, set()).add(station_id)
        for observer_id, station_id in self._db.execute(
                "SELECT observer_id, station_id FROM placements"):
            self._stations.setdefault(observer_id, set()).add(station_id)

    def stations(self, observer_id: str) -> frozenset[str]:
        return frozenset(self._stations.get(observer_id, ()))

    def record(self, event: Event) -> None:
        """Place the observer an accepted assignment moves, or who checks in unplaced."""
        if isinstance(event, Assignment):
            self._place(event.observer_id, event.target_station_id, "assignment")
        elif isinstance(event, Checkin) and not self._stations.get(event.observer_id):
            self._place(event.observer_id, event.station_id, "checkin")

    def _place(self, observer_id: str, station_id: str, placed_by: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO placements (observer_id, station_id, "
                             "placed_by) VALUES (?, ?, ?)", (observer_id, station_id, placed_by))
            self._stations.setdefault(observer_id, set()).add(station_id)

    def close(self) -> None:
        self._db.close()


def placements_path(data_dir: Path) -> Path:
    return data_dir / "gateway" / "placements.sqlite3"
