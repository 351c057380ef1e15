"""Prometheus metrics of the dashboard: requests and their latency per page and callback.

``register_metrics(server)`` adds ``/metrics`` to the Flask server under the Dash app.
A Dash callback is one POST to ``/_dash-update-component``; it is labelled by the
component property it updates (``wall-map.figure``) if the app has that callback, a page
load by its path if the app has that page. Anything else, a made-up callback included, is
``other``, so no request can grow the number of series.

Under gunicorn (``saylau dashboard --workers N``) each worker process counts its own
requests, and a scrape reaches one of them. With ``PROMETHEUS_MULTIPROC_DIR`` set (the
command sets it), every worker writes its counts to files in that folder and ``/metrics``
answers with the sum over all workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from typing import Any

import dash
import flask
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from saylau.dashboard.request_check import json_body

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CALLBACK_PATH = "/_dash-update-component"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
MAX_LABEL = 120  # characters of a callback's output kept as its label


def request_handler(method: str, path: str, body: Any, page_paths: set[str],
                    callbacks: Collection[str] = ()) -> str:
    """The label of a request: ``callback:<output>`` for one of the app's `callbacks`
    (its callback_map), ``page:<path>`` or ``other``: a request cannot make up a label."""
    output = body.get("output") if isinstance(body, dict) else None
    if method == "POST" and path == CALLBACK_PATH and isinstance(output, str) \
            and output in callbacks:
        return f"callback:{output[:MAX_LABEL]}"
    if method == "GET" and path in page_paths:
        return f"page:{path}"
    return "other"


def register_metrics(server: flask.Flask,
                     callbacks: Callable[[], Collection[str]] = tuple) -> CollectorRegistry:
    registry = CollectorRegistry()
    requests = Counter("saylau_dashboard_requests", "requests answered, by page or callback",
                       ["handler", "status"], registry=registry)
    seconds = Histogram("saylau_dashboard_request_seconds", "time to answer, by page or "
                        "callback", ["handler"], buckets=LATENCY_BUCKETS, registry=registry)

    @server.before_request
    def _start() -> None:
        flask.g.saylau_started = time.perf_counter()

    @server.after_request
    def _count(response: flask.Response) -> flask.Response:
        started = flask.g.pop("saylau_started", None)
        if started is None or flask.request.path == "/metrics":
            return response
        body = json_body(flask.request) if flask.request.is_json else None
        handler = request_handler(flask.request.method, flask.request.path, body,
                                  _page_paths(), callbacks())
        requests.labels(handler=handler, status=str(response.status_code)).inc()
        seconds.labels(handler=handler).observe(time.perf_counter() - started)
        return response

    def _metrics() -> flask.Response:
        return flask.Response(generate_latest(_all_processes(registry)),
                              mimetype=CONTENT_TYPE_LATEST)

    server.add_url_rule("/metrics", "saylau_metrics", _metrics)
    return registry


def _all_processes(registry: CollectorRegistry) -> CollectorRegistry:
    """This process's registry, or under gunicorn every worker's counts summed."""
    if not os.environ.get(MULTIPROCESS_ENV):
        return registry
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
    return combined


def _page_paths() -> set[str]:
    return {str(page["path"]) for page in dash.page_registry.values()}
