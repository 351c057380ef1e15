"""The analysis tables as the /analysis page may show them, and as CSV downloads.

``GET /analysis/tables/<name>.csv``: one table of ``saylau.analysis.report.analysis_tables``,
in the text the media export writes as ``analysis-<name>.csv``. The path's first segment is
``analysis``, so the access guard (saylau/dashboard/auth.py) serves it to the roles that may
open the page, and no one else; the route checks again, as every page layout does.

Page and downloads read the tables through `shown_tables`, so both hold back the exit-poll
rows while the embargo holds (saylau/dashboard/embargo.py), judged as the exports judge it.
"""

from __future__ import annotations

import datetime as dt

import flask
import pandas as pd
from werkzeug.exceptions import NotFound

from saylau.analysis.report import analysis_tables, table_csv, without_exit_poll
from saylau.dashboard.auth import require_page
from saylau.dashboard.embargo import embargoed_until
from saylau.dashboard.snapshot import current_settings

PAGE = "analysis"
TABLES_URL = f"/{PAGE}/tables"


def shown_tables() -> tuple[dict[str, pd.DataFrame], dt.datetime | None]:
    """Every analysis table of the day for this request, and when the exit-poll embargo
    ends if it still holds (then the tables have no exit-poll row)."""
    from saylau.dashboard.app import current_context  # the app imports this module

    warehouse = current_context().warehouse
    settings = current_settings()
    election = settings.election()
    tables = analysis_tables(warehouse, election, threshold=settings.forensics_threshold)
    embargo_ends = embargoed_until(warehouse, election)
    return (tables if embargo_ends is None else without_exit_poll(tables)), embargo_ends


def file_name(name: str) -> str:
    """The table's file name, the media export's (saylau/exports/bundle.py)."""
    return f"analysis-{name}.csv"


def table_url(name: str) -> str:
    return f"{TABLES_URL}/{name}.csv"


def register_analysis_downloads(server: flask.Flask) -> None:
    @server.route(f"{TABLES_URL}/<name>.csv")
    def analysis_table(name: str) -> flask.Response:
        require_page(PAGE)
        tables, _embargo_ends = shown_tables()
        if name not in tables:
            raise NotFound()
        return flask.Response(
            table_csv(tables[name]), mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{file_name(name)}"',
                     "Cache-Control": "no-store"})  # the tables change as protocols arrive
