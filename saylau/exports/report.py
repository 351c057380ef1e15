"""report.html: a short human-readable report of the bundle, from summary.json's document.

Plain HTML with the PNG maps beside it: it opens offline, and it shows only what the
summary holds, so the report and the data files cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from saylau.exports.maps import MAPS

STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
         "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 6px;"
         "text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%}")
REGION_HEADERS = (("region_name", "Region"), ("turnout_pct", "Turnout %"),
                  ("turnout_official_pct", "Official turnout %"),
                  ("coverage_pct", "Coverage %"), ("incidents", "Incidents"),
                  ("incidents_per_10k_voters", "per 10,000 voters"), ("alerts", "Alerts"))


def report_html(summary: dict[str, Any]) -> str:
    national = summary["national"]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(summary['election']['name'])} — snapshot {_e(summary['data_as_of'])}"
        f"</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(summary['election']['name'])}</h1>",
        f"<p>Data as of <b>{_e(summary['data_as_of'])}</b> (UTC; "
        f"{_e(_local(summary['data_as_of'], summary['election']['timezone']))}). Polls open "
        f"{_e(summary['election']['polls_open'])}, close "
        f"{_e(summary['election']['polls_close'])}.</p>",
        "<h2>Country</h2><ul>",
        f"<li>Turnout (observer counts): {national['turnout_pct']:.1f}% — "
        f"{national['ballots']:,} of {national['registered']:,} registered voters</li>",
        f"<li>Official turnout: {national['turnout_official_pct']:.1f}%</li>",
        f"<li>Stations with an observer: {national['covered']:,} of "
        f"{national['stations']:,} ({national['coverage_pct']:.1f}%)</li>",
        f"<li>Incidents: {national['incidents']:,}; alerts: {national['alerts']:,}</li></ul>",
        *[f'<h3>{_e(spec.title)}</h3><img src="{spec.file}" alt="{_e(spec.title)}">'
          for spec in MAPS],
        "<h2>Regions</h2>", _region_table(summary["regions"]),
        "<h2>Incidents by category</h2>", _incident_table(summary["incidents"]["by_category"]),
        "<h2>Exit poll</h2>", exit_poll_html(summary["exit_poll"]),
        "<p>Files and their SHA-256 checksums: <code>manifest.json</code>. No personal data "
        "of observers is in this bundle.</p></body></html>",
    ]
    return "\n".join(parts) + "\n"


def exit_poll_html(block: dict[str, Any]) -> str:
    if block["status"] == "embargoed":
        return (f"<p>Embargoed until {_e(block['embargoed_until'])} (UTC), when voting ends. "
                f"{_e(block['law'])}</p>")
    statements = [("Conducted by", block["conducted_by"]),
                  ("Commissioned and paid for by", block["commissioned_by"]),
                  ("Fieldwork", f"{block['fieldwork_start']} to {block['fieldwork_end']} (UTC)"),
                  ("Method", block["method"]), ("Question", block["question"]),
                  ("Respondents", f"{block['respondents']:,} at {block['stations_sampled']:,} "
                                  f"of {block['stations_total']:,} stations"),
                  ("Margin of error", _margin(block))]
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(str(v))}</td></tr>" for k, v in statements)
    results = "".join(
        f"<tr><td>{_e(r['name'])}</td><td>{r['share_pct']:.1f}%</td>"
        f"<td>±{r['margin_pct']:.1f}</td></tr>" for r in block["results"])
    return (f"<table>{rows}</table><table><tr><th>Option</th><th>Share</th><th>Margin</th>"
            f"</tr>{results}</table>")


def _margin(block: dict[str, Any]) -> str:
    if block["margin_of_error_pct"] is None:
        return "cannot be estimated (fewer than 2 stations sampled): no shares published"
    return (f"up to ±{block['margin_of_error_pct']:.1f} percentage points at "
            f"{block['confidence_pct']:.0f}% confidence")


def _region_table(regions: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{_e(title)}</th>" for _key, title in REGION_HEADERS)
    rows = "".join("<tr>" + "".join(f"<td>{_e(_cell(key, row[key]))}</td>"
                                    for key, _title in REGION_HEADERS) + "</tr>"
                   for row in regions)
    return f"<table><tr>{head}</tr>{rows}</table>"


def _incident_table(by_category: dict[str, dict[str, int]]) -> str:
    if not by_category:
        return "<p>None reported.</p>"
    statuses = ("verified", "unverified", "rejected", "duplicate", "total")
    head = "<tr><th>Category</th>" + "".join(f"<th>{s}</th>" for s in statuses) + "</tr>"
    rows = "".join(f"<tr><td>{_e(category)}</td>"
                   + "".join(f"<td>{counts[s]:,}</td>" for s in statuses) + "</tr>"
                   for category, counts in sorted(by_category.items()))
    return f"<table>{head}{rows}</table>"


def _cell(key: str, value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if key == "incidents_per_10k_voters" else f"{value:.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _local(utc_text: str, timezone: str) -> str:
    moment = dt.datetime.fromisoformat(utc_text.replace("Z", "+00:00"))
    return f"{moment.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M} in {timezone}"


def _e(text: str) -> str:
    return escape(text, quote=True)
