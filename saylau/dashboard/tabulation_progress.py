"""The double entry's progress by region, as a table: on the tabulation page and the status
page (the same figures, from saylau/warehouse/tabulation_queries.py's one query)."""

from __future__ import annotations

import pandas as pd
from dash import html

from saylau.core.i18n import N_
from saylau.dashboard.language import number, t
from saylau.dashboard.names import region_name

# (column of tabulation_progress, header)
COLUMNS = (("photos", N_("Photos received")), ("entered_once", N_("Entered once")),
           ("agreed", N_("Agreed")), ("conflict", N_("In conflict")))


def visible_progress(progress: pd.DataFrame, regions: frozenset[str] | None) -> pd.DataFrame:
    """The rows of `regions` (None: every region)."""
    return progress if regions is None else progress[progress["region_code"].isin(regions)]


def progress_table(progress: pd.DataFrame, prefix: str,
                   region_names: dict[str, str]) -> html.Table | html.P:
    """One row per region and one for all of them; ids ``<prefix>-progress-<region>`` and
    cells ``<prefix>-progress-<region>-<column>``."""
    if progress.empty:
        return html.P(t("No protocol photo received yet."), className="empty",
                      id=f"{prefix}-progress-empty")
    header = html.Tr([html.Th(t("Region")), *[html.Th(t(label)) for _key, label in COLUMNS]])
    rows = [_row(prefix, str(row["region_code"]),
                 region_name(row["region_code"], region_names.get(row["region_code"])), row)
            for _index, row in progress.iterrows()]
    rows.append(_row(prefix, "all", t("all"), progress[[key for key, _ in COLUMNS]].sum()))
    return html.Table([html.Thead(header), html.Tbody(rows)], className="region-table",
                      id=f"{prefix}-progress-table")


def _row(prefix: str, key: str, name: str, figures: pd.Series) -> html.Tr:
    return html.Tr([html.Td(name), *[html.Td(number(int(figures[column])),
                                             id=f"{prefix}-progress-{key}-{column}")
                                     for column, _label in COLUMNS]],
                   id=f"{prefix}-progress-{key}")
