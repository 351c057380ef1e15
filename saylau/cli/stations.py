"""`saylau stations import|export` and `saylau roster import`: reference data in and out.

An import replaces the stored registry (or roster) as a whole, and only after every row
was checked: a file with problems prints each one (`line N: field: problem`) and leaves
what was stored untouched, unless --keep-valid asks to import the valid rows and write
the rejected ones, with their problems, to a file.

Observers' names and phones never reach the terminal: roster problems name the line
and the observer_id only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from saylau.core.settings import Settings
from saylau.geo.commission import COMMISSION_COLUMNS, commission_path, read_commission_csv
from saylau.geo.export import export_public_list
from saylau.geo.files import staged
from saylau.geo.regions import load_regions
from saylau.geo.registry import REGISTRY_COLUMNS, registry_path_or_generate
from saylau.geo.roster import PRIVATE_FILE, check_roster_file, save_roster
from saylau.geo.validation import RegistryCheck, check_registry_file

ROSTER_FOLDER = "roster"
EXPORT_FOLDER = "export"
REJECTED_FILE = "stations.rejected.csv"


def add_stations_parser(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `stations` (import, export) and `roster` (import) to the `saylau` subcommands."""
    stations = commands.add_parser("stations", help="import the station registry (CSV or "
                                                    "GeoJSON) or export the public list")
    common(stations)
    actions = stations.add_subparsers(dest="stations_command", required=True, metavar="ACTION")
    importer = actions.add_parser(
        "import", help="check a registry file and, if every row is valid, make it the registry",
        description="Check every row; print each problem as 'line N: field: problem'. "
                    "Nothing is imported if any row is invalid, unless --keep-valid.")
    importer.add_argument("file", type=Path, help="registry as .csv, or .geojson/.json")
    importer.add_argument("--keep-valid", action="store_true",
                          help="import the valid rows and write the rejected ones to a file")
    importer.add_argument("--rejected-out", type=Path,
                          help=f"where --keep-valid writes rejected rows "
                               f"(default DATA_DIR/{REJECTED_FILE})")
    importer.add_argument("--regions", type=Path,
                          help="GeoJSON of the regions (default: Kazakhstan's 20)")
    importer.add_argument("--code-property", default="ADM1_PCODE",
                          help="region property holding the code (default ADM1_PCODE)")
    importer.add_argument("--name-property", default="ADM1_EN",
                          help="region property holding the name (default ADM1_EN)")
    _settings_options(importer, common)
    exporter = actions.add_parser("export", help="write the public list (stations.csv, "
                                                 "stations.geojson) with commission members")
    exporter.add_argument("--out", type=Path, help=f"folder (default DATA_DIR/{EXPORT_FOLDER})")
    _settings_options(exporter, common)

    roster = commands.add_parser("roster", help="import the observer roster (personal data "
                                                "kept apart)")
    common(roster)
    roster_actions = roster.add_subparsers(dest="roster_command", required=True, metavar="ACTION")
    roster_import = roster_actions.add_parser(
        "import", help="check a roster CSV (observer_id, name, phone, home_region, "
                       "organisation, assigned_station) and store it if every row is valid")
    roster_import.add_argument("file", type=Path, help="roster CSV")
    _settings_options(roster_import, common)


def _settings_options(parser: argparse.ArgumentParser,
                      common: Callable[[argparse.ArgumentParser], None]) -> None:
    """The settings options on an action too (`saylau stations import F --registry R`).

    Their defaults are suppressed, because argparse copies every default of a sub-parser
    over what the parent already parsed (`saylau stations --registry R import F`).
    """
    known = {action.dest for action in parser._actions}
    common(parser)
    for action in parser._actions:  # argparse has no public way to reach these
        if action.dest not in known:
            action.default = argparse.SUPPRESS


def run_stations(settings: Settings, args: argparse.Namespace) -> int:
    if args.stations_command == "import":
        return _import_stations(settings, args)
    return _export_stations(settings, args)


def run_roster(settings: Settings, args: argparse.Namespace) -> int:
    return _import_roster(settings, args)


# --- stations import --------------------------------------------------------------------


def _import_stations(settings: Settings, args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"saylau stations import: no such file: {args.file}", file=sys.stderr)
        return 2
    try:
        regions = load_regions(args.regions, args.code_property, args.name_property)
    except (ValueError, OSError) as error:
        print(f"saylau stations import: cannot read the regions: {error}", file=sys.stderr)
        return 2
    check = check_registry_file(args.file, regions)
    if check.ok:
        _store_registry(check, settings.registry_path)
        print(_summary(check, settings.registry_path))
        return 0
    for message in check.messages():
        print(message, file=sys.stderr)
    return _import_despite_problems(check, settings, args)


def _import_despite_problems(check: RegistryCheck, settings: Settings,
                             args: argparse.Namespace) -> int:
    rows = len(check.rejected)
    if not args.keep_valid or check.stations.empty:
        print(f"nothing imported: {len(check.problems)} problem(s) in {rows} row(s); "
              f"{settings.registry_path} is unchanged", file=sys.stderr)
        return 1
    rejected_path = args.rejected_out or settings.data_dir / REJECTED_FILE
    with staged([rejected_path]) as (temporary,):
        check.rejected.to_csv(temporary, index=False)
    _store_registry(check, settings.registry_path)
    print(_summary(check, settings.registry_path))
    print(f"rejected {rows} row(s) with {len(check.problems)} problem(s), written to "
          f"{rejected_path}")
    return 0


def _store_registry(check: RegistryCheck, registry_path: Path) -> None:
    """Registry and commission members, each replaced atomically, both or neither."""
    with staged([registry_path, commission_path(registry_path)]) as (stations, members):
        check.stations[REGISTRY_COLUMNS].to_csv(stations, index=False)
        check.commission[COMMISSION_COLUMNS].to_csv(members, index=False)


def _summary(check: RegistryCheck, registry_path: Path) -> str:
    stations = check.stations
    return (f"imported {len(stations)} stations ({int(stations['registered_voters'].sum())} "
            f"registered voters, {stations['region_code'].nunique()} regions, "
            f"{len(check.commission)} commission members) into {registry_path}")


# --- stations export --------------------------------------------------------------------


def _export_stations(settings: Settings, args: argparse.Namespace) -> int:
    registry = registry_path_or_generate(settings.registry_path, settings.registry_stations,
                                         settings.registry_seed)
    commission = read_commission_csv(commission_path(settings.registry_path))
    out = args.out or settings.data_dir / EXPORT_FOLDER
    for path in export_public_list(registry, commission, out):
        print(f"wrote {path}")
    return 0


# --- roster import ----------------------------------------------------------------------


def _import_roster(settings: Settings, args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"saylau roster import: no such file: {args.file}", file=sys.stderr)
        return 2
    registry = registry_path_or_generate(settings.registry_path, settings.registry_stations,
                                         settings.registry_seed)
    check = check_roster_file(args.file, set(registry["region_code"]),
                              set(registry["station_id"]))
    folder = settings.data_dir / ROSTER_FOLDER
    if not check.ok:
        for message in check.messages():
            print(message, file=sys.stderr)
        print(f"nothing imported: {len(check.problems)} problem(s) in {check.rejected} "
              f"row(s); the roster in {folder} is unchanged", file=sys.stderr)
        return 1
    save_roster(check.roster, folder)
    public = check.roster.public
    print(f"imported {len(public)} observers ({_count(public['organisation'])} organisations, "
          f"{_count(public['assigned_station'])} stations assigned) into {folder}; names and "
          f"phones are in {PRIVATE_FILE}, readable by its owner only")
    return 0


def _count(values: pd.Series) -> int:
    return int(values[values != ""].nunique())
