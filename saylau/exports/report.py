"""report.html: a short human-readable report of the bundle, from summary.json's document.

Plain HTML with the PNG maps beside it: it opens offline, and it shows only what the
summary holds, so the report and the data files cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from saylau.core import names
from saylau.core.i18n import DEFAULT_LANGUAGE, N_, gettext, number, percent_of
from saylau.exports.maps import MAPS, map_file
from saylau.geo.regions import region_names_by_language

STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
         "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 6px;"
         "text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%}")
REGION_HEADERS = (("region_name", N_("Region")), ("turnout_pct", N_("Turnout %")),
                  ("turnout_official_pct", N_("Official turnout %")),
                  ("coverage_pct", N_("Coverage %")), ("incidents", N_("Incidents")),
                  ("incidents_per_10k_voters", N_("per 10,000 voters")),
                  ("alerts", N_("Alerts")))
STATUSES = ("verified", "unverified", "rejected", "duplicate", "total")


class Texts:
    """The report's texts and numbers in one language (the catalogs, Babel's formats)."""

    def __init__(self, language: str, option_names: dict[str, str] | None = None) -> None:
        self.language = language
        self.option_names = option_names or {}

    def __call__(self, message: str, **fields: object) -> str:
        text = gettext(message, self.language)
        return text.format(**fields) if fields else text

    def n(self, value: float | int, digits: int = 0) -> str:
        return number(value, self.language, digits)

    def pct(self, value: float, digits: int = 1) -> str:
        return percent_of(value, self.language, digits)

    def region(self, code: str, fallback: str) -> str:
        return region_names_by_language().get(self.language, {}).get(code, fallback)


def report_html(summary: dict[str, Any], language: str = DEFAULT_LANGUAGE,
                option_names: dict[str, str] | None = None) -> str:
    """The report in `language`; its maps are that language's PNGs (`map_file`)."""
    tr = Texts(language, option_names)
    national = summary["national"]
    election = summary["election"]
    parts = [
        "<!DOCTYPE html>", f'<html lang="{_e(language)}"><head><meta charset="utf-8">',
        _tag("title", election["name"] + " — " + tr("snapshot") + " " + summary["data_as_of"])
        + f"<style>{STYLE}</style></head><body>",
        f"<h1>{_e(election['name'])}</h1>",
        "<p>" + tr("Data as of <b>{moment}</b> (UTC; {local}). Polls open {open}, close "
                   "{close}.", moment=_e(summary["data_as_of"]),
                   local=_e(_local(summary["data_as_of"], election["timezone"], tr)),
                   open=_e(election["polls_open"]), close=_e(election["polls_close"]))
        + "</p>",
        _tag("h2", tr("Country")) + "<ul>",
        "<li>" + _e(tr("Turnout (observer counts): {share} — {ballots} of {registered} "
                       "registered voters", share=tr.pct(national["turnout_pct"]),
                       ballots=tr.n(national["ballots"]),
                       registered=tr.n(national["registered"]))) + "</li>",
        "<li>" + _e(tr("Official turnout: {share}",
                       share=tr.pct(national["turnout_official_pct"]))) + "</li>",
        "<li>" + _e(tr("Stations with an observer: {covered} of {stations} ({share})",
                       covered=tr.n(national["covered"]), stations=tr.n(national["stations"]),
                       share=tr.pct(national["coverage_pct"]))) + "</li>",
        "<li>" + _e(tr("Incidents: {incidents}; alerts: {alerts}",
                       incidents=tr.n(national["incidents"]),
                       alerts=tr.n(national["alerts"]))) + "</li></ul>",
        *[_tag("h3", tr(spec.title)) + f'<img src="{map_file(spec, language)}" '
          f'alt="{_e(tr(spec.title))}">' for spec in MAPS],
        _tag("h2", tr("Regions")), _region_table(summary["regions"], tr),
        _tag("h2", tr("Incidents by category")),
        _incident_table(summary["incidents"]["by_category"], tr),
        _tag("h2", tr("Exit poll")), exit_poll_html(summary["exit_poll"], tr),
        "<p>" + tr("Files and their SHA-256 checksums: {manifest}. No personal data of "
                   "observers is in this bundle.", manifest="<code>manifest.json</code>")
        + "</p></body></html>",
    ]
    return "\n".join(parts) + "\n"


def exit_poll_html(block: dict[str, Any], tr: Texts | None = None) -> str:
    tr = tr or Texts(DEFAULT_LANGUAGE)
    if block["status"] == "embargoed":
        # The law's text is quoted as the election definition gives it.
        return "<p>" + _e(tr("Embargoed until {moment} (UTC), when voting ends.",
                             moment=block["embargoed_until"])) + f" {_e(block['law'])}</p>"
    statements = [
        (tr("Conducted by"), block["conducted_by"]),
        (tr("Commissioned and paid for by"), block["commissioned_by"]),
        (tr("Fieldwork"), tr("{start} to {end} (UTC)", start=block["fieldwork_start"],
                             end=block["fieldwork_end"])),
        (tr("Method"), block["method"]), (tr("Question"), block["question"]),
        (tr("Respondents"), tr("{respondents} at {sampled} of {total} stations",
                               respondents=tr.n(block["respondents"]),
                               sampled=tr.n(block["stations_sampled"]),
                               total=tr.n(block["stations_total"]))),
        (tr("Margin of error"), _margin(block, tr))]
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(str(v))}</td></tr>" for k, v in statements)
    results = "".join(
        f"<tr><td>{_e(tr.option_names.get(r['option'], r['name']))}</td>"
        f"<td>{_e(tr.pct(r['share_pct']))}</td>"
        f"<td>±{_e(tr.n(r['margin_pct'], 1))}</td></tr>" for r in block["results"])
    head = _tag("th", tr("Option")) + _tag("th", tr("Share")) + _tag("th", tr("Margin"))
    return f"<table>{rows}</table><table><tr>{head}</tr>{results}</table>"


def _margin(block: dict[str, Any], tr: Texts) -> str:
    if block["margin_of_error_pct"] is None:
        return tr("cannot be estimated (fewer than 2 stations sampled): no shares published")
    return tr("up to ±{margin} percentage points at {confidence} confidence",
              margin=tr.n(block["margin_of_error_pct"], 1),
              confidence=tr.pct(block["confidence_pct"], 0))


def _region_table(regions: list[dict[str, Any]], tr: Texts) -> str:
    head = "".join(f"<th>{_e(tr(title))}</th>" for _key, title in REGION_HEADERS)
    rows = "".join("<tr>" + "".join(f"<td>{_e(_cell(key, row, tr))}</td>"
                                    for key, _title in REGION_HEADERS) + "</tr>"
                   for row in regions)
    return f"<table><tr>{head}</tr>{rows}</table>"


def _incident_table(by_category: dict[str, dict[str, int]], tr: Texts) -> str:
    if not by_category:
        return _tag("p", tr("None reported."))
    head = ("<tr>" + _tag("th", tr("Category"))
            + "".join(f"<th>{_e(_status(s, tr))}</th>" for s in STATUSES) + "</tr>")
    rows = "".join(f"<tr><td>{_e(names.name_of(names.CATEGORY_NAMES, category, tr.language))}"
                   "</td>" + "".join(f"<td>{tr.n(counts[s])}</td>" for s in STATUSES) + "</tr>"
                   for category, counts in sorted(by_category.items()))
    return f"<table>{head}{rows}</table>"


def _status(status: str, tr: Texts) -> str:
    return tr("total") if status == "total" else names.name_of(names.STATUS_NAMES, status,
                                                                tr.language)


def _cell(key: str, row: dict[str, Any], tr: Texts) -> str:
    value = row[key]
    if key == "region_name":
        return tr.region(str(row.get("region_code", "")), str(value))
    if isinstance(value, float):
        return tr.n(value, 2) if key == "incidents_per_10k_voters" else tr.n(value, 1)
    return tr.n(value) if isinstance(value, int) else str(value)


def _local(utc_text: str, timezone: str, tr: Texts) -> str:
    moment = dt.datetime.fromisoformat(utc_text.replace("Z", "+00:00"))
    return tr("{moment} in {timezone}",
              moment=f"{moment.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M}",
              timezone=timezone)


def _tag(name: str, text: str) -> str:
    return f"<{name}>{_e(text)}</{name}>"


def _e(text: str) -> str:
    return escape(text, quote=True)
