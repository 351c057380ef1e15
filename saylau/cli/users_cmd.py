"""`saylau users add|remove|list`: who may use the dashboard, and in which role.

Passwords are read from the terminal (asked twice) or, with --password-stdin, from the
first line of standard input; they are never printed, and only their hash is stored.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from saylau.core.settings import Settings


def add_users_parser(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    users = commands.add_parser("users", help="add, remove or list dashboard users")
    common(users)
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user (or set a user's role and password)")
    add.add_argument("username", help="letters, digits, '_', '.', '-' (also the actor id of "
                                      "the reviews and assignments the user sends)")
    add.add_argument("--role", required=True,
                     choices=["headquarters", "regional_lead", "media", "legal",
                              "tabulator"],
                     help="headquarters: everything; regional_lead: one region; "
                          "media: the media page and exports; legal: the citizen "
                          "report cases; tabulator: the double entry of protocol photos")
    add.add_argument("--region", help="the region code of a regional lead, e.g. KAZ011 "
                                      "(for a tabulator: limits them to its photos)")
    add.add_argument("--language", help="the user's default dashboard language (a catalog "
                                         "in saylau/locale: kk, ru, en); the page's switch "
                                         "and ?lang= change it for a session")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    remove = actions.add_parser("remove", help="remove a user (logged out at once)")
    remove.add_argument("username")
    actions.add_parser("list", help="list users: name, role, region (never passwords)")


def run_users(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.dashboard.users import UsersError, read_users, remove_user

    path = settings.dashboard_users_path
    try:
        if args.users_command == "add":
            return _add(settings, args)
        if args.users_command == "remove":
            if remove_user(path, args.username):
                print(f"removed {args.username}")
                return 0
            print(f"saylau users: no user {args.username}", file=sys.stderr)
            return 1
        for user in read_users(path).values():
            print(f"{user.username}\t{user.role}\t{user.region or '-'}\t{user.language or '-'}")
        return 0
    except UsersError as error:
        print(f"saylau users: {error}", file=sys.stderr)
        return 2


def _add(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.dashboard.users import add_user
    from saylau.geo.regions import load_regions

    password = _read_password(args.password_stdin)
    if password is None:
        print("saylau users: the two passwords differ; nothing changed", file=sys.stderr)
        return 2
    codes = set(load_regions()["region_code"])
    user = add_user(settings.dashboard_users_path, args.username, args.role, args.region,
                    password, codes, args.language)
    print(f"saved {user.username} ({user.role}{', ' + user.region if user.region else ''}) "
          f"in {settings.dashboard_users_path}")
    return 0


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    return first if getpass.getpass("again: ") == first else None
