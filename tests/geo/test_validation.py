"""Registry import: every problem is reported with the line (or feature) it is on."""

import json

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from saylau.geo.registry import REGISTRY_COLUMNS, synthetic_registry, write_registry_csv
from saylau.geo.rows import read_csv_rows
from saylau.geo.validation import check_registry_file, check_registry_rows

HEADER = "station_id,name,region_code,district,settlement,address,lat,lon,registered_voters"
# Three valid stations: Almaty (KAZ004), Astana (KAZ006), Konaev in Almaty Region (KAZ005).
VALID_ROWS = [
    ["KAZ004-0001", "Polling station 1", "KAZ004", "Almaly district", "Almaty",
     "School No. 1 Almaty", "43.26", "76.92", "1200"],
    ["KAZ006-0001", "Polling station 2", "KAZ006", "Yesil district", "Astana",
     "School No. 2 Astana", "51.17", "71.45", "1500"],
    ["KAZ005-0001", "Polling station 3", "KAZ005", "Konaev district", "Konaev",
     "School No. 3 Konaev", "43.87", "77.07", "900"],
]
FIELD = {name: position for position, name in enumerate(HEADER.split(","))}


def csv_text(rows, header=HEADER):
    lines = [header, *(",".join(_quoted(cell) for cell in row) for row in rows)]
    return "\n".join(lines) + "\n"


def write(tmp_path, text, name="stations.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def with_change(row_index, **changes):
    rows = [list(row) for row in VALID_ROWS]
    for field, value in changes.items():
        rows[row_index][FIELD[field]] = value
    return rows


def test_a_valid_file_has_no_problems_and_keeps_every_station(tmp_path, regions):
    check = check_registry_file(write(tmp_path, csv_text(VALID_ROWS)), regions)

    assert check.ok and check.messages() == []
    assert check.stations["station_id"].tolist() == [row[0] for row in VALID_ROWS]
    assert list(check.stations.columns) == REGISTRY_COLUMNS
    assert check.stations["registered_voters"].tolist() == [1200, 1500, 900]
    assert check.rejected.empty


# Each case breaks the second data row, which is line 3 of the file.
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"station_id": ""}, "line 3: station_id: missing"),
        ({"name": ""}, "line 3: name: missing"),
        ({"region_code": ""}, "line 3: region_code: missing"),
        ({"address": ""}, "line 3: address: missing"),
        ({"lat": ""}, "line 3: lat: missing"),
        ({"lon": ""}, "line 3: lon: missing"),
        ({"registered_voters": ""}, "line 3: registered_voters: missing"),
        ({"station_id": "KAZ004-0001"},
         "line 3: station_id: duplicate of the station on line 2"),
        ({"lat": "fifty"}, "line 3: lat: not a number: 'fifty'"),
        ({"lon": "71,45"}, "line 3: lon: not a number: '71,45'"),
        ({"lat": "91"}, "line 3: lat: '91' is outside -90..90"),
        ({"lon": "-180.5"}, "line 3: lon: '-180.5' is outside -180..180"),
        ({"lat": "inf"}, "line 3: lat: 'inf' is outside -90..90"),
        ({"lat": "43.26", "lon": "76.92"},
         "line 3: lat/lon: point (lon 76.92, lat 43.26) is outside KAZ006 (Astana); "
         "it lies in KAZ004 (Almaty)"),
        ({"lat": "43.0", "lon": "50.5"},
         "line 3: lat/lon: point (lon 50.5, lat 43.0) is outside KAZ006 (Astana); "
         "it lies in no region"),
        ({"registered_voters": "0"}, "line 3: registered_voters: must be positive, got '0'"),
        ({"registered_voters": "-40"},
         "line 3: registered_voters: must be positive, got '-40'"),
        ({"registered_voters": "12.5"},
         "line 3: registered_voters: not a whole number: '12.5'"),
        ({"registered_voters": "many"},
         "line 3: registered_voters: not a whole number: 'many'"),
        ({"registered_voters": "1e30"},
         "line 3: registered_voters: '1e30' is more than 1,000,000"),
        ({"region_code": "KAZ099"}, "line 3: region_code: unknown region 'KAZ099'"),
    ],
)
def test_each_problem_is_reported_with_its_line(tmp_path, regions, changes, message):
    check = check_registry_file(write(tmp_path, csv_text(with_change(1, **changes))), regions)

    assert check.messages() == [message]
    assert check.rejected["line"].tolist() == [3]
    assert check.stations["station_id"].tolist() == [VALID_ROWS[0][0], VALID_ROWS[2][0]]


def test_every_problem_of_every_row_is_reported_in_file_order(tmp_path, regions):
    rows = [list(row) for row in VALID_ROWS]
    rows[2][FIELD["lat"]] = "x"
    rows[2][FIELD["registered_voters"]] = "0"
    rows[0][FIELD["name"]] = ""

    check = check_registry_file(write(tmp_path, csv_text(rows)), regions)

    assert check.messages() == [
        "line 2: name: missing",
        "line 4: lat: not a number: 'x'",
        "line 4: registered_voters: must be positive, got '0'",
    ]
    assert check.rejected["line"].tolist() == [2, 4]
    assert check.rejected["errors"].tolist()[1] == (
        "lat: not a number: 'x'; registered_voters: must be positive, got '0'")


def test_a_point_on_its_region_border_counts_as_inside(tmp_path, regions):
    almaty = regions.set_index("region_code").geometry["KAZ004"]
    lon, lat = shapely.get_coordinates(almaty)[0]  # a vertex of the border
    rows = with_change(0, lon=repr(float(lon)), lat=repr(float(lat)))

    check = check_registry_file(write(tmp_path, csv_text(rows)), regions)

    assert check.ok, check.messages()


def test_a_missing_column_is_reported_on_the_header_line(tmp_path, regions):
    header = HEADER.replace(",lat,", ",latitude,")
    check = check_registry_file(write(tmp_path, csv_text(VALID_ROWS, header)), regions)

    assert check.messages() == ["line 1: header: missing column 'lat'"]
    assert check.stations.empty and len(check.rejected) == 3


def test_optional_columns_may_be_left_out(tmp_path, regions):
    header = "station_id,name,region_code,address,lat,lon,registered_voters"
    rows = [[row[0], row[1], row[2], row[5], row[6], row[7], row[8]] for row in VALID_ROWS]

    check = check_registry_file(write(tmp_path, csv_text(rows, header)), regions)

    assert check.ok
    assert (check.stations["district"] == "").all()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: header: the file is empty"),
        (HEADER + "\n", "line 2: file: has no stations"),
        (HEADER.replace("name", "lat") + "\n", "line 1: header: columns appear more than "
                                                "once: ['lat']"),
    ],
)
def test_files_without_usable_rows_are_refused(tmp_path, regions, text, message):
    check = check_registry_file(write(tmp_path, text), regions)
    assert check.messages() == [message]
    assert check.stations.empty


def test_a_file_that_is_not_utf8_names_the_line(tmp_path, regions):
    path = tmp_path / "stations.csv"
    path.write_bytes(csv_text(VALID_ROWS).encode() + b"KAZ004-0009,\xff\xfe,KAZ004\n")

    assert check_registry_file(path, regions).messages() == ["line 5: file: is not UTF-8 text"]


def test_a_row_with_too_many_or_too_few_fields_is_reported(tmp_path, regions):
    text = csv_text(VALID_ROWS) + csv_text([[*VALID_ROWS[0], "extra"], ["KAZ004-0007", "short"]],
                                           header="").lstrip("\n")

    check = check_registry_file(write(tmp_path, text), regions)

    assert check.messages() == [
        "line 5: row: has 10 fields, the header has 9",
        "line 6: row: has 2 fields, the header has 9",
    ]
    assert len(check.stations) == 3


def test_blank_lines_and_line_breaks_in_quotes_keep_editor_line_numbers(tmp_path, regions):
    rows = [list(row) for row in VALID_ROWS]
    rows[0][FIELD["address"]] = "School No. 1\nAlmaty"  # quoted, the record spans lines 2-3
    rows[2][FIELD["lat"]] = "north"
    first, second, third = csv_text(rows).split("\n", 1)[1].rstrip("\n").rsplit("\n", 2)
    text = f"{HEADER}\n{first}\n\n{second}\n{third}\n"

    check = check_registry_file(write(tmp_path, text), regions)

    assert check.messages() == ["line 6: lat: not a number: 'north'"]
    assert check.stations["address"].iloc[0] == "School No. 1\nAlmaty"


def test_cells_are_stripped_and_a_byte_order_mark_is_ignored(tmp_path, regions):
    rows = with_change(0, station_id="  KAZ004-0001 ", lat=" 43.26")
    path = tmp_path / "stations.csv"
    path.write_bytes("\ufeff".encode() + csv_text(rows).encode())

    check = check_registry_file(path, regions)

    assert check.ok
    assert check.stations["station_id"].iloc[0] == "KAZ004-0001"


# --- commission members -----------------------------------------------------------------


def with_commission(cells):
    rows = [[*row, json.dumps(cell) if not isinstance(cell, str) else cell]
            for row, cell in zip(VALID_ROWS, cells, strict=True)]
    return csv_text(rows, HEADER + ",commission")


def _quoted(cell):
    special = any(mark in cell for mark in ',"\n')
    return '"' + cell.replace('"', '""') + '"' if special else cell


def test_commission_members_are_read_with_role_and_party(tmp_path, regions):
    members = [{"name": "Aigerim Sadykova", "role": "chair", "party": "Amanat"},
               {"name": "Yerlan Omarov", "role": "secretary", "party": ""}]
    text = with_commission([members, "", [{"name": "Dina", "role": "member"}]])

    check = check_registry_file(write(tmp_path, text), regions)

    assert check.ok
    assert check.commission.to_dict("records") == [
        {"station_id": "KAZ004-0001", "name": "Aigerim Sadykova", "role": "chair",
         "party": "Amanat"},
        {"station_id": "KAZ004-0001", "name": "Yerlan Omarov", "role": "secretary",
         "party": ""},
        {"station_id": "KAZ005-0001", "name": "Dina", "role": "member", "party": ""},
    ]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("[{oops", "line 3: commission: is not a JSON list of {name, role, party}"),
        ({"name": "A", "role": "chair"},
         "line 3: commission: is not a JSON list of {name, role, party}"),
        ([{"role": "chair"}], "line 3: commission: member 1 has no name"),
        ([{"name": "A", "role": "chair"}, {"name": "B"}],
         "line 3: commission: member 2 has no role"),
        ([{"name": "A", "role": "chair", "party": 7}],
         "line 3: commission: member 1 has a name, role or party that is not text"),
        (["A"], "line 3: commission: member 1 is not an object with name, role and party"),
    ],
)
def test_bad_commission_lists_are_reported(tmp_path, regions, cell, message):
    text = with_commission(["", cell, ""])
    check = check_registry_file(write(tmp_path, text), regions)
    assert check.messages() == [message]


def test_members_of_rejected_stations_are_not_kept(tmp_path, regions):
    members = [{"name": "A", "role": "chair", "party": "P"}]
    rows = with_change(0, registered_voters="0")
    text = csv_text([[*row, json.dumps(members)] for row in rows], HEADER + ",commission")

    check = check_registry_file(write(tmp_path, text), regions)

    assert check.commission["station_id"].tolist() == ["KAZ006-0001", "KAZ005-0001"]


# --- GeoJSON ----------------------------------------------------------------------------


def feature(row, geometry="point"):
    properties = dict(zip(HEADER.split(","), row, strict=True))
    lat, lon = float(properties.pop("lat")), float(properties.pop("lon"))
    properties["registered_voters"] = int(properties["registered_voters"])
    shape = {"type": "Point", "coordinates": [lon, lat]} if geometry == "point" else geometry
    return {"type": "Feature", "geometry": shape, "properties": properties}


def geojson(tmp_path, features):
    return write(tmp_path, json.dumps({"type": "FeatureCollection", "features": features}),
                 "stations.geojson")


def test_geojson_registry_is_read_from_points_and_properties(tmp_path, regions):
    features = [feature(row) for row in VALID_ROWS]
    features[0]["properties"]["commission"] = [{"name": "A", "role": "chair", "party": "P"}]

    check = check_registry_file(geojson(tmp_path, features), regions)

    assert check.ok, check.messages()
    assert check.stations["lon"].tolist() == [76.92, 71.45, 77.07]
    assert check.commission["name"].tolist() == ["A"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f["properties"].update(region_code="KAZ004"),
         "feature 1: lat/lon: point (lon 71.45, lat 51.17) is outside KAZ004 (Almaty); "
         "it lies in KAZ006 (Astana)"),
        (lambda f: f["properties"].pop("name"), "feature 1: name: missing"),
        (lambda f: f["properties"].update(registered_voters=0),
         "feature 1: registered_voters: must be positive, got '0'"),
        (lambda f: f["properties"].update(station_id="KAZ004-0001"),
         "feature 1: station_id: duplicate of the station on feature 0"),
        (lambda f: f.update(geometry={"type": "Polygon", "coordinates": []}),
         "feature 1: geometry: is a Polygon, expected a Point"),
        (lambda f: f.update(geometry=None), "feature 1: geometry: missing (no Point and no "
                                             "lon/lat)"),
        (lambda f: f["geometry"].update(coordinates=["east", 51.17]),
         "feature 1: lon: not a number: 'east'"),
    ],
)
def test_geojson_problems_name_the_feature_index(tmp_path, regions, change, message):
    features = [feature(row) for row in VALID_ROWS]
    change(features[1])

    check = check_registry_file(geojson(tmp_path, features), regions)

    assert check.messages() == [message]
    assert check.rejected["feature"].tolist() == [1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"type": "FeatureCollection",\n "features": [}', "line 2: file: is not valid JSON: "
                                                           "Expecting value"),
        ('{"type": "Feature"}', "line 1: file: is not a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection", "features": []}', "feature 0: file: has no stations"),
    ],
)
def test_unusable_geojson_is_refused(tmp_path, regions, text, message):
    check = check_registry_file(write(tmp_path, text, "stations.geojson"), regions)
    assert check.messages() == [message]


# --- the synthetic registry passes its own importer --------------------------------------


def test_a_synthetic_registry_imports_without_a_problem(tmp_path, regions):
    registry = synthetic_registry(2_000, 2_400_000, regions=regions)
    path = tmp_path / "synthetic.csv"
    write_registry_csv(registry, path)

    check = check_registry_file(path, regions)

    assert check.ok, check.messages()[:5]
    pd.testing.assert_frame_equal(check.stations, registry)


# --- fuzz: whatever the cells hold, the checker answers and accounts for every row --------

CELLS = st.sampled_from(["", " ", "KAZ004", "KAZ004-0001", "KAZ999", "43.26", "76.92",
                         "51.17", "-91", "1e400", "nan", "0", "12.5", "100", "x", '"', "[]",
                         '[{"name": "A", "role": "chair"}]', "\u0410\u043b\u043c\u0430"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=0, max_size=11), min_size=0, max_size=8))
def test_any_cells_give_problems_or_stations_never_an_error(tmp_path_factory, regions, rows):
    path = tmp_path_factory.mktemp("fuzz") / "stations.csv"
    header = HEADER + ",commission"
    lines = [header, *(",".join(_quoted(cell) for cell in row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    check = check_registry_file(path, regions)

    lines_read = read_csv_rows(path).numbers
    assert len(check.stations) + len(check.rejected) == len(lines_read)
    assert check.ok == check.rejected.empty or len(lines_read) == 0
    assert set(check.rejected["line"]) <= set(lines_read.tolist())
    assert np.isin(check.problems["number"], [1, *lines_read.tolist(), 2]).all()


def test_rows_checked_from_memory_match_the_file(tmp_path, regions):
    rows = read_csv_rows(write(tmp_path, csv_text(with_change(2, lat="x"))))
    assert check_registry_rows(rows, regions).messages() == ["line 4: lat: not a number: 'x'"]
