"""The observer roster: checked row by row, split into public and private parts."""

import pytest

from saylau.geo.registry import synthetic_registry
from saylau.geo.roster import (
    PRIVATE_COLUMNS,
    PUBLIC_COLUMNS,
    RosterError,
    check_roster_file,
    load_roster,
    load_saved_roster,
    save_roster,
    synthetic_roster,
)

HEADER = "observer_id,name,phone,home_region,organisation,assigned_station"
GOOD = [
    "obs-1,Aruzhan Nurlanova,+7 (701) 555-12-34,KAZ004,Saylau,KAZ004-0001",
    "obs-2,Berik Tulegenov,87015551235,KAZ006,Youth Watch,",
]
REGIONS = {"KAZ004", "KAZ006"}
STATIONS = {"KAZ004-0001"}


def roster_file(tmp_path, lines, header=HEADER):
    path = tmp_path / "roster.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def test_a_valid_roster_is_split_into_public_and_private_parts(tmp_path):
    roster = load_roster(roster_file(tmp_path, GOOD), REGIONS, STATIONS)

    assert list(roster.public.columns) == PUBLIC_COLUMNS
    assert list(roster.private.columns) == PRIVATE_COLUMNS
    assert roster.public["observer_id"].tolist() == ["obs-1", "obs-2"]
    assert roster.private["phone"].tolist() == ["+7 (701) 555-12-34", "87015551235"]
    assert "Aruzhan" not in repr(roster) and repr(roster) == "Roster(2 observers)"


# The second data row (line 3) is changed; the message names line and observer only.
@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",Berik Tulegenov,87015551235,KAZ006,,", "line 3: observer_id: missing"),
        ("obs-2,,87015551235,KAZ006,,", "line 3: name: missing (observer obs-2)"),
        ("obs-2,Berik Tulegenov,,KAZ006,,", "line 3: phone: missing (observer obs-2)"),
        ("obs-2,Berik Tulegenov,555-12,KAZ006,,",
         "line 3: phone: not a phone number (observer obs-2)"),
        ("obs-2,Berik Tulegenov,ask Berik,KAZ006,,",
         "line 3: phone: not a phone number (observer obs-2)"),
        ("obs-2,Berik Tulegenov,87015551235,,,", "line 3: home_region: missing (observer obs-2)"),
        ("obs-2,Berik Tulegenov,87015551235,KAZ099,,",
         "line 3: home_region: unknown region 'KAZ099' (observer obs-2)"),
        ("obs-2,Berik Tulegenov,87015551235,KAZ006,,KAZ006-0404",
         "line 3: assigned_station: unknown station 'KAZ006-0404' (observer obs-2)"),
        ("obs-1,Berik Tulegenov,87015551235,KAZ006,,",
         "line 3: observer_id: duplicate of the observer on line 2 (observer obs-1)"),
    ],
)
def test_each_roster_problem_names_the_line_and_observer(tmp_path, row, message):
    check = check_roster_file(roster_file(tmp_path, [GOOD[0], row]), REGIONS, STATIONS)

    assert check.messages() == [message]
    assert "Berik" not in message and "8701" not in message
    assert check.roster.public["observer_id"].tolist() == ["obs-1"]


def test_load_roster_refuses_a_roster_with_problems_without_personal_data(tmp_path):
    path = roster_file(tmp_path, [GOOD[0], "obs-2,Berik Tulegenov,call me,KAZ006,,"])

    with pytest.raises(RosterError) as error:
        load_roster(path, REGIONS, STATIONS)

    assert error.value.messages == ["line 3: phone: not a phone number (observer obs-2)"]
    assert "Berik" not in str(error.value)


def test_a_missing_column_is_reported_on_the_header_line(tmp_path):
    check = check_roster_file(roster_file(tmp_path, GOOD, HEADER.replace("phone", "tel")))
    assert check.messages() == ["line 1: header: missing column 'phone'"]
    assert len(check.roster) == 0


def test_reference_checks_are_skipped_when_not_given(tmp_path):
    check = check_roster_file(roster_file(tmp_path, [GOOD[0].replace("KAZ004", "ANY")]))
    assert check.ok


def test_saved_roster_loads_back_and_keeps_contacts_owner_only(tmp_path):
    roster = load_roster(roster_file(tmp_path, GOOD), REGIONS, STATIONS)
    folder = tmp_path / "stored"

    save_roster(roster, folder)
    again = load_saved_roster(folder)

    assert again.public.equals(roster.public.astype(again.public.dtypes))
    assert again.private["name"].tolist() == roster.private["name"].tolist()
    assert (folder / "contacts.csv").stat().st_mode & 0o077 == 0


def test_synthetic_roster_is_deterministic_and_points_at_real_stations():
    stations = synthetic_registry(200, 240_000, seed=3)

    roster = synthetic_roster(stations, 400, seed=5)

    assert len(roster) == 400 and roster.public["observer_id"].is_unique
    assert set(roster.public["assigned_station"]) == set(stations["station_id"])
    assert roster.public.equals(synthetic_roster(stations, 400, seed=5).public)
    regions = stations.set_index("station_id")["region_code"]
    assert (regions[roster.public["assigned_station"]].to_numpy()
            == roster.public["home_region"].to_numpy()).all()
