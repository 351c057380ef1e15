"""``saylau up``: the whole system in one process (chDB allows one process per directory).

The broker runs as a child process; the Faust worker owns the main thread (it handles
SIGINT/SIGTERM and leaves its consumer group cleanly); the dashboard and the simulator
run in threads and share the warehouse through their own connections.
"""

from __future__ import annotations

import logging
import secrets
import threading
from contextlib import ExitStack
from typing import Any

from pydantic import SecretStr

from saylau.cli.export_cmd import start_scheduled_exports
from saylau.cli.runtime import (
    load_registry,
    open_prepared_warehouse,
    prepare_topics,
)
from saylau.cli.simulation import start_simulator_thread
from saylau.core.settings import Settings
from saylau.kafka.broker import EmbeddedBroker
from saylau.streams.app import build_app, run_worker

log = logging.getLogger("saylau")


def run_up(settings: Settings, simulate: bool = False) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings = _with_pepper(settings)
    with ExitStack() as cleanup:
        bootstrap = settings.kafka_bootstrap or _start_broker(settings, cleanup)
        prepare_topics(settings, bootstrap)
        registry = load_registry(settings)
        warehouse = open_prepared_warehouse(settings, registry)
        cleanup.callback(warehouse.close)
        _start_dashboard(settings, warehouse)
        _start_gateway(settings, cleanup)
        stop = threading.Event()
        cleanup.callback(stop.set)
        start_scheduled_exports(settings, warehouse.reader(), stop)
        if simulate:
            start_simulator_thread(settings, registry, bootstrap, stop)
        print(f"Saylau is up: dashboard on http://{settings.dashboard_host}:"
              f"{settings.dashboard_port}/, gateway on http://{settings.gateway_host}:"
              f"{settings.gateway_port}/ (field app: /app/) (Ctrl-C stops everything)",
              flush=True)
        run_worker(build_app(settings, bootstrap, warehouse, registry),
                   settings.log_level.replace("warning", "warn"))
    print("Saylau stopped.", flush=True)


def _start_broker(settings: Settings, cleanup: ExitStack) -> str:
    broker = EmbeddedBroker(settings.broker_port, settings.broker_bin,
                            log_path=settings.data_dir / "broker.log").start()
    cleanup.callback(broker.stop)
    return broker.bootstrap


def _start_dashboard(settings: Settings, warehouse: object) -> None:
    from saylau.dashboard.app import create_dashboard

    app = create_dashboard(settings, warehouse.reader())  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=app.run, name="saylau-dashboard", daemon=True,
        kwargs={"host": settings.dashboard_host, "port": settings.dashboard_port,
                "debug": False})
    thread.start()


def _with_pepper(settings: Settings) -> Settings:
    """The settings with a token pepper: the one set, or one made for this run (said so)."""
    if settings.gateway_token_pepper.get_secret_value():
        return settings
    print("SAYLAU_GATEWAY_TOKEN_PEPPER is not set: the gateway uses a pepper made for this "
          "run, so tokens issued now stop working when Saylau stops; set it to keep them.",
          flush=True)
    pepper = SecretStr(secrets.token_urlsafe(32))
    return settings.model_copy(update={"gateway_token_pepper": pepper})


def _start_gateway(settings: Settings, cleanup: ExitStack) -> None:
    """The ingest gateway in a thread; stopped (journal flushed) before the broker stops."""
    import uvicorn

    from saylau.ingest.gateway.app import create_app

    config = uvicorn.Config(create_app(settings), host=settings.gateway_host,
                            port=settings.gateway_port, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=10, timeout_keep_alive=75)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="saylau-gateway", daemon=True)
    thread.start()
    cleanup.callback(_stop_gateway, server, thread)


def _stop_gateway(server: Any, thread: threading.Thread) -> None:
    server.should_exit = True  # uvicorn finishes requests, then the lifespan closes the journal
    thread.join(timeout=20)
