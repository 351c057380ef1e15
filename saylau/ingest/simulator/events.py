"""The day's events as tables, one per form, built from the world, the people and the
falsification. Each builder returns columns; ids come from one generator in table order."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from saylau.core.contract import INCIDENT_CATEGORIES
from saylau.core.election import NON_VOTE_ANSWERS
from saylau.ingest.simulator.clock import HOUR, MINUTE, uniform_seconds
from saylau.ingest.simulator.encoding import Form, Table, counts_template, random_uuids
from saylau.ingest.simulator.falsification import Falsification
from saylau.ingest.simulator.incidents import incident_tables
from saylau.ingest.simulator.people import OBSERVER, POLLSTER, REASONS, ROLES, People
from saylau.ingest.simulator.scenario import Scenario
from saylau.ingest.simulator.world import World

PROTOCOL_SOURCES = ("observer_copy", "official")
NOTES = ("nearest free observer sent to an uncovered station",)
UNDERCOUNT = 0.02  # observers miss up to this share of voters in their counts
REFUSED, UNDECIDED = 0.08, 0.04  # exit-poll answers that are not a vote
OFFICIAL_LAG = (2 * MINUTE, 20 * MINUTE)  # the commission publishes turnout a bit later

Ints = npt.NDArray[np.int64]
Columns = dict[str, npt.NDArray[Any]]


def forms(options: tuple[str, ...]) -> dict[str, Form]:
    """Every form of event the simulator sends, for this ballot."""
    answers = (*options, *NON_VOTE_ANSWERS)
    categories = tuple(INCIDENT_CATEGORIES)
    incident = ',"category":"%s","severity":%d,"description":"%s"'
    incident_fields = (("category", categories), ("severity", "int"),
                       ("description", _descriptions()))
    all_forms = [
        Form("checkin", "checkin", ',"location":{"lat":%r,"lon":%r,"accuracy_m":%d},"role":"%s"',
             (("lat", "float"), ("lon", "float"), ("accuracy", "int"), ("role", ROLES))),
        Form("checkout", "checkout", ',"role":"%s","reason":"%s"',
             (("role", ROLES), ("reason", REASONS))),
        Form("turnout_count", "turnout", ',"ballots_issued":%d,"source":"observer_count"',
             (("ballots", "int"),)),
        Form("turnout_official", "turnout",
             ',"ballots_issued":%d,"registered_voters":%d,"source":"official"',
             (("ballots", "int"), ("registered", "int"))),
        Form("incident", "incident", incident, incident_fields),
        Form("incident_photo", "incident",
             incident + ',"media":[{"sha256":"%s","mime":"image/jpeg"}]',
             (*incident_fields, ("photo", "hex"))),
        Form("review", "review", ',"incident_id":"%s","verdict":"%s","reviewer_id":"%s"',
             (("incident_id", "uuid"), ("verdict", ("verified", "rejected", "duplicate")),
              ("actor", "actor"))),
        Form("exitpoll", "exitpoll",
             ',"window_start":"%s","window_end":"%s","interviews":%d,"choices":'
             + counts_template(answers),
             (("window_start", "time"), ("window_end", "time"), ("interviews", "int"),
              ("choices", "matrix"))),
        Form("protocol", "protocol",
             ',"source":"%s","registered":%d,"ballots_received":%d,"ballots_issued":%d,'
             '"ballots_cast":%d,"invalid":%d,"votes":' + counts_template(options),
             (("source", PROTOCOL_SOURCES), ("registered", "int"), ("received", "int"),
              ("issued", "int"), ("cast", "int"), ("invalid", "int"), ("votes", "matrix"))),
        Form("assignment", "assignment", ',"assigned_by":"%s","target_station_id":"%s",'
             '"note":"%s"', (("lead", "actor"), ("target", "station"), ("note", NOTES))),
    ]
    return {form.name: form for form in all_forms}


def _descriptions() -> tuple[str, ...]:
    return tuple(f"simulated report: {category.replace('_', ' ')}"
                 for category in INCIDENT_CATEGORIES)


def build_tables(world: World, people: People, falsification: Falsification,
                 scenario: Scenario, rng: np.random.Generator,
                 ids: np.random.Generator) -> list[Table]:
    """Every event of the day, table by table (the order fixes the event ids)."""
    shapes = forms(world.options)
    stints = people.stints
    columns: dict[str, Columns] = {
        "checkin": _checkins(world, people, rng),
        "checkout": {"station": stints.station, "actor": stints.actor, "at": stints.end,
                     "role": stints.role, "reason": stints.reason},
        "turnout_count": _observer_counts(world, people, falsification, scenario, rng),
        "turnout_official": _official_turnout(world, falsification, people),
        "exitpoll": _exit_polls(world, people, scenario, rng),
        "protocol": _protocols(world, people, falsification, rng),
        "assignment": {"station": people.moves.station, "actor": people.moves.actor,
                       "at": people.moves.at, "lead": people.moves.lead,
                       "target": people.moves.target,
                       "note": np.zeros(people.moves.at.size, dtype=np.int64)},
    }
    tables = []
    for name, table_columns in columns.items():
        table_columns["event_id"] = random_uuids(ids, table_columns["at"].size)
        lag = OFFICIAL_LAG if name == "turnout_official" else (0, 0)
        tables.append(Table(shapes[name], table_columns, lag))
    tables.extend(incident_tables(world, people, falsification, scenario, rng, ids, shapes))
    return tables


def _checkins(world: World, people: People, rng: np.random.Generator) -> Columns:
    """Check-ins carry the phone's position: a few metres from the station."""
    stints = people.stints
    count = len(stints)
    jitter = rng.normal(0, 0.0003, (2, count))
    return {"station": stints.station, "actor": stints.actor, "at": stints.start,
            "role": stints.role,
            "lat": np.clip(np.rint((world.lat[stints.station] + jitter[0]) * 1e5) / 1e5, -90, 90),
            "lon": np.clip(np.rint((world.lon[stints.station] + jitter[1]) * 1e5) / 1e5,
                           -180, 180),
            "accuracy": rng.integers(5, 51, count)}


def _hour_marks(world: World) -> Ints:
    """The end of every voting hour, the close included."""
    opens, closes = world.clock.opens, world.clock.closes
    hours = -(-(closes - opens) // HOUR)
    return np.minimum(opens + HOUR * np.arange(1, hours + 1), closes)


def _observer_counts(world: World, people: People, falsification: Falsification,
                     scenario: Scenario, rng: np.random.Generator) -> Columns:
    """Each observer counts voters at about every hour mark while present."""
    stints = people.stints.take(np.nonzero(people.stints.role == OBSERVER)[0])
    marks = _hour_marks(world)
    at = marks[None, :] + uniform_seconds(rng, 0, 10 * MINUTE, (len(stints), marks.size))
    sent = ((at >= stints.start[:, None]) & (at <= stints.end[:, None])
            & (rng.random(at.shape) >= scenario.missed_report))
    row, _ = np.nonzero(sent)
    station, at = stints.station[row], at[sent]
    undercount = rng.uniform(0, UNDERCOUNT, world.n)
    voters = world.issued_by(station, at) + falsification.carousel_by(world, station, at)
    ballots = np.floor(voters * (1 - undercount[station]))
    return {"station": station, "actor": stints.actor[row], "at": at,
            "ballots": ballots.astype(np.int64)}


def _official_turnout(world: World, falsification: Falsification,
                      people: People) -> Columns:
    """The commission's figure for every station at every reporting time."""
    times = world.clock.reporting
    station = np.repeat(np.arange(world.n), times.size)
    at = np.tile(times, world.n)
    return {"station": station, "actor": np.full(station.size, people.commission), "at": at,
            "ballots": falsification.official_issued_by(world, station, at),
            "registered": world.registered[station]}


def _exit_polls(world: World, people: People, scenario: Scenario,
                rng: np.random.Generator) -> Columns:
    """Hourly batches of interviews; answers follow the station's true vote."""
    stints = people.stints.take(np.nonzero(people.stints.role == POLLSTER)[0])
    ends = _hour_marks(world)
    starts = np.concatenate([[world.clock.opens], ends[:-1]])
    station = np.repeat(stints.station, ends.size)
    window_start, window_end = np.tile(starts, len(stints)), np.tile(ends, len(stints))
    voters = world.issued_by(station, window_end) - world.issued_by(station, window_start)
    interviews = rng.binomial(voters, scenario.exitpoll_response)
    valid = np.maximum(world.votes[station].sum(axis=1, keepdims=True), 1)
    shares = np.hstack([world.votes[station] / valid * (1 - REFUSED - UNDECIDED),
                        np.broadcast_to([REFUSED, UNDECIDED], (station.size, 2))])
    choices = rng.multinomial(interviews, shares) if station.size else \
        np.zeros((0, shares.shape[1]), dtype=np.int64)
    return {"station": station, "actor": np.repeat(stints.actor, ends.size),
            "at": window_end + uniform_seconds(rng, MINUTE, 4 * MINUTE, station.size),
            "window_start": window_start, "window_end": window_end,
            "interviews": interviews, "choices": choices.astype(np.int64)}


def _protocols(world: World, people: People, falsification: Falsification,
               rng: np.random.Generator) -> Columns:
    """Observer copies at the count, then the commission's official protocol everywhere."""
    stints = people.stints
    copy = np.nonzero(stints.closing)[0]
    copied = stints.station[copy]
    copy_issued, copy_cast = falsification.observer_copy_ballots(world, copied)
    everywhere = np.arange(world.n)
    station = np.concatenate([copied, everywhere])
    return {
        "station": station,
        "actor": np.concatenate([stints.actor[copy], np.full(world.n, people.commission)]),
        "at": np.concatenate([world.signed_at[copied]
                              + uniform_seconds(rng, 0, 3 * MINUTE, copied.size),
                              world.published_at]),
        "source": np.repeat([0, 1], [copied.size, world.n]),
        "registered": falsification.listed(world, station), "received": world.received[station],
        "issued": np.concatenate([copy_issued, falsification.issued]),
        "cast": np.concatenate([copy_cast, falsification.cast]),
        "invalid": world.invalid[station],
        "votes": np.concatenate([falsification.observer_copy_votes(world, copied),
                                 falsification.votes]),
    }

