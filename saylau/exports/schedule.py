"""Periodic exports inside ``saylau up``: a daemon thread that exports a bundle every
``interval`` seconds until told to stop. A failed export is logged and retried at the next
tick; it never stops the rest of Saylau."""

from __future__ import annotations

import logging
import threading

from saylau.exports.bundle import Exporter

log = logging.getLogger("saylau.export")


def export_now(exporter: Exporter) -> None:
    as_of = exporter.default_as_of()
    folder = exporter.export(as_of)
    log.info("exported the snapshot as of %s to %s", as_of.isoformat(), folder)


def run_periodically(exporter: Exporter, interval_s: float, stop: threading.Event) -> None:
    while not stop.wait(interval_s):
        try:
            export_now(exporter)
        except Exception:  # a bad export must not take the worker down; the next may work
            log.exception("snapshot export failed; retrying in %.0f s", interval_s)


def start_export_thread(exporter: Exporter, interval_s: float,
                        stop: threading.Event) -> threading.Thread | None:
    """Start the periodic exports (none when ``interval_s`` is 0)."""
    if interval_s <= 0:
        return None
    thread = threading.Thread(target=run_periodically, args=(exporter, interval_s, stop),
                              name="saylau-export", daemon=True)
    thread.start()
    return thread
