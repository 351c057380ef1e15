"""The /analysis page in a real headless Chromium, over a warehouse filled with a simulated
day (falsified stations included) by the replay engine: every number shown must equal what
the analysis functions compute from the same warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.support.ui import WebDriverWait

from saylau.analysis.estimates import share_table, tally_from_protocols, turnout_table
from saylau.analysis.forensics import (
    integer_test,
    protocol_discrepancies,
    shpilkin,
    station_results,
)
from saylau.analysis.report import SEED
from saylau.analysis.suspicion import all_reasons, suspicion_scores
from saylau.core.election import Election
from saylau.core.settings import Settings
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


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    registry = synthetic_registry(n_stations=300, total_voters=400_000, seed=21)
    day = simulate_day(registry, Election(), Scenario(seed=8, noise=NO_NOISE,
                                                      falsified_share=0.1))
    wh = open_warehouse(f"chdb://{tmp_path}/warehouse")
    create_schema(wh)
    queries.load_stations(wh, registry)
    Replayer(wh, registry, Election(), Thresholds()).replay(
        simulated_batches(day.messages(), "saylau", 5000))
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
    browser.save_screenshot(str(artifacts / "analysis.png"))


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
