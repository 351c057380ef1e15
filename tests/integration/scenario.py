"""A small election day with one instance of every rule and alert, and quiet controls.

Each attribute ending in ``expected_…`` is what the warehouse must hold afterwards.
"""

from __future__ import annotations

import pandas as pd

from tests.integration.events import at, encode, event

PARTIES = {"amanat": 0, "auyl": 0, "respublica": 0, "against_all": 0}


def protocol(station: str, source: str, votes: dict[str, int], invalid: int = 5,
             observer: str = "obs-p") -> dict:
    cast = sum(votes.values()) + invalid
    return event("protocol", station, at(21), observer, source=source, registered=cast + 100,
                 ballots_received=cast + 100, ballots_issued=cast, ballots_cast=cast,
                 invalid=invalid, votes=votes)


class ScenarioDay:
    def __init__(self, registry: pd.DataFrame) -> None:
        self.registry = registry
        by_region = registry.groupby("region_code")["station_id"].apply(list)
        self.hot, self.calm = by_region.index[0], by_region.index[1]
        self.hot_stations, self.calm_stations = by_region.iloc[0], by_region.iloc[1]
        s = registry["station_id"].tolist()
        self.s = s
        self.messages: list[dict | bytes] = []
        self._coverage(s)
        self._turnout(s)
        self._incidents()
        self._exitpolls(s)
        self._protocols(s)
        self._invalid(s)

    def add(self, *messages: dict | bytes) -> None:
        self.messages.extend(messages)

    def _coverage(self, s: list[str]) -> None:
        # s[0..9] covered by 07:20; s[10] checks in late (08:00); s[11] removed at 12:00;
        # s[12] assigned at 09:00 (en route); the rest never covered.
        for i in range(10):
            self.add(event("checkin", s[i], at(7, 20), f"obs-{i}", role="observer"))
        self.add(event("checkin", s[10], at(8), "obs-10", role="observer"))
        self.add(event("checkin", s[11], at(6, 50), "obs-11", role="observer"),
                 event("checkout", s[11], at(12), "obs-11", reason="removed"))
        self.add(event("assignment", s[12], at(9), "obs-12", assigned_by="lead-1",
                       target_station_id=s[12]))
        self.expected_coverage = {s[0]: "present", s[10]: "present", s[11]: "removed",
                                  s[12]: "en_route", s[13]: "absent"}
        covered_by_deadline = set(s[:10]) | {s[11]}
        self.expected_uncovered = set(s) - covered_by_deadline

    def _turnout(self, s: list[str]) -> None:
        voters = dict(zip(self.registry["station_id"], self.registry["registered_voters"],
                          strict=True))
        tenth = voters[s[1]] // 10
        # s[1]: steady 10% an hour, sent out of order; s[2]: jumps 30% between 10 and 11;
        # s[3]: goes down at 12:00.
        steady = [(9, 1), (12, 4), (10, 2), (11, 3)]
        self.add(*[event("turnout", s[1], at(h), "obs-1", ballots_issued=tenth * k)
                   for h, k in steady])
        third = voters[s[2]] * 3 // 10
        self.add(event("turnout", s[2], at(10), "obs-2", ballots_issued=10),
                 event("turnout", s[2], at(11), "obs-2", ballots_issued=10 + third))
        self.add(event("turnout", s[3], at(11), "obs-3", ballots_issued=50),
                 event("turnout", s[3], at(12), "obs-3", ballots_issued=40))
        self.expected_ballots = {s[1]: tenth * 4, s[2]: 10 + third, s[3]: 40}

    def _incidents(self) -> None:
        hot = [event("incident", self.hot_stations[0], at(11, m), "obs-h",
                     category="carousel_voting", severity=2) for m in (0, 3, 6, 9, 12)]
        calm = [event("incident", self.calm_stations[0], at(11, m), "obs-c",
                      category="other", severity=1) for m in (0, 18, 36, 54)]
        self.add(*hot, *calm)
        self.add(event("review", self.hot_stations[0], at(12), "hq-1",
                       incident_id=hot[0]["event_id"], verdict="verified", reviewer_id="hq-1"),
                 event("review", self.hot_stations[0], at(12, 5), "hq-1",
                       incident_id=hot[1]["event_id"], verdict="rejected", reviewer_id="hq-1"))
        self.expected_status = {hot[0]["event_id"]: "verified", hot[1]["event_id"]: "rejected",
                                hot[2]["event_id"]: "unverified"}

    def _exitpolls(self, s: list[str]) -> None:
        for hour, choices in ((12, {"amanat": 10, "auyl": 5, "against_all": 3, "refused": 2}),
                              (13, {"amanat": 8, "against_all": 4, "undecided": 1})):
            self.add(event("exitpoll", s[4], at(hour), "pollster-1",
                           window_start=at(hour - 1), window_end=at(hour),
                           interviews=sum(choices.values()), choices=choices))
        self.expected_exitpoll = {"amanat": 18, "auyl": 5, "against_all": 7, "refused": 2,
                                  "undecided": 1}

    def _protocols(self, s: list[str]) -> None:
        same = {"amanat": 300, "auyl": 200, "against_all": 20}
        self.add(protocol(s[5], "observer_copy", same), protocol(s[5], "official", same))
        self.add(protocol(s[6], "observer_copy", same),
                 protocol(s[6], "official", {**same, "amanat": 400, "auyl": 100}))
        self.expected_mismatch = {s[6]}

    def _invalid(self, s: list[str]) -> None:
        bad = {
            "invalid_json": [b"{oops"],
            "invalid_event": [encode(event("incident", s[0], at(9), category="x", severity=1))],
            "unknown_station": [encode(event("checkin", "KAZ999-9999", at(9)))],
            "outside_election_day": [encode(event("checkin", s[0], "2026-03-13T09:00:00+05:00"))],
            "turnout_above_registered": [encode(event("turnout", s[0], at(9),
                                                      ballots_issued=10_000_000))],
            "unknown_choice": [encode(event("exitpoll", s[4], at(14), window_start=at(13),
                                            window_end=at(14), interviews=1,
                                            choices={"martians": 1}))],
            "invalid_window": [encode(event("exitpoll", s[4], at(14), window_start=at(14),
                                            window_end=at(13), interviews=1,
                                            choices={"amanat": 1}))],
            "exitpoll_arithmetic": [encode(event("exitpoll", s[4], at(14), window_start=at(13),
                                                 window_end=at(14), interviews=5,
                                                 choices={"amanat": 1}))],
            "unknown_option": [encode(protocol(s[7], "official", {"martians": 5}))],
            "protocol_arithmetic": [encode({**protocol(s[7], "official", {"amanat": 5}),
                                            "ballots_cast": 99})],
        }
        self.expected_rejected = {reason: len(values) for reason, values in bad.items()}
        for values in bad.values():
            self.add(*values)

    def expected_alert_keys(self) -> set[tuple[str, str]]:
        """(kind, station or region) of every alert that must hold at the end."""
        keys = {("incident_burst", self.hot), ("turnout_jump", self.s[2]),
                ("turnout_decrease", self.s[3]), ("observer_removed", self.s[11])}
        keys |= {("protocol_mismatch", station) for station in self.expected_mismatch}
        keys |= {("station_uncovered", station) for station in self.expected_uncovered}
        return keys
