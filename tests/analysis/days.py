"""Simulated days as the analysis gets them: protocol tables like the warehouse's, with truth."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from saylau.ingest.simulator import NO_NOISE, Scenario, simulate_day
from tests.ingest.simulated import ELECTION, small_registry

PROTOCOL_COLUMNS = ["station_id", "region_code", "source", "registered", "ballots_received",
                    "ballots_issued", "ballots_cast", "invalid", "votes"]


@dataclass
class Day:
    protocols: pd.DataFrame  # latest_protocols' shape: both sources
    exitpolls: pd.DataFrame  # exitpoll_tallies' shape: region_code, station_id, option, answers
    truth: dict[str, Any]
    true_protocols: pd.DataFrame  # per station, as counted before any falsification
    population: dict[str, int]  # stations per region

    def official(self) -> pd.DataFrame:
        return self.protocols[self.protocols["source"] == "official"].reset_index(drop=True)

    def falsified(self, kind: str) -> set[str]:
        return {s["station_id"] for s in self.truth["falsification"]["stations"]
                if s["kind"] == kind}


def simulated(seed: int, stations: int = 400, falsified_share: float = 0.03) -> Day:
    registry = small_registry(stations)
    day = simulate_day(registry, ELECTION, Scenario(seed=seed, noise=NO_NOISE,
                                                    falsified_share=falsified_share))
    region = dict(zip(registry["station_id"], registry["region_code"], strict=True))
    protocols, polls = [], []
    for message in day.messages():
        event = json.loads(message.value)
        if event["kind"] == "protocol":
            protocols.append({**event, "region_code": region[event["station_id"]]})
        elif event["kind"] == "exitpoll":
            polls.extend((region[event["station_id"]], event["station_id"], option, count)
                         for option, count in event["choices"].items())
    frame = pd.DataFrame(protocols)[PROTOCOL_COLUMNS]
    exitpolls = (pd.DataFrame(polls, columns=["region_code", "station_id", "option", "answers"])
                 .groupby(["region_code", "station_id", "option"], as_index=False).sum())
    true = frame[frame["source"] == "official"].set_index("station_id").copy()
    for station in day.truth["falsification"]["stations"]:
        for name, value in station["true"].items():
            true.at[station["station_id"], name] = value
    population = registry["region_code"].value_counts().to_dict()
    return Day(frame, exitpolls, day.truth, true.reset_index(), population)
