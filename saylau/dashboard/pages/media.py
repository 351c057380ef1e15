"""Media page: the published snapshot bundles, newest first, with links to every file.

The files are served by ``saylau.dashboard.export_routes``; this page only lists them.
"""

from __future__ import annotations

import dash
import flask
from dash import Input, Output, callback, dcc, html

from saylau.core.i18n import N_
from saylau.dashboard.app import current_context
from saylau.dashboard.auth import require_page
from saylau.dashboard.export_routes import export_dir_of, file_url
from saylau.dashboard.language import t
from saylau.exports.publish import BundleInfo, list_bundles, read_latest

dash.register_page(__name__, path="/media",
                   title=lambda **_path: t("Saylau — media exports"), name="Media")

PAGE = "media"
REFRESH_MS = 30_000
# Inline, so the page reads well on the dashboard's dark background without a stylesheet.
PAGE_STYLE = {"padding": "1em 2em", "maxWidth": "80em"}
LINK_STYLE = {"marginRight": "0.8em", "color": "#8cc4ff"}
ABOUT = N_("Snapshots of election day for journalists and partners. Each bundle is named by "
         "the time its data is as of (UTC) and holds summary.json, regions and stations as "
         "CSV and GeoJSON, PNG maps, a short report and manifest.json with the SHA-256 of "
         "every file. Exit-poll results appear only in bundles whose data is as of after "
         "polls close. No personal data of observers is published.")


def layout(**_query: str) -> html.Div:
    require_page(PAGE)  # the guard judged the request; the page checks again
    return html.Div(className="media", style=PAGE_STYLE, children=[
        html.H1(t("Saylau — media exports")),
        html.P(t(ABOUT), className="media-about"),
        # the station-by-station comparison is the media's too (docs/comparison.md)
        html.P(dcc.Link(t("Official results beside the observers' verified copies, station "
                          "by station"), href="/comparison", id=f"{PAGE}-comparison",
                        style=LINK_STYLE)),
        html.Div(bundle_list(), id=f"{PAGE}-bundles"),
        dcc.Interval(id=f"{PAGE}-tick", interval=REFRESH_MS, n_intervals=0),
    ])


@callback(Output(f"{PAGE}-bundles", "children"), Input(f"{PAGE}-tick", "n_intervals"),
          prevent_initial_call=True)
def refresh(_n: int) -> html.Div:
    return bundle_list()


def bundle_list() -> html.Div:
    current_context()  # the page belongs to a Saylau dashboard
    folder = export_dir_of(flask.current_app)
    bundles = list_bundles(folder) if folder else []
    if not bundles:
        return html.Div(html.P(t("No bundle published yet."), id=f"{PAGE}-empty"))
    latest = read_latest(folder) if folder else None
    header = html.Tr([html.Th(t("Data as of (UTC)")), html.Th(t("Generated (UTC)")),
                      html.Th(t("Files"))])
    rows = [_row(bundle, latest is not None and latest.name == bundle.name)
            for bundle in bundles]
    return html.Div(html.Table([html.Thead(header), html.Tbody(rows)],
                               className="media-table", id=f"{PAGE}-table"))


def _row(bundle: BundleInfo, is_latest: bool) -> html.Tr:
    links = [html.A(name, href=file_url(bundle.name, name), className="media-file",
                    style=LINK_STYLE) for name in bundle.files]
    label = (t("{moment} (latest)").format(moment=bundle.data_as_of) if is_latest
             else bundle.data_as_of)
    return html.Tr([html.Td(label), html.Td(bundle.generated_at), html.Td(links)],
                   id=f"{PAGE}-bundle-{bundle.name}", className="media-bundle")
