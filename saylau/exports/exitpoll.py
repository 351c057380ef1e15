"""The exit-poll block of a bundle: embargoed until polls close, then the shares with the
statements the law requires (who ran the poll, who paid, when, the method, the question,
the respondents and the margin of error).

The embargo is judged by the bundle's data-as-of time, never by the clock of the machine
that builds it, so the same as-of always gives the same block. Exports of live data take
an as-of no later than now, so a bundle whose as-of is past the close is also published
after it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from saylau.analysis.estimates import NON_VOTE_ANSWERS, share_table, tally_from_exitpolls, z_value
from saylau.core.election import Election

EMBARGOED, PUBLISHED, TOO_FEW = "embargoed", "published", "insufficient_sample"
MIN_STATIONS = 2  # a margin of error needs at least two sampled stations
LAW = ("Exit-poll results may not be published on election day before voting ends; every "
       "publication states who conducted the poll, who paid for it, when, the method, the "
       "question, the number of respondents and the margin of error.")


def exitpoll_block(tallies: pd.DataFrame, population: Mapping[str, int], election: Election,
                   as_of: dt.datetime) -> dict[str, Any]:
    """``tallies``: ``region_code, station_id, option, answers`` (``exitpoll_tallies``)."""
    ends = election.embargo_ends_at
    if as_of < ends:
        return {"status": EMBARGOED, "embargoed_until": iso(ends), "law": LAW}
    block = {"status": PUBLISHED, "embargo_ended_at": iso(ends), "law": LAW,
             **disclosure(election), **sample_size(tallies, population)}
    if block["stations_sampled"] < MIN_STATIONS:
        block.update(status=TOO_FEW, results=[], margin_of_error_pct=None)
        return block
    results = option_results(tallies, population, election)
    block["results"] = results
    block["margin_of_error_pct"] = max(row["margin_pct"] for row in results)
    return block


def disclosure(election: Election) -> dict[str, Any]:
    """The mandatory statements that do not come from the data."""
    poll = election.exitpoll
    return {
        "conducted_by": poll.conducted_by,
        "commissioned_by": poll.commissioned_by,
        "fieldwork_start": iso(poll.fieldwork_start or election.opens_at),
        "fieldwork_end": iso(poll.fieldwork_end or election.closes_at),
        "method": poll.method,
        "question": poll.question,
        "confidence_pct": round(poll.confidence * 100, 1),
    }


def sample_size(tallies: pd.DataFrame, population: Mapping[str, int]) -> dict[str, int]:
    answers = tallies.groupby("option")["answers"].sum()
    return {
        "respondents": int(answers.sum()),  # every interview gives exactly one answer
        "refused": int(answers.get("refused", 0)),
        "undecided": int(answers.get("undecided", 0)),
        "stations_sampled": int(tallies["station_id"].nunique()),
        "stations_total": int(sum(population.values())),
    }


def option_results(tallies: pd.DataFrame, population: Mapping[str, int],
                   election: Election) -> list[dict[str, Any]]:
    """Each ballot option's national share of the answers that are votes, with its margin
    at the disclosed confidence (ratio estimator, stations as clusters)."""
    tally = tally_from_exitpolls(tallies, NON_VOTE_ANSWERS)
    table = share_table(tally, population)
    national = table[table["scope"] == "national"].set_index("quantity")
    confidence = election.exitpoll.confidence
    rows = []
    for option, name in election.options.items():  # ballot order, every option listed
        if option in national.index:
            estimate = float(national.at[option, "estimate"])
            margin = _margin(national, option, confidence)
        else:
            estimate, margin = 0.0, 0.0
        share, plus_minus = _pct(estimate), _pct(margin)
        # The interval from the rounded figures, so that share ± margin reads exactly.
        rows.append({"option": option, "name": name, "share_pct": share,
                     "margin_pct": plus_minus, "low_pct": round(max(share - plus_minus, 0.0), 1),
                     "high_pct": round(min(share + plus_minus, 100.0), 1)})
    return rows


def _margin(national: pd.DataFrame, option: str, confidence: float) -> float:
    se = float(national.at[option, "se"])
    return 0.0 if math.isnan(se) else z_value(confidence) * se


def _pct(share: float) -> float:
    return round(share * 100, 1)


def iso(moment: dt.datetime) -> str:
    """UTC, whole seconds, ISO 8601 with Z: one spelling for every time in a bundle."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
