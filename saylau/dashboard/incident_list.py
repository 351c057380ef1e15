"""The incidents page's filter, pure: a DataFrame of incidents in, the matching ones out."""

from __future__ import annotations

import pandas as pd

STATUSES = ("unverified", "verified", "rejected", "duplicate")
SEVERITIES = (1, 2, 3)


def filter_incidents(frame: pd.DataFrame, regions: set[str], categories: list[str],
                     severities: list[int], statuses: list[str]) -> pd.DataFrame:
    """The incidents of `regions` that match every non-empty filter, newest first."""
    keep = frame["region_code"].isin(regions)
    for column, wanted in (("category", categories), ("severity", severities),
                           ("status", statuses)):
        if wanted:
            keep &= frame[column].isin(wanted)
    return frame[keep].sort_values(["occurred_at", "incident_id"], ascending=False,
                                   ignore_index=True)
