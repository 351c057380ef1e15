"""`saylau cases keygen|contact`: the legal team's key pair, and reading one reporter's contact.

``keygen`` writes the pair the gateway seals contacts to (docs/citizen.md): the public key
goes in SAYLAU_CITIZEN_LEGAL_PUBLIC_KEY, the private key stays on the lawyer's machine.
``contact`` reads the sealed contact of one case from the warehouse and opens it with the
private key, there: the server never holds what opens it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from saylau.core.settings import Settings


def add_cases_parser(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    cases = commands.add_parser("cases", help="citizen report cases: the legal team's key, "
                                              "a reporter's contact")
    common(cases)
    actions = cases.add_subparsers(dest="cases_command", required=True, metavar="ACTION")
    keygen = actions.add_parser("keygen", help="write a key pair for the legal team")
    keygen.add_argument("--out", type=Path, required=True,
                        help="the private key file (mode 0600); the public key goes next to "
                             "it with .pub")
    contact = actions.add_parser("contact", help="decrypt one case's contact with the "
                                                 "private key")
    contact.add_argument("case_id")
    contact.add_argument("--key", type=Path, required=True, help="the private key file")


def run_cases(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.core.sealing import SealingError, generate_keypair, private_key_file, unseal

    if args.cases_command == "keygen":
        public_path = args.out.with_name(args.out.name + ".pub")
        if args.out.exists():
            print(f"saylau cases: {args.out} exists; not overwritten", file=sys.stderr)
            return 2
        public = generate_keypair(args.out, public_path)
        print(f"private key: {args.out} (keep it on this machine)\npublic key: {public_path}"
              f"\nset SAYLAU_CITIZEN_LEGAL_PUBLIC_KEY={public}")
        return 0
    try:
        key = private_key_file(args.key)
    except (OSError, SealingError) as error:
        print(f"saylau cases: cannot read the private key: {error}", file=sys.stderr)
        return 2
    sealed = _sealed_contact(settings, args.case_id)
    if sealed is None:
        print("saylau cases: no such case, or it has no contact", file=sys.stderr)
        return 1
    try:
        print(unseal(sealed, key))
    except SealingError as error:
        print(f"saylau cases: {error}", file=sys.stderr)
        return 1
    return 0


def _sealed_contact(settings: Settings, case_id: str) -> str | None:
    from saylau.warehouse.citizen import report_payload
    from saylau.warehouse.client import open_warehouse

    warehouse = open_warehouse(settings.warehouse,
                               settings.clickhouse_password.get_secret_value(), read_only=True)
    try:
        payload = report_payload(warehouse, case_id)
    finally:
        warehouse.close()
    if payload is None:
        return None
    return json.loads(payload).get("contact_sealed") or None
