"""Pure Plotly figure builders for the tables of ``estimates`` and ``forensics``.

Plain DataFrames in, ``go.Figure`` out; no I/O. Column names are those the tables document.
Every text on a figure is in `language` (a catalog of saylau/locale; English by default).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from saylau.core.i18n import DEFAULT_LANGUAGE, N_, gettext, number

# The sources of the side-by-side figures, in the order their bars stand (names in legends).
SOURCE_LEGENDS = {"official": N_("official result"),
                  "observer_copy": N_("observers' protocol copies"),
                  "exitpoll": N_("exit poll")}
# The quantities of the integer test (``forensics.integer_test``).
INTEGER_QUANTITY_NAMES = {"turnout": N_("turnout"), "leader_share": N_("leader's share"),
                          "both": N_("both")}


def comparison_figure(rows: pd.DataFrame, category: str, labels: Mapping[str, str],
                      title: str, language: str = DEFAULT_LANGUAGE) -> go.Figure:
    """Grouped bars: a group per ``category`` value (a ballot option, or a scope) in the order
    of ``labels`` (code -> the name shown), in each a bar per source side by side, the official
    count plain and the estimates with their 95 % margin as error bars.

    ``rows``: the ``report.side_by_side`` table (``source``, ``category``, ``value`` 0-1,
    ``margin_95``); rows of a category not in ``labels`` are left out. Each trace carries its
    source's code as ``meta`` and ``[code, margin %]`` per bar as ``customdata``."""
    figure = go.Figure()
    for source, legend in SOURCE_LEGENDS.items():
        chosen = rows[(rows["source"] == source) & rows[category].isin(list(labels))]
        if chosen.empty:
            continue
        present = set(chosen[category])
        chosen = chosen.set_index(category).reindex([c for c in labels if c in present])
        value, margin = 100 * chosen["value"], 100 * chosen["margin_95"]
        estimated = source != "official"  # a count has no margin of error
        figure.add_trace(go.Bar(
            x=[labels[code] for code in chosen.index], y=value.tolist(),
            name=gettext(legend, language), meta=source,
            customdata=[[code, m] for code, m in zip(chosen.index, margin, strict=True)],
            error_y={"type": "data", "array": margin.tolist(), "visible": True}
            if estimated else None,
            hovertemplate="%{x}<br>%{y:.2f} %" + (" ± %{customdata[1]:.2f}" if estimated
                                                  else "")))
    figure.update_layout(title=title, barmode="group", yaxis_title="%",
                         legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02,
                                 "yanchor": "bottom"})
    return figure


def estimates_figure(table: pd.DataFrame, scope: str = "national", title: str | None = None,
                     language: str = DEFAULT_LANGUAGE) -> go.Figure:
    """Bars of ``estimate`` per ``quantity`` with 95 % (thick) and 99 % (thin) error bars; the
    table of ``share_table`` / ``turnout_table`` (rows of ``scope``) or of
    ``stratified_share_table`` (no ``scope`` column)."""
    rows = table[table["scope"] == scope] if "scope" in table.columns else table
    pct = 100 * rows["estimate"]
    figure = go.Figure(go.Bar(x=rows["quantity"], y=pct, name=gettext("estimate", language),
                              error_y={"type": "data", "array": 100 * rows["margin_95"],
                                       "thickness": 2}))
    figure.add_trace(go.Scatter(x=rows["quantity"], y=pct, mode="markers",
                                name=gettext("interval, 99 %", language), marker={"size": 1},
                                error_y={"type": "data", "array": 100 * rows["margin_99"],
                                         "thickness": 1, "width": 8}))
    figure.update_layout(title=title or gettext("Estimated shares", language), yaxis_title="%",
                         showlegend=False)
    return figure


def turnout_share_heatmap(histogram: pd.DataFrame, scope: str = "national",
                          bin_pct: float = 1.0, language: str = DEFAULT_LANGUAGE,
                          scope_name: str | None = None) -> go.Figure:
    """Stations by turnout (x) and leader share (y): the ``turnout_share_histogram`` rows of
    ``scope`` (titled ``scope_name``, by default the code), on a full 0-100 % grid."""
    rows = histogram[histogram["scope"] == scope]
    edges = [i * bin_pct for i in range(int(round(100 / bin_pct)))]
    grid = (rows.pivot_table(index="leader_share_pct", columns="turnout_pct", values="stations",
                             aggfunc="sum", fill_value=0)
            .reindex(index=edges, columns=edges, fill_value=0))
    # z as nested lists: plain numbers in the browser (a numpy array travels base64-encoded)
    figure = go.Figure(go.Heatmap(x=list(grid.columns), y=list(grid.index),
                                  z=grid.to_numpy().tolist(), colorscale="Viridis",
                                  colorbar={"title": gettext("stations", language)}))
    figure.update_layout(
        title=gettext("Turnout vs leader share ({scope})", language).format(
            scope=scope_name or scope),
        xaxis_title=gettext("turnout, %", language),
        yaxis_title=gettext("leader share, %", language))
    return figure


def integer_test_figure(table: pd.DataFrame, language: str = DEFAULT_LANGUAGE) -> go.Figure:
    """Observed whole-number percentages against the null mean and its 99.9th percentile, per
    ``quantity`` (the ``integer_test`` table)."""
    figure = go.Figure()
    quantity = [gettext(INTEGER_QUANTITY_NAMES.get(code, code), language)
                for code in table["quantity"]]
    figure.add_trace(go.Bar(x=quantity, y=table["observed"],
                            name=gettext("observed", language)))
    figure.add_trace(go.Bar(x=quantity, y=table["null_mean"],
                            name=gettext("null mean", language)))
    figure.add_trace(go.Scatter(x=quantity, y=table["threshold"], mode="markers",
                                marker={"symbol": "line-ew-open", "size": 30},
                                name=gettext("99.9th percentile of null", language)))
    figure.update_layout(title=gettext("Whole-number percentages", language), barmode="group",
                         yaxis_title=gettext("count", language))
    return figure


def shpilkin_figure(bins: pd.DataFrame, summary: dict[str, float],
                    language: str = DEFAULT_LANGUAGE) -> go.Figure:
    """Votes per turnout bin: the leader, the others and the leader's honest expectation (the
    ``shpilkin`` table and summary)."""
    figure = go.Figure()
    x = bins["turnout_pct"]
    figure.add_trace(go.Scatter(x=x, y=bins["leader_votes"], mode="lines",
                                name=gettext("leader", language)))
    figure.add_trace(go.Scatter(x=x, y=bins["other_votes"], mode="lines",
                                name=gettext("others", language)))
    figure.add_trace(go.Scatter(x=x, y=bins["expected_leader"], mode="lines",
                                line={"dash": "dash"},
                                name=gettext("leader, honest expectation", language)))
    figure.add_vline(x=summary["peak_pct"], line={"dash": "dot"})
    excess = number(round(summary["excess_votes"]), language)
    figure.update_layout(
        title=gettext("Excess votes for the leader ≈ {votes}", language).format(votes=excess),
        xaxis_title=gettext("turnout, %", language), yaxis_title=gettext("votes", language))
    return figure


def discrepancy_figure(table: pd.DataFrame, top: int = 30,
                       language: str = DEFAULT_LANGUAGE) -> go.Figure:
    """The ``top`` discrepant stations by the leader's gain over the observer's copy (the
    ``protocol_discrepancies`` table)."""
    rows = table[table["discrepant"]].sort_values("leader_gain", ascending=False).head(top)
    votes = gettext("votes", language)
    figure = go.Figure(go.Bar(x=rows["station_id"], y=rows["leader_gain"],
                              customdata=rows[["fields"]],
                              hovertemplate="%{x}<br>+%{y} " + votes + "<br>%{customdata[0]}"))
    figure.update_layout(title=gettext("Official protocol vs observer copy", language),
                         yaxis_title=gettext("votes gained", language))
    return figure
