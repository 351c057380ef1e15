"""Incidents cluster where the scenario put them: hotspot regions and large employers' towns."""

import math
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from saylau.core.contract import INCIDENT_CATEGORIES
from saylau.ingest.simulator import NO_NOISE, Scenario
from tests.ingest.simulated import REGISTRY, write


@pytest.fixture(scope="module")
def day():
    # Many incidents per station, so 300 stations give a clear picture.
    with tempfile.TemporaryDirectory() as folder:
        yield write(REGISTRY, Scenario(seed=5, noise=NO_NOISE, incident_rate=3.0), Path(folder))


def near_a_town(station_id, towns):
    row = REGISTRY.set_index("station_id").loc[station_id]
    for town in towns:
        dx = (row["lon"] - town["lon"]) * math.cos(math.radians(town["lat"]))
        if math.hypot(dx, row["lat"] - town["lat"]) * 111.32 <= town["radius_km"]:
            return True
    return False


def test_employer_pressure_clusters_around_large_employers_towns(day):
    towns = day.truth["incidents"]["employer_towns"]
    counts = {True: Counter(), False: Counter()}
    for incident in day.of_kind("incident"):
        near = near_a_town(incident["station_id"], towns)
        counts[near][incident["category"] == "employer_pressure"] += 1
    share_near = counts[True][True] / sum(counts[True].values())
    share_elsewhere = counts[False][True] / sum(counts[False].values())
    assert share_near > 3 * share_elsewhere


def test_every_category_of_the_contract_is_reported(day):
    assert {e["category"] for e in day.of_kind("incident")} == set(INCIDENT_CATEGORIES)


def test_hotspot_regions_report_more_incidents_per_observer(day):
    hotspots = set(day.truth["incidents"]["hotspot_regions"])
    observers = Counter(e["station_id"][:6] in hotspots
                        for e in day.of_kind("checkin", role="observer"))
    incidents = Counter(e["station_id"][:6] in hotspots for e in day.of_kind("incident"))
    assert incidents[True] / observers[True] > 2 * incidents[False] / observers[False]


def test_administrative_resource_misuse_is_commoner_in_hotspots(day):
    hotspots = set(day.truth["incidents"]["hotspot_regions"])
    share = {}
    for hot in (True, False):
        categories = Counter(e["category"] for e in day.of_kind("incident")
                             if (e["station_id"][:6] in hotspots) == hot)
        share[hot] = categories["admin_resource"] / sum(categories.values())
    assert share[True] > 1.5 * share[False]
