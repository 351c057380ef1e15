"""Figure builders take the analysis tables and return figures with the expected traces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from saylau.analysis import figures
from saylau.analysis.estimates import share_table, tally_from_protocols
from saylau.analysis.forensics import (
    integer_test,
    protocol_discrepancies,
    shpilkin,
    station_results,
    turnout_share_histogram,
)
from tests.analysis.days import simulated


def test_every_builder_returns_a_figure():
    day = simulated(3, stations=300, falsified_share=0.1)
    results = station_results(day.official())
    shares = share_table(tally_from_protocols(day.protocols), day.population)
    bins, summary = shpilkin(results)
    built = [
        figures.estimates_figure(shares),
        figures.turnout_share_heatmap(turnout_share_histogram(results)),
        figures.turnout_share_heatmap(turnout_share_histogram(results), scope="KAZ001"),
        figures.integer_test_figure(integer_test(results, replicates=50,
                                                 rng=np.random.default_rng(0))),
        figures.shpilkin_figure(bins, summary),
        figures.discrepancy_figure(protocol_discrepancies(day.protocols)),
    ]
    assert all(isinstance(figure, go.Figure) and figure.data for figure in built)
    heatmap = built[1].data[0]
    assert np.asarray(heatmap.z).shape == (100, 100)
    assert np.asarray(heatmap.z).sum() == len(results)


def test_the_comparison_figure_puts_the_sources_side_by_side_in_the_labels_order():
    rows = pd.DataFrame({
        "source": ["official", "official", "observer_copy", "observer_copy", "exitpoll"],
        "scope": ["national"] * 5, "quantity": ["b", "a", "a", "b", "a"],
        "value": [0.6, 0.4, 0.42, 0.58, 0.45], "margin_95": [None, None, 0.02, 0.02, 0.05]})
    labels = {"a": "Party A", "b": "Party B"}
    figure = figures.comparison_figure(rows, "quantity", labels, "Shares")
    official, copies, exitpoll = figure.data
    assert [trace.meta for trace in figure.data] == ["official", "observer_copy", "exitpoll"]
    assert list(official.x) == ["Party A", "Party B"]  # the labels' order, not the rows'
    assert list(official.y) == pytest.approx([40.0, 60.0])
    assert official.error_y.array is None  # a count has no margin of error
    assert list(copies.error_y.array) == pytest.approx([2.0, 2.0])
    assert [code for code, _margin in copies.customdata] == ["a", "b"]
    assert list(exitpoll.x) == ["Party A"] and list(exitpoll.error_y.array) == [5.0]
    assert figure.layout.barmode == "group" and official.name == "official result"
    # A category without a label is left out; a source without rows draws no bars.
    only_b = figures.comparison_figure(rows[rows["source"] != "exitpoll"], "quantity",
                                       {"b": "Party B"}, "Shares", language="ru")
    assert [list(trace.x) for trace in only_b.data] == [["Party B"], ["Party B"]]
    assert only_b.data[0].name == "официальный результат"
