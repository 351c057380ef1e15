import re

import numpy as np
import pandas as pd
import pytest

from saylau.geo.places import PLACES, places_frame
from saylau.geo.regions import CITY_REGION_CODES, REGION_POPULATION, load_regions, region_of_points
from saylau.geo.registry import (
    REGISTRY_COLUMNS,
    apportion,
    read_registry_csv,
    registry_path_or_generate,
    synthetic_registry,
    write_registry_csv,
)


@pytest.fixture(scope="module")
def regions():
    return load_regions()


@pytest.fixture(scope="module")
def registry(regions):
    return synthetic_registry(regions=regions)


# --- places -----------------------------------------------------------------------------


def test_every_place_lies_in_its_declared_region(regions):
    places = places_frame()
    found = region_of_points(regions, places["lon"], places["lat"])
    misplaced = places[found != places["region_code"].to_numpy()]
    assert misplaced.empty, misplaced.assign(found=found[misplaced.index]).to_string()


def test_every_region_has_at_least_two_places(regions):
    counts = places_frame().groupby("region_code").size()
    assert counts.reindex(regions["region_code"], fill_value=0).min() >= 2


def test_places_have_names_districts_and_positive_populations():
    places = places_frame()
    assert len(places) == len(PLACES)
    assert (places["name"] != "").all() and (places["district"] != "").all()
    assert (places["population"] > 0).all()
    assert not places.duplicated(["name", "district"]).any()


# --- apportion --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "total", "minimum", "expected"),
    [
        ([1, 1, 1], 10, 0, [4, 3, 3]),  # equal remainders: first position wins
        ([5, 3, 2], 10, 0, [5, 3, 2]),
        ([0.5, 0.3, 0.2], 7, 0, [4, 2, 1]),
        ([1000, 1, 1], 10, 1, [8, 1, 1]),  # small parts raised to the minimum
        ([2, 1], 0, 0, [0, 0]),
    ],
)
def test_apportion_splits_exactly_by_largest_remainder(weights, total, minimum, expected):
    assert apportion(weights, total, minimum).tolist() == expected


def test_apportion_refuses_a_minimum_it_cannot_give():
    with pytest.raises(ValueError, match="at least 1"):
        apportion([1, 1, 1], 2, minimum=1)


# --- synthetic registry -----------------------------------------------------------------


def test_registry_has_the_registry_columns_and_dtypes(registry):
    assert list(registry.columns) == REGISTRY_COLUMNS
    assert registry["lat"].dtype == "float64" and registry["lon"].dtype == "float64"
    assert registry["registered_voters"].dtype == "int64"
    assert pd.api.types.is_string_dtype(registry["station_id"])


@pytest.mark.parametrize(
    ("n_stations", "total_voters"),
    [
        (10_000, 12_000_000),
        (1_234, 5_000_001),
        (20, 25_000),  # one station per region
    ],
)
def test_totals_are_exactly_the_requested_stations_and_voters(regions, n_stations, total_voters):
    stations = synthetic_registry(n_stations, total_voters, regions=regions)
    assert len(stations) == n_stations
    assert stations["registered_voters"].sum() == total_voters


def test_every_station_lies_inside_its_declared_region(regions, registry):
    found = region_of_points(regions, registry["lon"], registry["lat"])
    assert (found == registry["region_code"].to_numpy()).all()


def test_coordinates_are_rounded_to_5_decimals(registry):
    for column in ["lat", "lon"]:
        assert np.array_equal(registry[column], registry[column].round(5))


def test_same_seed_gives_an_identical_registry(regions, registry):
    pd.testing.assert_frame_equal(synthetic_registry(regions=regions), registry)


def test_different_seed_gives_a_different_registry(regions, registry):
    other = synthetic_registry(seed=2027, regions=regions)
    assert not other[["lat", "lon"]].equals(registry[["lat", "lon"]])
    assert not other["registered_voters"].equals(registry["registered_voters"])


def test_station_counts_are_within_one_of_the_population_quota(registry):
    counts = registry.groupby("region_code").size()
    total_population = sum(REGION_POPULATION.values())
    for code, population in REGION_POPULATION.items():
        quota = len(registry) * population / total_population
        assert abs(counts[code] - quota) < 1, code


def test_voters_per_region_are_within_one_of_the_population_quota(registry):
    voters = registry.groupby("region_code")["registered_voters"].sum()
    total_population = sum(REGION_POPULATION.values())
    for code, population in REGION_POPULATION.items():
        quota = registry["registered_voters"].sum() * population / total_population
        assert abs(voters[code] - quota) < 1, code


def test_station_ids_are_unique_well_formed_and_sorted(registry):
    ids = registry["station_id"]
    assert ids.is_unique
    assert ids.is_monotonic_increasing
    assert ids.str.fullmatch(r"KAZ0[0-2]\d-\d{4}").all()
    assert (ids.str[:6] == registry["region_code"]).all()


def test_station_numbers_run_from_one_within_each_region(registry):
    numbers = registry["station_id"].str[7:].astype(int)
    for _, group in numbers.groupby(registry["region_code"]):
        assert group.tolist() == list(range(1, len(group) + 1))
    assert (registry["name"] == "Polling station No. " + numbers.astype(str)).all()


def test_station_ids_get_five_digits_when_a_region_has_10000_stations(regions):
    ulytau = regions[regions["region_code"] == "KAZ019"]
    stations = synthetic_registry(10_000, 12_000_000, regions=ulytau)
    assert stations["station_id"].iloc[0] == "KAZ019-00001"
    assert stations["station_id"].iloc[-1] == "KAZ019-10000"


def test_station_sizes_are_typical_and_never_below_50(registry):
    voters = registry["registered_voters"]
    assert voters.min() >= 50
    assert voters.quantile(0.05) >= 300 and voters.quantile(0.95) <= 3000


def test_urban_stations_are_bigger_than_rural_ones(registry):
    rural = registry["settlement"] == "rural"
    assert 0.1 < rural.mean() < 0.4
    urban_median = registry.loc[~rural, "registered_voters"].median()
    assert urban_median > registry.loc[rural, "registered_voters"].median()


def test_voter_floor_gives_way_when_there_are_too_few_voters(regions):
    stations = synthetic_registry(2_000, 40_000, regions=regions)
    assert stations["registered_voters"].sum() == 40_000
    assert stations["registered_voters"].min() >= 1


@pytest.mark.parametrize(
    ("n_stations", "total_voters", "message"),
    [
        (19, 1_000_000, "at least 1"),  # fewer stations than regions
        (1_000, 999, "at least n_stations"),
    ],
)
def test_impossible_sizes_are_refused(regions, n_stations, total_voters, message):
    with pytest.raises(ValueError, match=message):
        synthetic_registry(n_stations, total_voters, regions=regions)


def test_regions_without_known_population_are_refused(regions):
    renamed = regions.assign(region_code=regions["region_code"].str.replace("KAZ", "XYZ"))
    with pytest.raises(ValueError, match="no population known"):
        synthetic_registry(100, regions=renamed)


def test_settlements_are_known_places_or_rural(registry):
    known = set(places_frame()["name"]) | {"rural"}
    assert set(registry["settlement"]) <= known


def test_city_regions_have_no_rural_stations(registry):
    in_cities = registry[registry["region_code"].isin(CITY_REGION_CODES)]
    assert not in_cities.empty
    assert (in_cities["settlement"] != "rural").all()


def test_addresses_name_the_settlement_or_district(registry):
    rural = registry["settlement"] == "rural"
    town = registry[~rural]
    assert all(
        re.fullmatch(rf"School No\. \d+, {re.escape(settlement)}", address)
        for address, settlement in zip(town["address"], town["settlement"], strict=True)
    )
    assert registry.loc[rural, "address"].str.startswith("Village school No. ").all()


# --- CSV --------------------------------------------------------------------------------


def test_csv_round_trip_preserves_the_registry(tmp_path, registry):
    path = tmp_path / "registry.csv"
    write_registry_csv(registry, path)
    pd.testing.assert_frame_equal(read_registry_csv(path), registry)


def test_registry_is_generated_and_saved_when_the_file_is_missing(tmp_path):
    path = tmp_path / "data" / "nested" / "registry.csv"

    generated = registry_path_or_generate(path, n_stations=500, seed=7)

    assert path.is_file()
    assert len(generated) == 500
    pd.testing.assert_frame_equal(read_registry_csv(path), generated)


def test_existing_registry_file_is_read_not_regenerated(tmp_path, registry):
    path = tmp_path / "registry.csv"
    write_registry_csv(registry.head(3), path)

    loaded = registry_path_or_generate(path, n_stations=500, seed=7)

    pd.testing.assert_frame_equal(loaded, registry.head(3))
