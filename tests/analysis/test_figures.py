"""Figure builders take the analysis tables and return figures with the expected traces."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

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
