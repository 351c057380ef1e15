"""Election forensics on per-station official results, and protocol discrepancies.

Input: official protocols, one row per station, with the columns ``station_id, region_code,
registered, ballots_issued, votes`` (a dict option → valid votes, ``against_all`` included), as
``saylau.warehouse.queries.latest_protocols`` gives them (rows of ``source == "official"``).
``station_results`` turns them into the per-station table the other functions use:
``station_id, region_code, registered, ballots_issued, valid, leader_votes, turnout,
leader_share`` (turnout = ballots_issued / registered, leader_share = leader_votes / valid, both
as fractions; the leader is the party, not ``against_all``, with most official votes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

AGAINST_ALL = "against_all"
NATIONAL = "national"
NUMBERS = ("registered", "ballots_received", "ballots_issued", "ballots_cast", "invalid")

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


def national_leader(official: pd.DataFrame) -> str:
    """The party (not against_all) with most votes over all official protocols."""
    totals: dict[str, int] = {}
    for votes in official["votes"]:
        for option, count in votes.items():
            totals[option] = totals.get(option, 0) + int(count)
    parties = {option: count for option, count in totals.items() if option != AGAINST_ALL}
    return max(sorted(parties), key=lambda option: parties[option])


def station_results(official: pd.DataFrame, leader: str | None = None) -> pd.DataFrame:
    """Per-station turnout and leader share (module docstring for the columns)."""
    leader = leader or national_leader(official)
    valid = np.array([sum(votes.values()) for votes in official["votes"]], dtype=np.int64)
    leader_votes = np.array([votes.get(leader, 0) for votes in official["votes"]],
                            dtype=np.int64)
    registered = official["registered"].to_numpy(dtype=np.int64)
    issued = official["ballots_issued"].to_numpy(dtype=np.int64)
    return pd.DataFrame({
        "station_id": official["station_id"].to_numpy(),
        "region_code": official["region_code"].to_numpy(),
        "registered": registered, "ballots_issued": issued, "valid": valid,
        "leader_votes": leader_votes,
        "turnout": issued / np.maximum(registered, 1),
        "leader_share": leader_votes / np.maximum(valid, 1),
    })


# --- Turnout × leader share ---------------------------------------------------------------------

def turnout_share_histogram(results: pd.DataFrame, bin_pct: float = 1.0) -> pd.DataFrame:
    """The 2D histogram of stations by turnout and leader share, nationally and per region.

    Columns: ``scope`` (``national`` or region code), ``turnout_pct`` and ``leader_share_pct``
    (left edges of ``bin_pct``-wide bins; 100 % falls in the last bin), ``stations``,
    ``voters`` (ballots issued). Only non-empty cells are listed."""
    edges = int(round(100 / bin_pct))
    turnout_bin = np.minimum(np.floor(results["turnout"] * 100 / bin_pct), edges - 1)
    share_bin = np.minimum(np.floor(results["leader_share"] * 100 / bin_pct), edges - 1)
    cells = pd.DataFrame({"region_code": results["region_code"],
                          "turnout_pct": turnout_bin * bin_pct,
                          "leader_share_pct": share_bin * bin_pct,
                          "voters": results["ballots_issued"]})
    keys = ["turnout_pct", "leader_share_pct"]
    national = cells.groupby(keys).agg(stations=("voters", "size"), voters=("voters", "sum"))
    regional = cells.groupby(["region_code", *keys]).agg(stations=("voters", "size"),
                                                         voters=("voters", "sum"))
    national = national.reset_index().assign(scope=NATIONAL)
    regional = regional.reset_index().rename(columns={"region_code": "scope"})
    table = pd.concat([national, regional], ignore_index=True)
    return table[["scope", *keys, "stations", "voters"]]


# --- Integer percentages ------------------------------------------------------------------------

def eligible(results: pd.DataFrame, min_registered: int = 100,
             max_fraction: float = 0.99) -> Bools:
    """Stations the integer test looks at: ballots issued > 0, registered ≥ 100, turnout and
    leader share ≤ 99 % (100 % is trivially a whole number)."""
    return np.asarray((results["ballots_issued"] > 0) & (results["registered"] >= min_registered)
                      & (results["valid"] > 0) & (results["turnout"] <= max_fraction)
                      & (results["leader_share"] <= max_fraction))


def is_integer_pct(fraction: npt.ArrayLike, tolerance: float = 0.05) -> Bools:
    """100·fraction within ``tolerance`` percentage points of a whole number."""
    pct = np.asarray(fraction, dtype=np.float64) * 100
    return np.asarray(np.abs(pct - np.rint(pct)) <= tolerance + 1e-9)


@dataclass(frozen=True)
class IntegerTest:
    quantity: str  # turnout, leader_share or both (the two counted together)
    stations: int  # eligible stations
    observed: int  # integer percentages observed
    null_mean: float  # mean count under the binomial null
    threshold: float  # 99.9th percentile of the null counts
    p_value: float  # share of null replicates ≥ observed (with the +1 correction)

    @property
    def excess(self) -> float:
        return self.observed - self.null_mean

    @property
    def significant(self) -> bool:
        return self.observed > self.threshold


def integer_test(results: pd.DataFrame, replicates: int = 1000, tolerance: float = 0.05,
                 rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Are there more whole-number percentages than chance gives?

    Null: at each eligible station, voters ~ Binomial(registered, turnout) and leader votes
    ~ Binomial(valid, leader_share) (the observed fractions), ``replicates`` times; count the
    whole-number percentages (``is_integer_pct``) in each replicate. Returns one row per
    quantity (``turnout``, ``leader_share``, ``both``) with ``stations, observed, null_mean,
    threshold`` (99.9th percentile of the null), ``excess`` (observed − null_mean),
    ``p_value`` and ``significant`` (observed > threshold)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    table = results[eligible(results)]
    registered = table["registered"].to_numpy(dtype=np.int64)
    valid = table["valid"].to_numpy(dtype=np.int64)
    turnout = table["turnout"].to_numpy(dtype=np.float64)
    share = table["leader_share"].to_numpy(dtype=np.float64)
    null_turnout = np.empty(replicates)
    null_share = np.empty(replicates)
    for r in range(replicates):
        null_turnout[r] = is_integer_pct(rng.binomial(registered, turnout) / registered,
                                         tolerance).sum()
        null_share[r] = is_integer_pct(rng.binomial(valid, share) / valid, tolerance).sum()
    observed = {"turnout": int(is_integer_pct(turnout, tolerance).sum()),
                "leader_share": int(is_integer_pct(share, tolerance).sum())}
    observed["both"] = observed["turnout"] + observed["leader_share"]
    nulls = {"turnout": null_turnout, "leader_share": null_share,
             "both": null_turnout + null_share}
    rows = []
    for quantity, null in nulls.items():
        test = IntegerTest(quantity, len(table), observed[quantity], float(null.mean()),
                           float(np.percentile(null, 99.9)),
                           float(((null >= observed[quantity]).sum() + 1) / (replicates + 1)))
        rows.append({"quantity": quantity, "stations": test.stations, "observed": test.observed,
                     "null_mean": test.null_mean, "threshold": test.threshold,
                     "excess": test.excess, "p_value": test.p_value,
                     "significant": test.significant})
    return pd.DataFrame(rows)


def is_round(part: npt.ArrayLike, whole: npt.ArrayLike, step_pct: float = 5.0,
             tolerance: float = 0.05) -> Bools:
    """part/whole lies on a multiple of ``step_pct`` %: within ``tolerance`` points, or as close
    as the station's size allows (``part`` is the whole number of votes nearest to it, i.e.
    within half a vote = 50/whole points)."""
    whole_ = np.maximum(np.asarray(whole, dtype=np.float64), 1)
    pct = np.asarray(part, dtype=np.float64) / whole_ * 100
    distance = np.abs(pct - np.rint(pct / step_pct) * step_pct)
    return np.asarray(distance <= np.maximum(tolerance, 50 / whole_) + 1e-9)


def round_flags(results: pd.DataFrame, step_pct: float = 5.0) -> pd.DataFrame:
    """Per eligible station: ``round_turnout``, ``round_leader_share`` and ``flagged`` (both
    round: chance puts well under 1 % of honest stations there, ballot stuffing to a target
    puts many). Columns ``station_id, region_code, turnout, leader_share`` plus those three."""
    table = results[eligible(results)]
    turnout = is_round(table["ballots_issued"], table["registered"], step_pct)
    share = is_round(table["leader_votes"], table["valid"], step_pct)
    return pd.DataFrame({"station_id": table["station_id"].to_numpy(),
                         "region_code": table["region_code"].to_numpy(),
                         "turnout": table["turnout"].to_numpy(),
                         "leader_share": table["leader_share"].to_numpy(),
                         "round_turnout": turnout, "round_leader_share": share,
                         "flagged": turnout & share})


# --- Shpilkin -----------------------------------------------------------------------------------

def shpilkin(results: pd.DataFrame, bin_pct: float = 1.0) -> tuple[pd.DataFrame, dict[str, float]]:
    """Excess votes for the leader from turnout bins (Shpilkin's method).

    Stations are put in ``bin_pct``-wide turnout bins. The clean turnout peak is the bin with
    most votes for the other options (``other_votes``). Below and at the peak the leader's share
    of valid votes is taken as honest: s₀ = Σ leader_votes / Σ valid over those bins. Above the
    peak the honest leader vote would be ``expected = other_votes · s₀ / (1 − s₀)``; the excess
    is ``leader_votes − expected`` summed over the bins above the peak.

    Returns the per-bin table (``turnout_pct, stations, registered, ballots_issued, valid,
    leader_votes, other_votes, expected_leader, excess``) and a summary (``peak_pct``,
    ``clean_share`` s₀, ``excess_votes``, ``leader_votes``, ``excess_share`` = excess / valid)."""
    bins = np.floor(results["turnout"].to_numpy() * 100 / bin_pct + 1e-9) * bin_pct
    table = (results.assign(turnout_pct=bins, other_votes=results["valid"]
                            - results["leader_votes"])
             .groupby("turnout_pct")
             .agg(stations=("station_id", "size"), registered=("registered", "sum"),
                  ballots_issued=("ballots_issued", "sum"), valid=("valid", "sum"),
                  leader_votes=("leader_votes", "sum"), other_votes=("other_votes", "sum"))
             .reset_index())
    peak = float(table["turnout_pct"][table["other_votes"].idxmax()])
    honest = table["turnout_pct"] <= peak
    s0 = float(table["leader_votes"][honest].sum() / max(table["valid"][honest].sum(), 1))
    above = ~honest
    table["expected_leader"] = np.where(above, table["other_votes"] * s0 / (1 - s0),
                                        table["leader_votes"])
    table["excess"] = table["leader_votes"] - table["expected_leader"]
    excess = float(table["excess"].sum())
    summary = {"peak_pct": peak, "clean_share": s0, "excess_votes": excess,
               "leader_votes": float(table["leader_votes"].sum()),
               "excess_share": excess / max(float(table["valid"].sum()), 1.0)}
    return table, summary


# --- Protocol discrepancies ---------------------------------------------------------------------

def protocol_discrepancies(protocols: pd.DataFrame) -> pd.DataFrame:
    """Stations whose official protocol differs from the observer's copy.

    ``protocols``: ``station_id, region_code, source`` (``official`` or ``observer_copy``), the
    numbers ``registered, ballots_received, ballots_issued, ballots_cast, invalid`` (those
    present) and ``votes`` (dict). Only stations with both sources are compared.

    Columns: ``station_id, region_code, fields`` (comma-separated names that differ; an option
    is ``votes.<option>``), ``largest`` (largest absolute difference), ``ballots_issued_diff``
    (official − copy), ``votes_diff`` (dict option → official − copy, non-zero only),
    ``leader_gain`` (largest positive votes difference), ``discrepant`` (any difference). One
    row per compared station, discrepant ones first."""
    numbers = [name for name in NUMBERS if name in protocols.columns]
    official = protocols[protocols["source"] == "official"].set_index("station_id")
    copy = protocols[protocols["source"] == "observer_copy"].set_index("station_id")
    both = official.index.intersection(copy.index).sort_values()
    rows = []
    for station in both:
        ours, theirs = copy.loc[station], official.loc[station]
        diffs = {name: int(theirs[name]) - int(ours[name]) for name in numbers}
        options = sorted(set(ours["votes"]) | set(theirs["votes"]))
        votes = {option: int(theirs["votes"].get(option, 0)) - int(ours["votes"].get(option, 0))
                 for option in options}
        votes = {option: diff for option, diff in votes.items() if diff}
        fields = [name for name, diff in diffs.items() if diff] + [f"votes.{o}" for o in votes]
        changes = [abs(diff) for diff in diffs.values()] + [abs(diff) for diff in votes.values()]
        rows.append({"station_id": station, "region_code": theirs["region_code"],
                     "fields": ",".join(fields), "largest": max(changes, default=0),
                     "ballots_issued_diff": diffs.get("ballots_issued", 0),
                     "votes_diff": votes,
                     "leader_gain": max([diff for diff in votes.values() if diff > 0],
                                        default=0),
                     "discrepant": bool(fields)})
    columns = ["station_id", "region_code", "fields", "largest", "ballots_issued_diff",
               "votes_diff", "leader_gain", "discrepant"]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["discrepant", "largest", "station_id"],
                             ascending=[False, False, True], ignore_index=True)
