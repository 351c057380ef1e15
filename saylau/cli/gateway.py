"""`saylau gateway` (the ingest gateway) and `saylau observers issue-token|revoke-token`."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from typing import Any

from saylau.core.settings import Settings


def add_gateway_parser(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    gateway = commands.add_parser("gateway", help="run the observer ingest gateway (HTTP API, "
                                                  "durable journal, sender to Kafka)")
    common(gateway)
    gateway.add_argument("--host", dest="gateway_host", help="SAYLAU_GATEWAY_HOST")
    gateway.add_argument("--port", dest="gateway_port", type=int, help="SAYLAU_GATEWAY_PORT")

    observers = commands.add_parser("observers", help="issue or revoke observer and "
                                                      "headquarters tokens")
    common(observers)
    actions = observers.add_subparsers(dest="observers_command", required=True,
                                       metavar="ACTION")
    issue = actions.add_parser("issue-token", help="issue a bearer token (printed once)")
    issue.add_argument("observer_id", help="the observer (or headquarters user) it is for")
    issue.add_argument("--role", choices=["observer", "hq"], default="observer",
                       help="observer (own reports) or hq (reviews, assignments, uploads)")
    issue.add_argument("--days", type=float, default=2.0, help="valid for N days (default 2)")
    revoke = actions.add_parser("revoke-token", help="revoke a token by its id")
    revoke.add_argument("token_id", help="the token_id printed when it was issued")


def run_gateway(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from saylau.ingest.gateway.app import create_app
    from saylau.ingest.gateway.tokens import PepperError, check_pepper

    try:
        check_pepper(settings.gateway_token_pepper.get_secret_value())
    except PepperError as error:
        print(f"saylau gateway: {error}", file=sys.stderr)
        return 2
    app = create_app(settings)
    print(f"gateway on http://{settings.gateway_host}:{settings.gateway_port}/", flush=True)
    # uvicorn stops cleanly on SIGTERM and SIGINT (the lifespan closes journal and sender),
    # then re-raises the signal to the handler it found: make that a clean exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(app, host=settings.gateway_host, port=settings.gateway_port,
                log_level="warning", access_log=False, timeout_graceful_shutdown=10,
                timeout_keep_alive=75,
                backlog=4096)
    return 0


def run_observers(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.ingest.gateway.tokens import PepperError, TokenStore, tokens_path

    try:
        store = TokenStore(tokens_path(settings.data_dir),
                           settings.gateway_token_pepper.get_secret_value())
    except PepperError as error:
        print(f"saylau observers: {error}", file=sys.stderr)
        return 2
    try:
        if args.observers_command == "issue-token":
            return _issue(store, args)
        if store.revoke(args.token_id):
            print(f"revoked {args.token_id}")
            return 0
        print(f"saylau observers: no token {args.token_id}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _issue(store: Any, args: argparse.Namespace) -> int:
    try:
        issued = store.issue(args.observer_id, args.role, args.days)
    except ValueError as error:
        print(f"saylau observers: {error}", file=sys.stderr)
        return 2
    who = issued.identity
    print(f"token_id={who.token_id} observer_id={who.observer_id} role={who.role} "
          f"expires_at={who.expires_at.isoformat()}", file=sys.stderr)
    print(issued.token)  # stdout: the token alone, shown once, so scripts can capture it
    return 0
