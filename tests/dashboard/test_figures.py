"""Figure builders: one station snapshot in, region table, headline and map out."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saylau.dashboard.aggregate import POINT_LIMIT, grid_cells, points_or_cells
from saylau.dashboard.figures import (
    COVERED_COLOUR,
    UNCOVERED_COLOUR,
    coverage_gap_map,
    incident_density_map,
    turnout_map,
)
from saylau.warehouse.state import Headline, headline, region_summary, sums_by

REGION_NAMES = {"KAZ001": "Abai", "KAZ002": "Akmola", "KAZ003": "Aktobe"}
STATE_COLUMNS = ["station_id", "region_code", "lat", "lon", "registered_voters", "ballots",
                 "covered"]


def state_of(rows: list[tuple]) -> pd.DataFrame:
    """Stations as (station_id, region_code, registered_voters, ballots, covered)."""
    frame = pd.DataFrame(rows, columns=["station_id", "region_code", "registered_voters",
                                        "ballots", "covered"])
    frame["lat"] = 48.0 + frame.index * 0.01
    frame["lon"] = 67.0 + frame.index * 0.01
    return frame[STATE_COLUMNS]


STATE = state_of([
    ("KAZ002-0001", "KAZ002", 1000, 500, 1),
    ("KAZ001-0001", "KAZ001", 3, 1, 1),
    ("KAZ002-0002", "KAZ002", 2000, 0, 0),
    ("KAZ003-0001", "KAZ003", 0, 0, 0),
    ("KAZ001-0002", "KAZ001", 0, 0, 1),
    ("KAZ004-0001", "KAZ004", 600, 400, 0),
])
GEOJSON = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"region_code": code, "name": name},
     "geometry": {"type": "Polygon", "coordinates": [[[60, 40], [61, 40], [61, 41], [60, 40]]]}}
    for code, name in REGION_NAMES.items()]}


def empty_state() -> pd.DataFrame:
    dtypes = {"station_id": "str", "region_code": "str", "lat": "float64", "lon": "float64",
              "registered_voters": "int64", "ballots": "int64", "covered": "int64"}
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in dtypes.items()})


# --- region_summary -----------------------------------------------------------------------


def test_region_summary_totals_equal_the_sum_over_stations():
    summary = region_summary(STATE, REGION_NAMES)
    assert summary["stations"].sum() == len(STATE)
    assert summary["covered"].sum() == STATE["covered"].sum()
    assert summary["registered"].sum() == STATE["registered_voters"].sum()
    assert summary["ballots"].sum() == STATE["ballots"].sum()


def test_region_summary_has_one_row_per_region_in_code_order():
    summary = region_summary(STATE, REGION_NAMES)
    assert summary["region_code"].tolist() == ["KAZ001", "KAZ002", "KAZ003", "KAZ004"]
    assert summary.index.tolist() == [0, 1, 2, 3]
    kaz002 = summary.set_index("region_code").loc["KAZ002"]
    assert (kaz002["stations"], kaz002["covered"], kaz002["registered"], kaz002["ballots"]) \
        == (2, 1, 3000, 500)


def test_region_summary_names_regions_and_falls_back_to_the_code():
    summary = region_summary(STATE, REGION_NAMES)
    assert summary["region_name"].tolist() == ["Abai", "Akmola", "Aktobe", "KAZ004"]


@pytest.mark.parametrize(("ballots", "registered", "percent"), [
    (1, 3, 33.3),
    (2, 3, 66.7),
    (500, 3000, 16.7),
    (1, 1000, 0.1),
    (4, 10_000, 0.0),
    (6, 10_000, 0.1),
    (0, 100, 0.0),
    (100, 100, 100.0),
    (0, 0, 0.0),  # a region with no registered voters shows 0, not NaN
    (5, 0, 0.0),
])
def test_region_turnout_percent_is_rounded_to_one_decimal(ballots, registered, percent):
    summary = region_summary(state_of([("S1", "KAZ001", registered, ballots, 1)]), {})
    assert summary["turnout_pct"].tolist() == [percent]


def test_region_summary_turnout_is_computed_from_region_totals_not_averaged():
    state = state_of([("S1", "KAZ001", 100, 100, 1), ("S2", "KAZ001", 900, 0, 1)])
    assert region_summary(state, {})["turnout_pct"].tolist() == [10.0]


def test_region_summary_of_no_stations_is_empty():
    summary = region_summary(empty_state(), REGION_NAMES)
    assert summary.empty
    assert {"region_code", "stations", "turnout_pct", "region_name"} <= set(summary.columns)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["KAZ001", "KAZ002", "KAZ003"]),
                          st.integers(0, 5000), st.integers(0, 5000), st.integers(0, 1)),
                min_size=1, max_size=30))
def test_region_summary_always_adds_up_to_the_headline(stations):
    state = state_of([(f"S{n}", region, registered, min(ballots, registered), covered)
                      for n, (region, registered, ballots, covered) in enumerate(stations)])
    summary, numbers = region_summary(state, REGION_NAMES), headline(state)
    assert summary["stations"].sum() == numbers.stations
    assert summary["covered"].sum() == numbers.covered
    assert summary["registered"].sum() == numbers.registered
    assert summary["ballots"].sum() == numbers.ballots
    assert summary["turnout_pct"].between(0, 100).all()


# --- headline -----------------------------------------------------------------------------


def test_headline_counts_stations_coverage_voters_and_ballots():
    assert headline(STATE) == Headline(stations=6, covered=3, registered=3603, ballots=901)


def test_headline_values_are_plain_ints():
    numbers = headline(STATE)
    assert all(type(value) is int for value in
               (numbers.stations, numbers.covered, numbers.registered, numbers.ballots))


@pytest.mark.parametrize(("ballots", "registered", "percent"), [
    (901, 3603, 25.0),
    (1, 3, 33.3),
    (2, 3, 66.7),
    (0, 0, 0.0),
    (7_654_321, 12_000_000, 63.8),
])
def test_headline_turnout_percent(ballots, registered, percent):
    assert Headline(1, 1, registered, ballots).turnout_pct == percent


def test_headline_of_no_stations_is_all_zero():
    numbers = headline(empty_state())
    assert numbers == Headline(0, 0, 0, 0)
    assert numbers.turnout_pct == 0.0


# --- turnout_map --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def figure():
    return turnout_map(GEOJSON, region_summary(STATE, REGION_NAMES), STATE)


def test_map_colours_regions_by_the_summary_turnout(figure):
    summary = region_summary(STATE, REGION_NAMES)
    (choropleth,) = [trace for trace in figure.data if trace.type == "choroplethmap"]
    assert list(choropleth.z) == summary["turnout_pct"].tolist()
    assert list(choropleth.locations) == summary["region_code"].tolist()
    assert choropleth.featureidkey == "properties.region_code"
    assert (choropleth.zmin, choropleth.zmax) == (0, 100)


def test_map_shows_every_station_once_coloured_by_coverage(figure):
    points = [trace for trace in figure.data if trace.type == "scattermap"]
    by_colour = {trace.marker.color: sorted(trace.text) for trace in points}
    assert by_colour == {
        COVERED_COLOUR: sorted(STATE.loc[STATE["covered"] == 1, "station_id"]),
        UNCOVERED_COLOUR: sorted(STATE.loc[STATE["covered"] == 0, "station_id"]),
    }


def test_map_needs_no_tile_server(figure):
    assert figure.layout.map.style == "white-bg"
    assert not figure.layout.map.layers


def test_map_has_no_text_labels_which_would_fetch_fonts(figure):
    for trace in figure.data:
        assert "text" not in (getattr(trace, "mode", None) or ""), trace.type
    assert not figure.layout.annotations


def test_map_serialises_to_json(figure):
    assert json.loads(figure.to_json())["data"][0]["type"] == "choroplethmap"


def test_map_of_no_stations_still_builds():
    state = empty_state()
    figure = turnout_map(GEOJSON, region_summary(state, REGION_NAMES), state)
    assert [trace.type for trace in figure.data] == ["choroplethmap", "scattermap", "scattermap"]
    assert figure.layout.map.style == "white-bg"


# --- aggregation and the wall's other maps -------------------------------------------------



def many_stations(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "station_id": [f"S{i:07d}" for i in range(n)],
        "region_code": rng.choice(["KAZ001", "KAZ002", "KAZ003"], n),
        "lat": rng.uniform(41, 55, n), "lon": rng.uniform(47, 87, n),
        "registered_voters": rng.integers(50, 3000, n), "ballots": rng.integers(0, 50, n),
        "covered": rng.integers(0, 2, n)})


def test_grid_cells_add_up_to_the_stations():
    stations = many_stations(5_000)
    cells = grid_cells(stations, ["registered_voters", "covered"], cell_deg=0.5)
    assert cells["points"].sum() == len(stations)
    assert cells["registered_voters"].sum() == stations["registered_voters"].sum()
    assert cells["covered"].sum() == stations["covered"].sum()
    assert len(cells) < len(stations)


def test_grid_cell_centres_hold_their_stations():
    stations = pd.DataFrame({"lat": [48.1, 48.2, 49.9], "lon": [67.1, 67.2, 67.1],
                             "registered_voters": [10, 20, 30]})
    cells = grid_cells(stations, ["registered_voters"], cell_deg=1.0).sort_values("lat")
    assert cells[["lat", "lon", "points", "registered_voters"]].values.tolist() == [
        [48.5, 67.5, 2, 30], [49.5, 67.5, 1, 30]]


def test_grid_cells_refuse_a_cell_of_no_size():
    with pytest.raises(ValueError, match="cell_deg"):
        grid_cells(STATE, cell_deg=0)


def test_points_are_drawn_one_by_one_up_to_the_limit_then_aggregated():
    shown, aggregated = points_or_cells(many_stations(100), limit=100)
    assert not aggregated and len(shown) == 100 and set(shown["points"]) == {1}
    shown, aggregated = points_or_cells(many_stations(101), ["covered"], limit=100)
    assert aggregated and shown["points"].sum() == 101


def test_ten_thousand_stations_are_ten_thousand_points_on_the_map():
    stations = many_stations(10_000)
    figure = turnout_map(GEOJSON, region_summary(stations, REGION_NAMES), stations)
    points = [t for t in figure.data if t.type == "scattermap"]
    assert sum(len(t.lat) for t in points) == 10_000


def test_more_stations_than_the_limit_are_drawn_as_grid_cells():
    stations = many_stations(POINT_LIMIT + 1)
    figure = turnout_map(GEOJSON, region_summary(stations, REGION_NAMES), stations)
    (cells,) = [t for t in figure.data if t.type == "scattermap"]
    assert len(cells.lat) < POINT_LIMIT
    assert sum(row[0] for row in cells.customdata) == POINT_LIMIT + 1
    assert sum(row[1] for row in cells.customdata) == stations["covered"].sum()


def test_density_map_shows_verified_and_unverified_apart():
    density = pd.DataFrame({"region_code": ["KAZ001", "KAZ002"], "verified": [1, 0],
                            "unverified": [2, 0], "voters": [10_000, 5_000],
                            "per_10k": [3.0, 0.0]})
    at_stations = pd.DataFrame({"station_id": ["a", "b"], "region_code": ["KAZ001"] * 2,
                                "lat": [48.0, 49.0], "lon": [67.0, 68.0],
                                "registered_voters": [5_000, 5_000], "verified": [1, 0],
                                "unverified": [0, 2]})
    figure = incident_density_map(GEOJSON, density, at_stations, REGION_NAMES)
    by_name = {t.name: t for t in figure.data}
    assert list(by_name["per 10,000 voters"].z) == [3.0, 0.0]
    assert list(by_name["verified"].lat) == [48.0]
    assert list(by_name["unverified"].lat) == [49.0]
    assert figure.layout.map.style == "white-bg"


def test_gap_map_draws_only_uncovered_stations():
    gaps = pd.DataFrame({"region_code": ["KAZ001"], "stations": [2], "uncovered": [1],
                         "voters": [100], "uncovered_voters": [40], "uncovered_share": [0.4]})
    figure = coverage_gap_map(GEOJSON, gaps, STATE, REGION_NAMES)
    (choropleth,) = [t for t in figure.data if t.type == "choroplethmap"]
    assert list(choropleth.z) == [40.0]
    (points,) = [t for t in figure.data if t.type == "scattermap"]
    assert len(points.lat) == int((STATE["covered"] == 0).sum())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["KAZ003", "KAZ001", "KAZ002", None]),
                          st.integers(0, 5_000), st.booleans()), max_size=40))
def test_sums_by_equals_a_pandas_groupby(rows):
    """The fast per-region sums are a groupby's: sorted keys, a missing key counted nowhere,
    int64 totals, the empty case included."""
    frame = pd.DataFrame(rows, columns=["region_code", "voters", "covered"])
    frame = frame.astype({"region_code": "str", "voters": "int64", "covered": "int64"})
    expected = frame.groupby("region_code").agg(rows=("voters", "size"),
                                                voters=("voters", "sum"),
                                                covered=("covered", "sum"))
    sums = sums_by(frame["region_code"], {"voters": frame["voters"],
                                          "covered": frame["covered"].to_numpy(dtype=bool)})
    pd.testing.assert_frame_equal(sums, expected.astype("int64"), check_index_type=False)
