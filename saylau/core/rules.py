"""Rules per event kind, beyond the schema. Each returns a Rejection or None. Pure.

Rules reject only what cannot be true of a report (arithmetic that does not add up, an
option not on the ballot). What may be true but suspicious — turnout that goes down, more
ballots cast than issued — is accepted and flagged downstream: it may be the evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from saylau.core.contract import Assignment, Event, ExitPoll, Protocol, ProtocolEntry, Turnout
from saylau.core.election import Election


@dataclass(frozen=True)
class Rejection:
    reason: str
    detail: str


@dataclass(frozen=True)
class Ballot:
    """What the ballot allows: options for votes, answers for exit-poll interviews."""

    vote_options: frozenset[str]
    exitpoll_answers: frozenset[str]

    @classmethod
    def of(cls, election: Election) -> Ballot:
        return cls(election.vote_options, election.exitpoll_answers)


DEFAULT_BALLOT = Ballot.of(Election())


def turnout_rule(event: Turnout, registered_voters: int, ballot: Ballot) -> Rejection | None:
    if event.ballots_issued > registered_voters:
        return Rejection("turnout_above_registered",
                         f"ballots_issued exceeds the station's {registered_voters} "
                         "registered voters")
    return None


def exitpoll_rule(event: ExitPoll, registered_voters: int, ballot: Ballot) -> Rejection | None:
    unknown = sorted(set(event.choices) - ballot.exitpoll_answers)
    if unknown:
        return Rejection("unknown_choice", f"choices has {len(unknown)} answer(s) that are "
                         "neither ballot options nor against_all/refused/undecided")
    if event.window_end <= event.window_start:
        return Rejection("invalid_window", "window_end is not after window_start")
    if sum(event.choices.values()) != event.interviews:
        return Rejection("exitpoll_arithmetic", "the choices do not add up to interviews")
    return None


def protocol_rule(event: Protocol, registered_voters: int, ballot: Ballot) -> Rejection | None:
    unknown = entry_rule(event, registered_voters, ballot)
    if unknown is not None:
        return unknown
    if sum(event.votes.values()) + event.invalid != event.ballots_cast:
        return Rejection("protocol_arithmetic",
                         "ballots_cast is not the sum of the votes plus invalid ballots")
    return None


def entry_rule(event: Protocol | ProtocolEntry, registered_voters: int, ballot: Ballot
               ) -> Rejection | None:
    """A volunteer's entry types what the photo shows, so its arithmetic may fail (that is
    evidence too); only options that are not on the ballot are refused."""
    unknown = sorted(set(event.votes) - ballot.vote_options)
    if unknown:
        return Rejection("unknown_option",
                         f"votes has {len(unknown)} option(s) that are not on the ballot")
    return None


Rule = Callable[[Event, int, Ballot], Rejection | None]
RULES: dict[type, Rule] = {
    Turnout: turnout_rule,  # type: ignore[dict-item]
    ExitPoll: exitpoll_rule,  # type: ignore[dict-item]
    Protocol: protocol_rule,  # type: ignore[dict-item]
    ProtocolEntry: entry_rule,  # type: ignore[dict-item]
}


def kind_rule(event: Event, registered_voters: int, ballot: Ballot,
              known_station: Callable[[str], bool]) -> Rejection | None:
    if isinstance(event, Assignment) and not known_station(event.target_station_id):
        return Rejection("unknown_station", "target_station_id is not in the station registry")
    rule = RULES.get(type(event))
    return rule(event, registered_voters, ballot) if rule else None
