"""Voters added to the lists on the day (Scenario.day_additions): honest additions everywhere,
carousel voters on top; without the setting the protocol's list is the registry's."""

import json

import numpy as np
import pytest

from saylau.core.election import Election
from saylau.geo.registry import synthetic_registry
from saylau.ingest.simulator import NO_NOISE, Scenario, simulate_day
from saylau.ingest.simulator.variants import VARIANTS

REGISTRY = synthetic_registry(600, 540_000, seed=5)
CAROUSEL_ONLY = tuple(1.0 if name == "carousel" else 0.0 for name in VARIANTS)


def official_lists(scenario: Scenario) -> tuple[dict[str, int], dict]:
    day = simulate_day(REGISTRY, Election(), scenario)
    lists = {}
    for message in day.messages():
        event = json.loads(message.value)
        if event["kind"] == "protocol" and event["source"] == "official":
            lists[event["station_id"]] = event["registered"]
    return lists, day.truth


def registry_lists() -> dict[str, int]:
    return dict(zip(REGISTRY["station_id"], REGISTRY["registered_voters"], strict=True))


def test_without_day_additions_the_protocol_list_is_the_registry_s():
    lists, _ = official_lists(Scenario(seed=3, noise=NO_NOISE))
    assert lists == registry_lists()


@pytest.fixture(scope="module")
def carousel_day() -> tuple[dict[str, int], dict]:
    return official_lists(Scenario(seed=3, noise=NO_NOISE, falsified_share=0.05,
                                   variant_mix=CAROUSEL_ONLY, day_additions=0.02))


def test_honest_stations_add_about_the_mean_share_and_never_shrink(carousel_day):
    lists, truth = carousel_day
    before = registry_lists()
    carousel = {s["station_id"] for s in truth["falsification"]["stations"]}
    added = np.array([(lists[s] - before[s]) / before[s] for s in lists if s not in carousel])
    assert (added >= 0).all()
    assert added.mean() == pytest.approx(0.02, abs=0.004)
    assert added.std() > 0.005  # places differ


def test_carousel_voters_join_the_list_as_many_as_the_ballots_they_added(carousel_day):
    lists, truth = carousel_day
    before = registry_lists()
    stations = truth["falsification"]["stations"]
    assert stations and {s["variant"] for s in stations} == {"carousel"}
    for station in stations:
        added = lists[station["station_id"]] - before[station["station_id"]]
        assert added >= station["added_ballots"] > 0
