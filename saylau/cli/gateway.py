"""`saylau gateway` (the ingest gateway) and `saylau observers issue-token|revoke-token`."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from pathlib import Path
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
    issue.add_argument("--link", action="store_true", help="print the field app's sign-in "
                       "link (SAYLAU_GATEWAY_PUBLIC_URL/app/#token=…) instead of the bare token")
    revoke = actions.add_parser("revoke-token", help="revoke a token by its id")
    revoke.add_argument("token_id", help="the token_id printed when it was issued")
    onboard = actions.add_parser("onboard", help="issue a token for every observer of a "
                                                 "roster and write a printable QR sheet")
    onboard.add_argument("--roster", required=True, type=Path, help="roster CSV "
                         "(observer_id, name, phone, home_region, organisation, "
                         "assigned_station)")
    onboard.add_argument("--out", required=True, type=Path, help="folder for onboarding.html "
                                                                 "and onboarding.pdf")
    onboard.add_argument("--region", help="only observers whose home_region is CODE")
    onboard.add_argument("--days", type=float, default=2.0, help="tokens valid for N days")


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
            return _issue(store, args, settings)
        if args.observers_command == "onboard":
            return _onboard(store, args, settings)
        if store.revoke(args.token_id):
            print(f"revoked {args.token_id}")
            return 0
        print(f"saylau observers: no token {args.token_id}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _issue(store: Any, args: argparse.Namespace, settings: Settings) -> int:
    try:
        issued = store.issue(args.observer_id, args.role, args.days)
    except ValueError as error:
        print(f"saylau observers: {error}", file=sys.stderr)
        return 2
    who = issued.identity
    print(f"token_id={who.token_id} observer_id={who.observer_id} role={who.role} "
          f"expires_at={who.expires_at.isoformat()}", file=sys.stderr)
    from saylau.ingest.onboarding import sign_in_link

    # stdout: the token (or the link that holds it) alone, shown once, for scripts
    print(sign_in_link(settings.gateway_url, issued.token) if args.link else issued.token)
    return 0


def _onboard(store: Any, args: argparse.Namespace, settings: Settings) -> int:
    from saylau.geo.roster import RosterError, load_roster
    from saylau.ingest.onboarding import Card, sign_in_link, write_sheet

    try:
        public = load_roster(args.roster).public
    except (RosterError, OSError) as error:
        print(f"saylau observers onboard: {error}", file=sys.stderr)
        return 2
    if args.region:
        public = public[public["home_region"] == args.region]
    if public.empty:
        print("saylau observers onboard: no observer to onboard", file=sys.stderr)
        return 1
    cards = []
    for row in public.itertuples():
        issued = store.issue(str(row.observer_id), "observer", args.days)
        cards.append(Card(str(row.observer_id), str(row.assigned_station or ""),
                          sign_in_link(settings.gateway_url, issued.token)))
    title = f"Saylau sign-in codes{' - ' + args.region if args.region else ''}"
    html_path, pdf_path = write_sheet(cards, args.out, title)
    print(f"{len(cards)} tokens issued; sheet: {html_path} and {pdf_path} (it holds working "
          f"sign-ins: print, hand out, shred)")
    return 0
