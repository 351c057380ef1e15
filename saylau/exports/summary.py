"""summary.json: the whole bundle in one document, built from the same tables as the
other files (pure)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from saylau.core.election import Election
from saylau.exports.exitpoll import iso
from saylau.exports.snapshot import Snapshot
from saylau.exports.tables import (
    alert_counts,
    incident_counts,
    incident_status_totals,
    national_figures,
)

SUMMARY_VERSION = "saylau.summary/1"
NOTES = {
    "ballots": "ballots issued as counted by observers (latest count per station)",
    "ballots_official": "ballots issued as reported by the election commission",
    "covered": "stations with an observer present at the data-as-of time",
    "stations": "per-station coverage is not published: it would show where nobody watches",
    "times": "UTC, ISO 8601",
}


def build_summary(snapshot: Snapshot, election: Election, regions: pd.DataFrame,
                  exit_poll: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": SUMMARY_VERSION,
        "data_as_of": iso(snapshot.as_of),
        "election": {"name": election.name, "date": election.date.isoformat(),
                     "timezone": election.timezone, "polls_open": iso(election.opens_at),
                     "polls_close": iso(election.closes_at)},
        "national": national_figures(snapshot.state, regions),
        "regions": regions.to_dict("records"),
        "incidents": {"by_status": incident_status_totals(snapshot.incidents),
                      "by_category": incident_counts(snapshot.incidents)},
        "alerts": {"by_kind": alert_counts(snapshot.alerts)},
        "exit_poll": exit_poll,
        "notes": NOTES,
    }
