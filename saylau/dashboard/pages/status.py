"""Operators' status page: is the pipeline keeping up?

Consumer lag per topic and partition comes from Kafka (the worker group's committed
offsets, the same for all workers); throughput, rejects and the last stored batch come
from the warehouse, so they agree with every other page. Throughput counts distinct
events by the time the worker stored them (``received_at``), not by when they happened.
The double entry of protocol photos shows its progress by region here too (the tabulation
page's table, docs/tabulation.md).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import NamedTuple
from zoneinfo import ZoneInfo

import dash
import flask
import pandas as pd
from dash import Input, Output, callback, dcc, html
from kafka.errors import KafkaError

from saylau.core.contract import EVENT_TOPICS
from saylau.core.i18n import N_
from saylau.core.settings import Settings
from saylau.dashboard.app import current_context
from saylau.dashboard.auth import require_page
from saylau.dashboard.language import number, t
from saylau.dashboard.tabulation_progress import progress_table
from saylau.kafka.lag import LagProbe
from saylau.warehouse.client import Warehouse
from saylau.warehouse.queries import rejected_counts
from saylau.warehouse.tabulation_queries import tabulation_progress

dash.register_page(__name__, path="/status",
                   title=lambda **_path: t("Saylau — status"), name="Status")

PAGE = "status"
WINDOWS = (("1m", 60), ("10m", 600))  # (label, seconds) of the throughput figures

STORED_SINCE = """
SELECT uniqExact(event_id) AS events FROM $db.events WHERE received_at >= {since:DateTime}
"""
LAST_STORED = """
SELECT max(received_at) AS last_at, uniqExact(event_id) AS events FROM $db.events
"""


class Throughput(NamedTuple):  # not a dataclass: Dash imports pages outside sys.modules
    label: str
    seconds: int
    events: int

    @property
    def per_second(self) -> float:
        return self.events / self.seconds


def layout(**_query: str) -> html.Div:
    require_page(PAGE)  # the guard judged the request; the page checks again
    return html.Div(className="wall status", children=[
        html.H1(t("Saylau — pipeline status"), className="wall-title"),
        html.Div(id=f"{PAGE}-headline", className="wall-headline"),
        html.Div(className="wall-body", children=[
            html.Div([html.H2(t("Consumer lag")), html.Div(id=f"{PAGE}-lag")],
                     className="status-panel"),
            html.Div([html.H2(t("Rejected, by reason")), html.Div(id=f"{PAGE}-rejects")],
                     className="status-panel"),
            html.Div([html.H2(t("Protocol double entry, by region")),
                      html.Div(id=f"{PAGE}-tabulation")], className="status-panel"),
        ]),
        dcc.Interval(id=f"{PAGE}-tick", interval=current_context().refresh_ms, n_intervals=0),
    ])


@callback(Output(f"{PAGE}-headline", "children"), Output(f"{PAGE}-lag", "children"),
          Output(f"{PAGE}-rejects", "children"), Output(f"{PAGE}-tabulation", "children"),
          Input(f"{PAGE}-tick", "n_intervals"))
def refresh(_n: int) -> tuple:
    context = current_context()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rates = [Throughput(label, seconds, stored_since(context.warehouse,
                                                     now - dt.timedelta(seconds=seconds)))
             for label, seconds in WINDOWS]
    last_at, total = last_stored(context.warehouse)
    lags, lag_error = read_lag(_settings())
    return (_headline(rates, last_at, total, lags, now, context.timezone),
            _lag_table(lags, lag_error), _rejects_table(rejected_counts(context.warehouse)),
            # the double entry's progress, every region (the status page is headquarters')
            progress_table(tabulation_progress(context.warehouse), PAGE, context.region_names))


# --- data -------------------------------------------------------------------------------
def stored_since(warehouse: Warehouse, since: dt.datetime) -> int:
    return int(warehouse.query_df(STORED_SINCE, {"since": since})["events"].iloc[0])


def last_stored(warehouse: Warehouse) -> tuple[dt.datetime | None, int]:
    row = warehouse.query_df(LAST_STORED).iloc[0]
    events = int(row["events"])
    if not events:
        return None, 0
    stamp = pd.Timestamp(row["last_at"])
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.to_pydatetime(), events


_probes: dict[tuple[str, str, tuple[str, ...]], LagProbe] = {}
_failures: dict[tuple[str, str, tuple[str, ...]], tuple[float, str]] = {}
_probes_lock = threading.Lock()  # callbacks run in threads; a Kafka client is not thread-safe
RETRY_SECONDS = 15.0  # after Kafka failed to answer, say so at once until then


def read_lag(settings: Settings) -> tuple[dict[tuple[str, int], int], str | None]:
    """Lag per (topic, partition), or an error text when Kafka cannot be asked."""
    bootstrap = settings.kafka_address
    topics = tuple(f"{settings.topic_prefix}.{name}" for name in EVENT_TOPICS)
    key = (bootstrap, settings.worker_group, topics)
    with _probes_lock:
        failed_at, message = _failures.get(key, (0.0, ""))
        if time.monotonic() - failed_at < RETRY_SECONDS:
            return {}, message
        try:
            if key not in _probes:
                _probes[key] = LagProbe(bootstrap, settings.worker_group, list(topics))
            return _probes[key].lag_by_partition(), None
        except KafkaError as error:
            probe = _probes.pop(key, None)
            if probe is not None:
                probe.close()
            message = f"Kafka at {bootstrap} did not answer ({type(error).__name__})"
            _failures[key] = (time.monotonic(), message)
            return {}, message


def _settings() -> Settings:
    """The settings the dashboard was created with (saylau/dashboard/app.py puts them there)."""
    return flask.current_app.config["SAYLAU_SETTINGS"]  # type: ignore[no-any-return]


# --- rendering --------------------------------------------------------------------------
def _headline(rates: list[Throughput], last_at: dt.datetime | None, total: int,
              lags: dict[tuple[str, int], int], now: dt.datetime, timezone: str) -> list:
    figures = [_figure(f"rate-{rate.label}", t("{rate}/s").format(rate=number(rate.per_second, 1)),
                       t("{events} events stored in the last {window}").format(
                           events=number(rate.events), window=rate.label))
               for rate in rates]
    if last_at is None:
        figures.append(_figure("last-batch", "—", t("no event stored yet")))
    else:
        ago = max(int((now - last_at).total_seconds()), 0)
        figures.append(_figure("last-batch", last_at.astimezone(ZoneInfo(timezone))
                               .strftime("%H:%M:%S"),
                               t("last batch stored, {seconds} s ago").format(seconds=ago)))
    figures.append(_figure("stored", number(total), t("events stored in all")))
    figures.append(_figure("lag", number(sum(lags.values())), t("messages waiting (lag)")))
    return figures


def _figure(key: str, value: str, caption: str) -> html.Div:
    return html.Div(className="headline-figure", children=[
        html.Div(value, className="headline-value", id=f"{PAGE}-value-{key}"),
        html.Div(caption, className="headline-caption", id=f"{PAGE}-caption-{key}")])


def _lag_table(lags: dict[tuple[str, int], int], error: str | None) -> html.Div | html.Table:
    if error:
        return html.Div(error, id=f"{PAGE}-lag-error", className="status-error")
    header = html.Tr([html.Th(t(h)) for h in (N_("Topic"), N_("Partition"), N_("Lag"))])
    rows = [html.Tr([html.Td(topic), html.Td(str(partition)), html.Td(number(lag))],
                    id=f"{PAGE}-lag-{topic.replace('.', '-')}-{partition}")
            for (topic, partition), lag in sorted(lags.items())]
    return html.Table([html.Thead(header), html.Tbody(rows)], className="region-table")


def _rejects_table(counts: dict[str, int]) -> html.Table:
    header = html.Tr([html.Th(t(h)) for h in (N_("Reason"), N_("Messages"))])
    rows = [html.Tr([html.Td(reason), html.Td(number(count))], id=f"{PAGE}-reject-{reason}")
            for reason, count in sorted(counts.items())]
    rows.append(html.Tr([html.Td(t("all")), html.Td(number(sum(counts.values())))],
                        id=f"{PAGE}-reject-all"))
    return html.Table([html.Thead(header), html.Tbody(rows)], className="region-table")
