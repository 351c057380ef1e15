"""Redeployment: the most priority covered within reach, then the least travel."""

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

from saylau.geo.distance import EARTH_RADIUS_M, haversine_m
from saylau.geo.redeploy import observer_positions, station_priority, suggest_redeployment

BASE = (76.90, 43.20)


def on_meridian(km):
    """A point `km` kilometres north (negative: south) of BASE."""
    return BASE[0], BASE[1] + np.degrees(km * 1000 / EARTH_RADIUS_M)


def observers(**positions_km):
    points = {name: on_meridian(km) for name, km in positions_km.items()}
    return pd.DataFrame({"observer_id": list(points), "lon": [p[0] for p in points.values()],
                         "lat": [p[1] for p in points.values()]})


def stations(**km_and_priority):
    rows = [(name, *on_meridian(km), priority) for name, (km, priority) in km_and_priority.items()]
    return pd.DataFrame(rows, columns=["station_id", "lon", "lat", "priority"])


def pairs(result):
    return dict(zip(result["observer_id"], result["station_id"], strict=True))


def test_optimal_where_greedy_is_wrong():
    # On one meridian: Y (-5 km) … A (0 km, priority 100) … X (1 km) … B (3 km, 90).
    # Greedy sends the nearest free observer to the most important station: X to A; then
    # B is 8 km from Y, beyond the 6 km limit, and stays uncovered (priority 100).
    # Sending Y to A (5 km) and X to B (2 km) covers both (priority 190).
    result = suggest_redeployment(observers(X=1, Y=-5), stations(A=(0, 100.0), B=(3, 90.0)),
                                  max_km=6)

    assert pairs(result) == {"Y": "A", "X": "B"}
    assert result["priority"].sum() == 190
    assert result["distance_km"].round(6).tolist() == [5.0, 2.0]


def test_equal_priority_goes_to_the_shorter_trip_whatever_the_input_order():
    result = suggest_redeployment(observers(X=1), stations(B=(3, 100.0), A=(0, 100.0)),
                                  max_km=10)
    assert pairs(result) == {"X": "A"}


def test_more_priority_beats_a_shorter_trip():
    result = suggest_redeployment(observers(X=0), stations(near=(0.1, 100.0), far=(9, 101.0)),
                                  max_km=10)
    assert pairs(result) == {"X": "far"}


def test_nobody_travels_beyond_the_limit_and_worthless_stations_are_skipped():
    result = suggest_redeployment(observers(X=0, Y=50),
                                  stations(A=(20, 500.0), B=(1, 0.0), C=(49, 10.0)), max_km=10)
    assert pairs(result) == {"Y": "C"}


def test_observers_without_a_position_are_left_out_and_empty_inputs_give_empty_output():
    lost = observers(X=0).assign(lon=np.nan)
    assert suggest_redeployment(lost, stations(A=(0, 1.0)), max_km=10).empty
    empty = suggest_redeployment(observers(X=0), stations(A=(0, 1.0)).iloc[:0], max_km=10)
    assert list(empty.columns) == ["observer_id", "station_id", "distance_km", "priority"]


def brute_force(free, uncovered, max_km):
    """linear_sum_assignment on the whole lexicographic cost: slow but plainly right."""
    km = haversine_m(free["lon"].to_numpy()[:, None], free["lat"].to_numpy()[:, None],
                     uncovered["lon"].to_numpy()[None, :],
                     uncovered["lat"].to_numpy()[None, :]) / 1000
    reachable = km <= max_km
    priority = uncovered["priority"].to_numpy()
    weight = max_km * len(free) + 1.0
    gaps = np.diff(np.unique(priority))
    scale = weight / (gaps.min() if gaps.size else 1.0)
    rows, columns = linear_sum_assignment(np.where(reachable, km - scale * priority, 0.0))
    kept = reachable[rows, columns] & (priority[columns] > 0)
    return priority[columns[kept]].sum(), km[rows[kept], columns[kept]].sum()


def random_case(seed, n_observers, n_stations, priorities):
    rng = np.random.default_rng(seed)
    spread = 0.15  # degrees, about 15 km: some pairs in reach, some not
    free = pd.DataFrame({"observer_id": [f"o{i}" for i in range(n_observers)],
                         "lon": BASE[0] + rng.uniform(0, spread, n_observers),
                         "lat": BASE[1] + rng.uniform(0, spread, n_observers)})
    uncovered = pd.DataFrame({"station_id": [f"s{i}" for i in range(n_stations)],
                              "lon": BASE[0] + rng.uniform(0, spread, n_stations),
                              "lat": BASE[1] + rng.uniform(0, spread, n_stations),
                              "priority": priorities(rng, n_stations)})
    return free, uncovered


PRIORITIES = {
    "distinct": lambda rng, n: rng.uniform(100, 3000, n),
    "few_levels": lambda rng, n: rng.integers(1, 4, n).astype(float),
    "all_equal": lambda rng, n: np.full(n, 7.0),
    "voters": lambda rng, n: rng.integers(300, 320, n).astype(float),
}


@pytest.mark.parametrize("kind", sorted(PRIORITIES))
@pytest.mark.parametrize(("n_observers", "n_stations"), [(3, 5), (8, 30), (25, 12), (40, 90)])
@pytest.mark.parametrize("seed", range(4))
def test_matches_brute_force_on_priority_and_distance(kind, n_observers, n_stations, seed):
    free, uncovered = random_case(seed, n_observers, n_stations, PRIORITIES[kind])

    result = suggest_redeployment(free, uncovered, max_km=6)

    best_priority, best_km = brute_force(free, uncovered, 6)
    assert result["priority"].sum() == pytest.approx(best_priority)
    assert result["distance_km"].sum() == pytest.approx(best_km, abs=1e-6)
    assert result["observer_id"].is_unique and result["station_id"].is_unique
    assert (result["distance_km"] <= 6).all()


def test_many_tied_stations_and_few_observers_still_minimise_distance():
    # Two observers, twenty equally important stations, all in reach: the nearest two.
    free = observers(X=0, Y=10)
    uncovered = stations(**{f"s{k}": (k * 0.7, 5.0) for k in range(20)})

    result = suggest_redeployment(free, uncovered, max_km=30)

    assert pairs(result) == {"X": "s0", "Y": "s14"}  # 9.8 km from s0, 0.2 km from Y


def test_positions_come_from_the_fix_or_else_the_last_station():
    known = stations(A=(0, 1.0), B=(4, 1.0))
    free = pd.DataFrame({"observer_id": ["X", "Y"], "last_station": ["A", "B"],
                         "lon": [77.5, np.nan], "lat": [43.5, np.nan]})

    placed = observer_positions(free, known)

    assert placed[["lon", "lat"]].to_numpy().tolist() == [
        [77.5, 43.5], list(known.loc[1, ["lon", "lat"]])]


def test_priority_adds_weight_for_incidents_nearby():
    known = pd.DataFrame({"station_id": ["A", "B"], "lon": [76.9, 77.9], "lat": [43.2, 43.2],
                          "registered_voters": [1000, 1000]})
    incidents = pd.DataFrame({"lon": [76.91, 76.92, 80.0], "lat": [43.2, 43.2, 43.2]})

    priority = station_priority(known, incidents, radius_km=5, incident_weight=250)

    assert priority.tolist() == [1500.0, 1000.0]
