"""The dashboard as a WSGI application, served by gunicorn with several worker processes.

Two ways in, the same app:

* ``saylau dashboard --workers N`` (or SAYLAU_DASHBOARD_WORKERS=N) runs gunicorn from the
  ``saylau`` command, with the settings the command was given;
* ``gunicorn --workers N --bind 0.0.0.0:8050 'saylau.cli.wsgi:create_server()'`` reads the
  settings from the SAYLAU_* environment.

Every worker process opens its own warehouse connection and keeps its own snapshot cache
(saylau/dashboard/snapshot.py): N workers cost N sets of warehouse queries per refresh interval,
whatever the number of screens. chDB lets one process at a time open a data folder, so
more than one worker needs the ClickHouse server engine.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import flask
from gunicorn.app.base import BaseApplication

from saylau.core.settings import Settings, load_settings
from saylau.warehouse.client import parse_warehouse_url

# Threads per worker: static files and the status page answer while a snapshot query runs
# (the warehouse client serialises its own statements with a lock).
THREADS_PER_WORKER = 4
# A cold snapshot over a million stations takes seconds, not minutes.
REQUEST_TIMEOUT_S = 60
# prometheus_client must not be imported here: it reads PROMETHEUS_MULTIPROC_DIR on import.
# SIGTERM: finish the requests in flight, then leave (compose waits 30 s before SIGKILL).
GRACEFUL_TIMEOUT_S = 20


def create_server(settings: Settings | None = None) -> flask.Flask:
    """The dashboard's Flask server, its warehouse prepared (schema, station registry)."""
    from saylau.cli.runtime import configure_logging, load_registry, open_prepared_warehouse
    from saylau.dashboard.app import create_dashboard

    if settings is None:
        settings = load_settings()
        configure_logging(settings.log_level)
    warehouse = open_prepared_warehouse(settings, load_registry(settings))
    return create_dashboard(settings, warehouse).server


def multi_process_problem(settings: Settings) -> str | None:
    """Why these settings cannot run several dashboard processes, or None."""
    if settings.dashboard_workers > 1 and parse_warehouse_url(settings.warehouse).engine == "chdb":
        return (f"{settings.dashboard_workers} dashboard workers cannot share the chDB "
                f"warehouse {settings.warehouse}: chDB allows one process per data folder. "
                f"Use a ClickHouse server (SAYLAU_WAREHOUSE=clickhouse://…) or --workers 1")
    return None


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    host = settings.dashboard_host
    bind = f"[{host}]:{settings.dashboard_port}" if ":" in host else \
        f"{host}:{settings.dashboard_port}"
    options: dict[str, Any] = {
        "bind": bind, "workers": settings.dashboard_workers, "worker_class": "gthread",
        "threads": THREADS_PER_WORKER, "timeout": REQUEST_TIMEOUT_S,
        "graceful_timeout": GRACEFUL_TIMEOUT_S, "proc_name": "saylau-dashboard",
        "loglevel": settings.log_level, "errorlog": "-", "accesslog": None,
        # Each worker opens the warehouse itself, after the fork: no shared connection.
        "preload_app": False,
        # No runtime control socket in $HOME: nobody may resize or reload it from outside,
        # and two dashboards on one machine do not fight over one socket path.
        "control_socket_disable": True,
    }
    if Path("/dev/shm").is_dir():  # noqa: S108  # heartbeat files off the (overlay) disk
        options["worker_tmp_dir"] = "/dev/shm"  # noqa: S108
    return options


class DashboardServer(BaseApplication):
    """gunicorn, configured in code: no command line of its own to parse."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in gunicorn_options(self.settings).items():
            self.cfg.set(key, value)

    def load(self) -> flask.Flask:
        return create_server(self.settings)


def serve_with_gunicorn(settings: Settings) -> int:
    """Serve the dashboard with SAYLAU_DASHBOARD_WORKERS processes until SIGTERM."""
    from saylau.cli.runtime import load_registry

    problem = multi_process_problem(settings)
    if problem:
        print(f"saylau dashboard: {problem}", file=sys.stderr)
        return 2
    load_registry(settings)  # a generated registry is written once, before the workers race
    print(f"dashboard on http://{settings.dashboard_host}:{settings.dashboard_port}/ "
          f"(gunicorn, {settings.dashboard_workers} workers)", flush=True)
    with tempfile.TemporaryDirectory(prefix="saylau-dashboard-metrics-") as counts:
        # Set before a worker imports prometheus_client, which reads it once: each worker
        # then counts in files here, and /metrics sums them (saylau/dashboard/metrics.py).
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", counts)
        DashboardServer(settings).run()
    return 0
