"""The /analysis page in a real headless Chromium, over a warehouse filled with a simulated
day (falsified stations included) by the replay engine: every number shown (tables, the
figures' data, the CSV downloads) must equal what the analysis functions compute from the
same warehouse; before the exit-poll embargo ends, no exit-poll figure or row is shown."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from saylau.analysis.estimates import (
    counted_share_table,
    counted_turnout_table,
    share_table,
    tally_from_exitpolls,
    tally_from_protocols,
    turnout_table,
)
from saylau.analysis.forensics import (
    integer_test,
    protocol_discrepancies,
    shpilkin,
    station_results,
)
from saylau.analysis.report import SEED, analysis_tables, table_csv
from saylau.analysis.suspicion import all_reasons, suspicion_scores
from saylau.core.election import Election
from saylau.core.settings import Settings
from saylau.geo.regions import region_names_by_language
from saylau.geo.registry import synthetic_registry
from saylau.ingest.simulator import NO_NOISE, Scenario, simulate_day
from saylau.streams.alerting import Thresholds
from saylau.streams.replay import Replayer, simulated_batches
from saylau.warehouse import queries
from saylau.warehouse.client import Warehouse, create_schema, open_warehouse
from tests.dashboard.conftest import DashboardUsers, chrome, log_in  # noqa: F401 - fixture
from tests.dashboard.served import serve
from tests.dashboard.test_browser import cell_text

SUSPICIOUS_SHOWN = 50  # rows of the page's first page (pages/analysis.py)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def simulated_warehouse(folder: Path, sent_until: dt.datetime | None = None) -> Warehouse:
    """A chDB warehouse holding the simulated day (what was sent up to `sent_until`)."""
    registry = synthetic_registry(n_stations=300, total_voters=400_000, seed=21)
    day = simulate_day(registry, Election(), Scenario(seed=8, noise=NO_NOISE,
                                                      falsified_share=0.1))
    messages = [m for m in day.messages() if sent_until is None or m.sent_at <= sent_until]
    wh = open_warehouse(f"chdb://{folder}/warehouse")
    create_schema(wh)
    queries.load_stations(wh, registry)
    Replayer(wh, registry, Election(), Thresholds()).replay(
        simulated_batches(messages, "saylau", 5000))
    return wh


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    wh = simulated_warehouse(tmp_path)
    yield wh
    wh.close()


@pytest.fixture
def analysis_url(warehouse: Warehouse) -> Iterator[str]:
    with serve(Settings(), warehouse) as url:
        yield f"{url}/analysis"


@pytest.fixture
def browser(chrome: webdriver.Chrome, analysis_url: str,  # noqa: F811
            dashboard_users: DashboardUsers) -> webdriver.Chrome:
    """Logged in as headquarters: the analysis page is theirs."""
    log_in(chrome, analysis_url.removesuffix("/analysis"), "hq",
           dashboard_users.passwords["hq"])
    return chrome


def pct(value: float) -> str:
    return f"{100 * value:.2f}"


# The bars of a comparison chart as Plotly holds them in the page: per trace its source (meta),
# the codes of its bars (customdata[i][0]), their names (x), values (y) and 95 % margins.
CHART = """
const p = document.querySelector(arguments[0] + ' .js-plotly-plot');
if (!p || !p.data || !p.data.length || !p.layout.title) return null;
return {title: p.layout.title.text, traces: p.data.map(d => ({
    source: d.meta, codes: d.customdata.map(c => c[0]), x: d.x, y: d.y,
    margin: d.error_y && d.error_y.array ? d.error_y.array : null}))};
"""
FETCH = """
const done = arguments[arguments.length - 1];
fetch(arguments[0]).then(r => r.text().then(text => done({status: r.status, text: text,
    type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition')})))
  .catch(error => done({status: 0, text: String(error)}));
"""


def chart(browser: webdriver.Chrome, selector: str, title: str) -> dict[str, dict[str, Any]]:
    """The chart's traces by source, once it shows `title` (a callback draws it)."""
    shown = WebDriverWait(browser, 60).until(
        lambda d: (found := d.execute_script(CHART, selector)) and found["title"] == title
        and found)
    return {trace["source"]: trace for trace in shown["traces"]}


def bars(trace: dict[str, Any]) -> dict[str, tuple[float, float | None]]:
    """code -> (value %, margin %) of a trace."""
    margins = trace["margin"] or [None] * len(trace["codes"])
    return dict(zip(trace["codes"], zip(trace["y"], margins, strict=True), strict=True))


def shown_pct(value: float | None) -> float | None:
    """A percentage to the precision the chart's hover shows it (two decimals); none for a
    margin that cannot be estimated (NaN here, null in the page: one station sampled)."""
    return None if value is None or math.isnan(value) else round(value, 2)


class Expected:
    """What the pure functions compute from the warehouse, source by source."""

    def __init__(self, warehouse: Warehouse) -> None:
        protocols = queries.latest_protocols(warehouse)
        self.population = queries.stations(warehouse)["region_code"].value_counts().to_dict()
        official = protocols[protocols["source"] == "official"]
        copies = protocols[protocols["source"] == "observer_copy"]
        self.official = pd.concat([
            counted_share_table(tally_from_protocols(official, "official"), self.population),
            counted_turnout_table(official, self.population)])
        self.copies = pd.concat([share_table(tally_from_protocols(copies), self.population),
                                 turnout_table(copies, self.population)])
        self.exitpoll = share_table(tally_from_exitpolls(queries.exitpoll_tallies(warehouse)),
                                    self.population)

    def counted(self, scope: str | None = None) -> dict[str, float]:
        """The official shares of `scope` by option, %; without a scope: turnout by scope."""
        return {key: 100 * row.result for key, row in self._rows(self.official, scope).items()}

    def estimated(self, source: str, scope: str | None = None
                  ) -> dict[str, tuple[float | None, float | None]]:
        """(estimate, margin) in % as the chart shows them, of `source` (as `counted`)."""
        table = self.copies if source == "observer_copy" else self.exitpoll
        return {key: (shown_pct(100 * row.estimate), shown_pct(100 * row.margin_95))
                for key, row in self._rows(table, scope).items()}

    @staticmethod
    def _rows(table: pd.DataFrame, scope: str | None) -> dict[str, Any]:
        if scope is None:
            return {row.scope: row for row in table[table["quantity"] == "turnout"].itertuples()}
        chosen = table[(table["scope"] == scope) & (table["quantity"] != "turnout")]
        return {row.quantity: row for row in chosen.itertuples()}


def estimated_bars(trace: dict[str, Any]) -> dict[str, tuple[float | None, float | None]]:
    return {code: (shown_pct(value), shown_pct(margin))
            for code, (value, margin) in bars(trace).items()}


def check_shares(browser: webdriver.Chrome, expected: Expected, scope: str, title: str,
                 with_exit_poll: bool = True) -> None:
    """The share chart of `scope`: the official count exactly, the estimates and their
    margins to the hover's precision, the options named and in ballot order."""
    traces = chart(browser, "#analysis-shares-chart", title)
    assert set(traces) == {"official", "observer_copy", *(["exitpoll"] * with_exit_poll)}
    official = bars(traces["official"])
    assert {code: value for code, (value, _m) in official.items()} == \
        expected.counted(scope)
    assert all(margin is None for _v, margin in official.values())  # a count has none
    for source in ["observer_copy", *(["exitpoll"] * with_exit_poll)]:
        assert estimated_bars(traces[source]) == expected.estimated(source, scope), source
    options = Election().options
    assert traces["official"]["codes"] == [code for code in options
                                           if code in expected.counted(scope)]
    assert traces["official"]["x"] == [options[c] for c in traces["official"]["codes"]]


def test_analysis_page_shows_what_the_analysis_functions_compute(
        warehouse: Warehouse, analysis_url: str, browser: webdriver.Chrome,
        artifacts: Path) -> None:
    protocols = queries.latest_protocols(warehouse)
    population = queries.stations(warehouse)["region_code"].value_counts().to_dict()
    copies = protocols[protocols["source"] == "observer_copy"]
    official = protocols[protocols["source"] == "official"].reset_index(drop=True)
    shares = share_table(tally_from_protocols(copies), population)
    turnout = turnout_table(copies, population)
    results = station_results(official)
    integer = integer_test(results, rng=np.random.default_rng(SEED)).set_index("quantity")
    _bins, excess = shpilkin(results)
    discrepant = protocol_discrepancies(protocols)
    discrepant = discrepant[discrepant["discrepant"]]
    assert len(discrepant) > 0, "the simulated day must have rewritten protocols"

    browser.get(analysis_url)
    expected = Expected(warehouse)
    check_shares(browser, expected, "national", "Shares of valid votes: whole country")
    turnout_bars = chart(browser, "#analysis-turnout-chart", "Turnout")
    assert {code: value for code, (value, _m) in bars(turnout_bars["official"]).items()} == \
        expected.counted()
    assert estimated_bars(turnout_bars["observer_copy"]) == \
        expected.estimated("observer_copy")
    names = region_names_by_language()["en"]
    codes = turnout_bars["official"]["codes"]
    assert codes == ["national", *sorted(population, key=names.__getitem__)]
    assert turnout_bars["official"]["x"] == ["whole country", *(names[c] for c in codes[1:])]

    region = sorted(population)[0]
    for scope in ("national", region):
        for row in pd.concat([shares, turnout]).query("scope == @scope").itertuples():
            selector = f"#analysis-estimate-observer_copy-{scope}-{row.quantity}"
            assert cell_text(browser, f"{selector} .estimate") == pct(row.estimate)
            assert cell_text(browser, f"{selector} .margin-95") == pct(row.margin_95)
            assert cell_text(browser, f"{selector} .margin-99") == pct(row.margin_99)
    for quantity in ("turnout", "leader_share", "both"):
        expected = integer.loc[quantity]
        assert cell_text(browser, f"#analysis-integer-{quantity} .observed") == \
            f"{expected['observed']}"
        assert cell_text(browser, f"#analysis-integer-{quantity} .threshold") == \
            f"{expected['threshold']:.1f}"
        assert cell_text(browser, f"#analysis-integer-{quantity} .excess") == \
            f"{expected['excess']:+.1f}"
    assert cell_text(browser, "#analysis-shpilkin-excess") == f"{excess['excess_votes']:,.0f}"
    assert cell_text(browser, "#analysis-discrepancy-count") == \
        f"{len(discrepant)} stations differ"
    shown = set(browser.execute_script(
        "return [...document.querySelectorAll('#analysis-discrepancies tbody tr')]"
        ".map(r => r.id.replace('analysis-discrepancy-', ''))"))
    assert shown == set(discrepant["station_id"])

    # The heatmap holds every station with official results, and follows the region chosen.
    def heatmap_total(d: webdriver.Chrome) -> int | None:
        return d.execute_script(
            "const p = document.querySelector('#analysis-heatmap .js-plotly-plot');"
            "if (!p || !p.data || !p.data[0].z) return null;"
            "let total = 0; for (const row of p.data[0].z) for (const v of row) total += v;"
            "return total;")
    assert WebDriverWait(browser, 60).until(heatmap_total) == len(results)
    full_page_screenshot(browser, artifacts / "analysis.png")


def full_page_screenshot(browser: webdriver.Chrome, path: Path) -> None:
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1600, min(int(height) + 100, 12000))
    browser.save_screenshot(str(path))
    browser.set_window_size(1600, 1000)


def test_the_report_opens_on_the_region_of_the_address_and_follows_the_dropdown(
        warehouse: Warehouse, analysis_url: str, browser: webdriver.Chrome,
        artifacts: Path) -> None:
    expected = Expected(warehouse)
    names = region_names_by_language()["en"]
    first, second = sorted(expected.population)[1:3]
    browser.get(f"{analysis_url}?region={first}")
    check_shares(browser, expected, first, f"Shares of valid votes: {names[first]}")
    heatmap_title = "return document.querySelector('#analysis-heatmap .gtitle')?.textContent"
    WebDriverWait(browser, 60).until(
        lambda d: d.execute_script(heatmap_title) == f"Turnout vs leader share ({names[first]})")
    # The dropdown lists the regions by name; choosing one redraws the chart for it.
    browser.find_element(By.ID, "analysis-shares-scope").click()
    options = WebDriverWait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".dash-dropdown-content .dash-dropdown-option"))
    labels = [option.text for option in options]
    assert labels[0] == "whole country" and names[second] in labels
    browser.save_screenshot(str(artifacts / "analysis-region-dropdown.png"))
    options[labels.index(names[second])].click()
    check_shares(browser, expected, second, f"Shares of valid votes: {names[second]}")


def test_every_download_is_the_table_the_analysis_functions_compute(
        warehouse: Warehouse, analysis_url: str, browser: webdriver.Chrome) -> None:
    tables = analysis_tables(warehouse, Election(), threshold=Settings().forensics_threshold)
    assert "exitpoll" in set(tables["estimates"]["source"])  # the embargo has ended
    browser.get(analysis_url)
    links = WebDriverWait(browser, 60).until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('#analysis-downloads a')]"
        ".map(a => [a.textContent, a.getAttribute('href')])") or None)
    assert [text for text, _href in links] == [f"analysis-{name}.csv" for name in tables]
    for (text, href), (name, table) in zip(links, tables.items(), strict=True):
        answer = browser.execute_async_script(FETCH, href)
        assert answer["status"] == 200, (name, answer["text"][:200])
        assert answer["type"].startswith("text/csv")
        assert answer["disposition"] == f'attachment; filename="{text}"'
        assert answer["text"] == table_csv(table), name


def test_suspicious_stations_are_those_the_suspicion_score_flags(
        warehouse: Warehouse, analysis_url: str, browser: webdriver.Chrome,
        artifacts: Path) -> None:
    protocols = queries.latest_protocols(warehouse)
    official = protocols[protocols["source"] == "official"].reset_index(drop=True)
    copies = protocols[protocols["source"] == "observer_copy"].reset_index(drop=True)
    turnout = queries.turnout_history(warehouse, official["station_id"].tolist())
    reasons = all_reasons(official, copies, turnout, queries.stations(warehouse),
                          queries.observer_removals(warehouse))
    scores = suspicion_scores(official, reasons, Settings().forensics_threshold)
    flagged = scores[scores["flagged"]]
    assert 0 < len(flagged) <= SUSPICIOUS_SHOWN, "the simulated day must flag a page of them"

    browser.get(analysis_url)
    assert cell_text(browser, "#analysis-suspicious-count") == f"{len(flagged)}"
    rows_script = (
        "return [...document.querySelectorAll('#analysis-suspicious tbody tr')]"
        ".filter(r => r.querySelector('td'))"
        ".map(r => [r.querySelector('td[data-dash-column=station]').textContent.trim(),"
        " r.querySelector('td[data-dash-column=score]').textContent.trim(),"
        " r.querySelector('td[data-dash-column=station] a').getAttribute('href')])")
    shown = WebDriverWait(browser, 60).until(
        lambda d: d.execute_script(rows_script) or None)
    expected = [(row.station_id, f"{round(row.score, 2):g}", f"/station/{row.station_id}")
                for row in flagged.itertuples()]
    assert sorted(tuple(row) for row in shown) == sorted(expected)
    # Only the region chosen (in the address, as in the dropdown): the table follows it.
    region = flagged["region_code"].iloc[0]
    browser.get(f"{analysis_url}?region={region}")
    in_region = sorted(row.station_id for row in flagged.itertuples()
                       if row.region_code == region)
    assert len(in_region) < len(flagged) or flagged["region_code"].nunique() == 1
    WebDriverWait(browser, 60).until(
        lambda d: sorted(r[0] for r in d.execute_script(rows_script)) == in_region)
    browser.save_screenshot(str(artifacts / "analysis-suspicious.png"))


# --- Before the exit-poll embargo ends ----------------------------------------------------

# Protocols come in from 21:30 on; an election file may keep the exit poll embargoed past the
# close, here until 23:59. The day as sent up to 23:00: some protocols, every exit poll.
EMBARGO_UNTIL, SENT_UNTIL = dt.time(23, 59), dt.time(23, 0)


@pytest.fixture
def embargoed_warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    election = Election(exitpoll_embargo_until=EMBARGO_UNTIL)
    wh = simulated_warehouse(tmp_path, election.local(SENT_UNTIL))
    latest = queries.latest_event_time(wh)
    assert latest is not None and latest < election.embargo_ends_at
    yield wh
    wh.close()


@pytest.fixture
def embargoed_url(embargoed_warehouse: Warehouse, tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "election.json"
    path.write_text(Election(exitpoll_embargo_until=EMBARGO_UNTIL).model_dump_json(),
                    encoding="utf-8")
    with serve(Settings(election_file=path), embargoed_warehouse) as url:
        yield f"{url}/analysis"


def test_before_the_embargo_ends_no_exit_poll_bar_or_row_is_shown(
        embargoed_warehouse: Warehouse, embargoed_url: str,
        chrome: webdriver.Chrome, dashboard_users: DashboardUsers,  # noqa: F811
        artifacts: Path) -> None:
    warehouse = embargoed_warehouse
    tables = analysis_tables(warehouse, Election())
    assert "exitpoll" in set(tables["estimates"]["source"])  # there is something to hold back
    log_in(chrome, embargoed_url.removesuffix("/analysis"), "hq",
           dashboard_users.passwords["hq"])
    chrome.get(embargoed_url)
    check_shares(chrome, Expected(warehouse), "national",
                 "Shares of valid votes: whole country", with_exit_poll=False)
    assert "embargoed until" in cell_text(chrome, "#analysis-exitpoll-embargo")
    assert "analysis-estimate-exitpoll" not in chrome.page_source
    for name in tables:
        href = chrome.execute_script(
            "return document.querySelector(arguments[0]).getAttribute('href')",
            f"#analysis-download-{name}")
        answer = chrome.execute_async_script(FETCH, href)
        assert answer["status"] == 200 and "exitpoll" not in answer["text"], name
    estimates = chrome.execute_async_script(FETCH, "/analysis/tables/estimates.csv")["text"]
    assert estimates == table_csv(tables["estimates"].query("source != 'exitpoll'"))
    full_page_screenshot(chrome, artifacts / "analysis-embargoed.png")
