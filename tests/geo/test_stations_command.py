"""`saylau stations import|export` and `saylau roster import`, run as the shell would.

saylau/cli/main.py wires these commands in; until then the tests build the same parser with
the command's own `_common` settings options and `settings_from_args`.
"""

import argparse
import json
import os
import stat

import pandas as pd
import pytest

from saylau.cli.main import _common, settings_from_args
from saylau.cli.stations import add_stations_parser, run_roster, run_stations
from saylau.geo.commission import commission_path, read_commission_csv
from saylau.geo.registry import read_registry_csv, synthetic_registry, write_registry_csv
from saylau.geo.roster import load_saved_roster

HEADER = ("station_id,name,region_code,district,settlement,address,lat,lon,registered_voters,"
          "commission")
MEMBERS = '"[{""name"": ""Aigerim Sadykova"", ""role"": ""chair"", ""party"": ""Amanat""}]"'
GOOD = [
    f"KAZ004-0001,Polling station 1,KAZ004,Almaly district,Almaty,School 1,43.26,76.92,1200,"
    f"{MEMBERS}",
    "KAZ006-0001,Polling station 2,KAZ006,Yesil district,Astana,School 2,51.17,71.45,1500,",
]
BAD = [
    "KAZ005-0001,Polling station 3,KAZ005,,Konaev,School 3,43.87,77.07,0,",
    "KAZ004-0001,Polling station 4,KAZ004,,Almaty,School 4,43.25,76.95,800,",
]
# A planted observer: neither value may ever appear in an export or a message.
SECRET_NAME = "Zhanar Secretbayeva"
SECRET_PHONE = "+7 701 555 0199"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.upper().startswith("SAYLAU_"):
            monkeypatch.delenv(name)


def saylau(*argv):
    """Parse and run like `saylau …`; the exit code."""
    parser = argparse.ArgumentParser(prog="saylau")
    add_stations_parser(parser.add_subparsers(dest="command", required=True), _common)
    args = parser.parse_args([str(arg) for arg in argv])
    run = {"stations": run_stations, "roster": run_roster}[args.command]
    return run(settings_from_args(args), args)


def write_lines(path, lines, header=HEADER):
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def existing_registry(data_dir):
    """A registry already in place, which a failed import must leave byte for byte."""
    path = data_dir / "stations.csv"
    write_registry_csv(synthetic_registry(40, 50_000, seed=1), path)
    return path


def test_a_valid_file_becomes_the_registry_with_its_commission(tmp_path, data_dir, capsys):
    source = write_lines(tmp_path / "new.csv", GOOD)

    assert saylau("stations", "import", source, "--data-dir", data_dir) == 0

    registry = read_registry_csv(data_dir / "stations.csv")
    assert registry["station_id"].tolist() == ["KAZ004-0001", "KAZ006-0001"]
    members = read_commission_csv(commission_path(data_dir / "stations.csv"))
    assert members.to_dict("records") == [{"station_id": "KAZ004-0001",
                                           "name": "Aigerim Sadykova", "role": "chair",
                                           "party": "Amanat"}]
    assert "imported 2 stations (2700 registered voters, 2 regions, 1 commission members)" \
        in capsys.readouterr().out


def test_a_file_with_errors_prints_every_error_and_imports_nothing(
        tmp_path, data_dir, existing_registry, capsys):
    before = existing_registry.read_bytes()
    source = write_lines(tmp_path / "new.csv", GOOD + BAD)

    assert saylau("stations", "import", source, "--data-dir", data_dir) == 1

    err = capsys.readouterr().err.splitlines()
    assert err[:2] == [
        "line 4: registered_voters: must be positive, got '0'",
        "line 5: station_id: duplicate of the station on line 2",
    ]
    assert "nothing imported" in err[2]
    assert existing_registry.read_bytes() == before
    assert not commission_path(existing_registry).exists()
    assert sorted(path.name for path in data_dir.iterdir()) == ["stations.csv"]  # no leftovers


def test_keep_valid_imports_the_valid_rows_and_writes_the_rejected_ones(
        tmp_path, data_dir, existing_registry, capsys):
    source = write_lines(tmp_path / "new.csv", GOOD + BAD)
    rejected = tmp_path / "rejected.csv"

    code = saylau("stations", "import", source, "--keep-valid", "--rejected-out", rejected,
                  "--data-dir", data_dir)

    assert code == 0
    assert read_registry_csv(existing_registry)["station_id"].tolist() == [
        "KAZ004-0001", "KAZ006-0001"]
    rows = pd.read_csv(rejected, dtype=str, keep_default_na=False)
    assert rows["line"].tolist() == ["4", "5"]
    assert rows["errors"].tolist() == ["registered_voters: must be positive, got '0'",
                                       "station_id: duplicate of the station on line 2"]
    assert rows["name"].tolist() == ["Polling station 3", "Polling station 4"]
    out = capsys.readouterr()
    assert "rejected 2 row(s)" in out.out and "line 4:" in out.err


def test_settings_options_work_before_and_after_the_action(tmp_path, capsys):
    source = write_lines(tmp_path / "new.csv", GOOD)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"

    assert saylau("stations", "--registry", first, "import", source) == 0
    assert saylau("stations", "import", source, "--registry", second) == 0

    assert first.is_file() and second.is_file()


def test_geojson_files_import(tmp_path, data_dir):
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [76.92, 43.26]},
                 "properties": {"station_id": "KAZ004-0001", "name": "PS 1",
                                "region_code": "KAZ004", "address": "School 1",
                                "registered_voters": 1200,
                                "commission": [{"name": "A", "role": "chair", "party": "P"}]}}]
    source = tmp_path / "new.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    assert saylau("stations", "import", source, "--data-dir", data_dir) == 0

    assert read_registry_csv(data_dir / "stations.csv")["lon"].tolist() == [76.92]


def test_geojson_errors_name_the_feature(tmp_path, data_dir, capsys):
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [71.45, 51.17]},
                 "properties": {"station_id": "X", "name": "PS", "region_code": "KAZ004",
                                "address": "A", "registered_voters": 10}}]
    source = tmp_path / "new.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    assert saylau("stations", "import", source, "--data-dir", data_dir) == 1
    assert capsys.readouterr().err.startswith(
        "feature 0: lat/lon: point (lon 71.45, lat 51.17) is outside KAZ004 (Almaty)")


def test_regions_can_come_from_another_file_with_its_own_property_names(tmp_path, data_dir):
    regions = tmp_path / "units.geojson"
    regions.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "U1", "label": "Unit one"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1],
                                                          [0, 0]]]}}]}))
    source = write_lines(tmp_path / "new.csv", ["S1,PS,U1,,,School,0.5,0.5,10,"])

    assert saylau("stations", "import", source, "--regions", regions, "--code-property",
                  "code", "--name-property", "label", "--data-dir", data_dir) == 0


def test_a_missing_file_or_region_property_is_an_error_not_a_crash(tmp_path, data_dir, capsys):
    assert saylau("stations", "import", tmp_path / "none.csv", "--data-dir", data_dir) == 2
    source = write_lines(tmp_path / "new.csv", GOOD)
    assert saylau("stations", "import", source, "--code-property", "nope",
                  "--data-dir", data_dir) == 2
    assert "no property 'nope'" in capsys.readouterr().err


# --- export -----------------------------------------------------------------------------


def plant_roster(tmp_path, data_dir):
    roster = tmp_path / "roster.csv"
    roster.write_text("observer_id,name,phone,home_region,organisation,assigned_station\n"
                      f"obs-77,{SECRET_NAME},{SECRET_PHONE},KAZ004,Saylau,KAZ004-0001\n")
    assert saylau("roster", "import", roster, "--data-dir", data_dir) == 0


def test_export_has_commission_members_and_parties_and_no_observer_data(tmp_path, data_dir):
    assert saylau("stations", "import", write_lines(tmp_path / "new.csv", GOOD),
                  "--data-dir", data_dir) == 0
    plant_roster(tmp_path, data_dir)
    out = tmp_path / "public"

    assert saylau("stations", "export", "--out", out, "--data-dir", data_dir) == 0

    assert sorted(path.name for path in out.iterdir()) == ["stations.csv", "stations.geojson"]
    public = pd.read_csv(out / "stations.csv", dtype=str, keep_default_na=False)
    assert json.loads(public["commission"].iloc[0]) == [
        {"name": "Aigerim Sadykova", "role": "chair", "party": "Amanat"}]
    collection = json.loads((out / "stations.geojson").read_text())
    assert collection["features"][0]["properties"]["commission"][0]["party"] == "Amanat"
    for path in out.iterdir():
        data = path.read_bytes()
        for secret in (SECRET_NAME, SECRET_PHONE, "obs-77", "observer", "phone"):
            assert secret.encode() not in data, (path.name, secret)


def test_an_export_imports_back_unchanged(tmp_path, data_dir):
    assert saylau("stations", "import", write_lines(tmp_path / "new.csv", GOOD),
                  "--data-dir", data_dir) == 0
    assert saylau("stations", "export", "--out", tmp_path / "public", "--data-dir", data_dir) == 0
    for name in ("stations.csv", "stations.geojson"):
        again = tmp_path / f"again-{name}"
        assert saylau("stations", "import", tmp_path / "public" / name,
                      "--registry", again / "stations.csv") == 0
        pd.testing.assert_frame_equal(read_registry_csv(again / "stations.csv"),
                                      read_registry_csv(data_dir / "stations.csv"))
        pd.testing.assert_frame_equal(read_commission_csv(again / "commission.csv"),
                                      read_commission_csv(data_dir / "commission.csv"))


# --- roster -----------------------------------------------------------------------------


def test_roster_import_keeps_names_and_phones_apart_and_private(tmp_path, data_dir, capsys):
    assert saylau("stations", "import", write_lines(tmp_path / "new.csv", GOOD),
                  "--data-dir", data_dir) == 0
    plant_roster(tmp_path, data_dir)

    folder = data_dir / "roster"
    public = (folder / "observers.csv").read_text()
    assert SECRET_NAME not in public and SECRET_PHONE not in public
    assert stat.S_IMODE((folder / "contacts.csv").stat().st_mode) == 0o600
    roster = load_saved_roster(folder)
    assert roster.private["name"].tolist() == [SECRET_NAME]
    out = capsys.readouterr()
    assert SECRET_NAME not in out.out + out.err and SECRET_PHONE not in out.out + out.err


def test_roster_errors_name_line_and_observer_never_name_or_phone(tmp_path, data_dir, capsys):
    assert saylau("stations", "import", write_lines(tmp_path / "new.csv", GOOD),
                  "--data-dir", data_dir) == 0
    roster = tmp_path / "roster.csv"
    roster.write_text("observer_id,name,phone,home_region,organisation,assigned_station\n"
                      f"obs-1,{SECRET_NAME},call-me-{SECRET_PHONE},KAZ004,Saylau,\n"
                      f"obs-1,{SECRET_NAME} Jr,{SECRET_PHONE},KAZ004,Saylau,KAZ009-9999\n")
    capsys.readouterr()

    assert saylau("roster", "import", roster, "--data-dir", data_dir) == 1

    out = capsys.readouterr()
    assert out.err.splitlines()[:3] == [
        "line 2: phone: not a phone number (observer obs-1)",
        "line 3: observer_id: duplicate of the observer on line 2 (observer obs-1)",
        "line 3: assigned_station: unknown station 'KAZ009-9999' (observer obs-1)",
    ]
    everything = out.out + out.err
    assert SECRET_NAME not in everything and "555" not in everything
    assert not (data_dir / "roster").exists()


@pytest.mark.parametrize("argv", [["stations"], ["stations", "import"], ["stations", "export"],
                                  ["roster"], ["roster", "import"]])
def test_every_command_has_help_with_the_settings_options(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        saylau(*argv, "--help")
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: saylau {' '.join(argv)}")
    assert "--warehouse" in out and "SAYLAU_" in out
