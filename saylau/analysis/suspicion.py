"""A suspicion score per station, with its reasons: which official results cannot be trusted.

Each kind of evidence is a pure function that returns *reasons*, one row per station and
reason: ``station_id, reason, strength, figure, detail``. ``strength`` is −log10 of a chance
(how unlikely the finding is at an honest station, capped at ``MAX_STRENGTH``), so strengths
of independent reasons add up; ``figure`` is the reason's number (a probability, a z-score, a
share of registered voters) and ``detail`` one sentence a journalist can repeat. A station's
score is the sum of its reasons' strengths; it is flagged when the score reaches the
threshold (``DEFAULT_THRESHOLD``, chosen on simulated days by ``bench/forensics.py``).

Inputs are the warehouse's tables (module ``forensics`` for the protocol columns):
``official`` and ``copies`` (protocol rows of source ``official`` / ``observer_copy``),
``turnout`` (``station_id, source, occurred_at, ballots``: turnout reports, source
``official`` or ``observer_count``) and ``registry`` (``station_id``, optional ``lat, lon``).

Reasons:
- ``observer_copy_differs``: the official protocol is not the one the observer signed;
- ``round_turnout`` / ``round_leader_share``: a round (5 %) or whole (1 %) percentage, over
  each usual denominator on its own, against a binomial null for the station's size;
- ``outlier_turnout_and_share`` / ``outlier_leader_share``: far above comparable stations
  (the district, the nearest stations) with robust statistics (median, MAD);
- ``voters_added_on_the_day``: far more voters added to the list (the protocol's list
  against the registry's) than at comparable stations: how carousel voters get ballots;
- ``turnout_above_observer_count``: official turnout ran ahead of the observer's own count;
- ``turnout_jump``: a burst in the official turnout curve (``last_hour`` in the detail);
- ``observer_copy_missing``: the observer was there in the last hour, no copy came;
- ``observer_removed_before_count``: an observer was expelled in the last hour or after the
  close, and no copy came;
- ``impossible_arithmetic`` / ``identical_figures``: figures that cannot be, or repeat.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats
from scipy.spatial import cKDTree

from saylau.analysis.forensics import national_leader, protocol_discrepancies, station_results

REASON_COLUMNS = ["station_id", "reason", "strength", "figure", "detail"]
SCORE_COLUMNS = ["station_id", "region_code", "score", "flagged", "reasons", "top_reason"]
MAX_STRENGTH = 10.0
MIN_STRENGTH = 1.0  # reasons weaker than a 1-in-10 chance are not listed (nor counted)
DEFAULT_THRESHOLD = 2.7  # chosen on the simulator: bench/forensics.py (docs: replay-and-analysis)
ROUND_STEPS = (5.0, 1.0)  # round and whole percentages
ROUND_TOLERANCE = 0.0  # percentage points beyond the nearest whole vote (a target is hit exactly)
SMEAR_POINTS = 11  # values of p averaged over in chance_of_round
ROUND_BLOCK = 2000  # stations at a time
NEIGHBOURS = 15  # nearest stations compared with
MAD_TO_SD = 1.4826
SHARE_SD_FLOOR = 0.01  # spread of comparable stations is never taken below this
CURVE_SD_FLOOR = 0.01  # of registered voters
REPORT_MATCH_SECONDS = 15 * 60  # an observer count within this of an official report
COUNT_SLACK_VOTES = 3.0  # an observer's count is a few votes off at any station
LAST_HOUR_SECONDS = 75 * 60  # an observer counting this close to the close was there
MISSING_COPY_STRENGTH = 2.0
REMOVED_STRENGTH = 1.5  # an expulsion before the count: a fact, but observers are expelled
# for other reasons too, so it adds to the figures' evidence rather than flagging alone
ADDED_LOG_SD_FLOOR = 0.2  # list additions' spread (as a log) is never taken below this

Floats = npt.NDArray[np.float64]


def strength_of(chance: npt.ArrayLike) -> Floats:
    """−log10(chance), between 0 and MAX_STRENGTH."""
    p = np.clip(np.asarray(chance, dtype=np.float64), 10 ** -MAX_STRENGTH, 1.0)
    return np.asarray(np.minimum(-np.log10(p), MAX_STRENGTH) + 0.0)


def _reasons(station_id: npt.ArrayLike, reason: str | npt.ArrayLike, strength: npt.ArrayLike,
             figure: npt.ArrayLike, detail: npt.ArrayLike) -> pd.DataFrame:
    frame = pd.DataFrame({"station_id": np.asarray(station_id, dtype=object),
                          "reason": reason, "strength": np.asarray(strength, dtype=float),
                          "figure": np.asarray(figure, dtype=float),
                          "detail": np.asarray(detail, dtype=object)}, columns=REASON_COLUMNS)
    return frame[frame["strength"] >= MIN_STRENGTH].reset_index(drop=True)


# --- Round and whole percentages ---------------------------------------------------------------

def chance_of_round(whole: npt.ArrayLike, fraction: npt.ArrayLike, step_pct: float = 5.0,
                    tolerance: float = ROUND_TOLERANCE) -> Floats:
    """``_chance_of_round`` a block of stations at a time (memory stays small)."""
    whole_, fraction_ = np.atleast_1d(whole), np.atleast_1d(fraction)
    return np.concatenate([_chance_of_round(whole_[start:start + ROUND_BLOCK],
                                            fraction_[start:start + ROUND_BLOCK], step_pct,
                                            tolerance)
                           for start in range(0, whole_.size, ROUND_BLOCK)] or [np.zeros(0)])


def _chance_of_round(whole: npt.ArrayLike, fraction: npt.ArrayLike, step_pct: float,
                     tolerance: float) -> Floats:
    """P(part/whole is round) when part ~ Binomial(whole, p): the chance that an honest
    station of this size lands on a multiple of ``step_pct`` % (the nearest whole vote, or
    within ``tolerance`` points). ``p`` is not known exactly: it is taken uniform over one step
    around ``fraction`` (honest stations differ far more than a step), so the chance is the
    local average, not the binomial's peak. Tiny stations get a large chance (at 20 voters
    every 5 % is one voter), so they are not flagged."""
    n = np.maximum(np.asarray(whole, dtype=np.float64), 1)[:, None, None]
    spread = np.linspace(-0.5, 0.5, SMEAR_POINTS)[None, None, :] * step_pct / 100
    p = np.clip(np.asarray(fraction, dtype=np.float64)[:, None, None] + spread, 0, 1)
    multiples = np.arange(0, 100 + step_pct / 2, step_pct)[None, :, None] / 100
    width = np.maximum(tolerance / 100 * n, 0.5)
    low = np.ceil(multiples * n - width - 1e-9)
    high = np.floor(multiples * n + width + 1e-9)
    mass = stats.binom.cdf(high, n, p) - stats.binom.cdf(low - 1, n, p)
    chance = np.where(high >= low, mass, 0).sum(axis=1).mean(axis=1)
    return np.asarray(np.clip(chance, 0, 1))


def is_round_count(part: npt.ArrayLike, whole: npt.ArrayLike, step_pct: float,
                   tolerance: float = ROUND_TOLERANCE) -> npt.NDArray[np.bool_]:
    """part/whole on a multiple of ``step_pct`` % (as ``chance_of_round`` counts it)."""
    n = np.maximum(np.asarray(whole, dtype=np.float64), 1)
    x = np.asarray(part, dtype=np.float64)
    nearest = np.rint(x / n * 100 / step_pct) * step_pct / 100 * n
    return np.asarray(np.abs(x - nearest) <= np.maximum(tolerance / 100 * n, 0.5) + 1e-9)


def _best_round(parts: dict[str, tuple[Floats, Floats]], ids: npt.NDArray[np.object_],
                reason: str, quantity: str) -> pd.DataFrame:
    """The most unlikely round value among the denominators and steps, Bonferroni-corrected
    for the number of them tried."""
    tries = len(parts) * len(ROUND_STEPS)
    best = np.ones(ids.size)
    label = np.full(ids.size, "", dtype=object)
    for denominator, (part, whole) in parts.items():
        fraction = part / np.maximum(whole, 1)
        usable = (whole > 0) & (fraction > 0) & (fraction < 1)
        for step in ROUND_STEPS:
            chance = np.where(usable & is_round_count(part, whole, step),
                              chance_of_round(whole, fraction, step), 1.0)
            better = chance < best
            best = np.where(better, chance, best)
            pct = np.round(fraction * 100, 2)
            label = np.where(better, [f"{quantity} {v:g} % of {denominator}, a multiple of "
                                      f"{step:g} %" for v in pct], label)
    corrected = np.minimum(best * tries, 1.0)
    detail = [f"{text}: an honest station of this size lands on one with chance {c:.2g}"
              for text, c in zip(label, corrected, strict=True)]
    return _reasons(ids, reason, strength_of(corrected), corrected, detail)


def round_reasons(official: pd.DataFrame, leader: str | None = None) -> pd.DataFrame:
    """``round_turnout`` (over registered voters, by ballots issued and by ballots cast) and
    ``round_leader_share`` (of valid votes, ballots cast, ballots issued, registered)."""
    results = station_results(official, leader)
    ids = results["station_id"].to_numpy(dtype=object)
    registered = results["registered"].to_numpy(dtype=float)
    issued = results["ballots_issued"].to_numpy(dtype=float)
    cast = _column(official, "ballots_cast", issued)
    leader_votes = results["leader_votes"].to_numpy(dtype=float)
    turnout = _best_round({"registered voters (ballots issued)": (issued, registered),
                           "registered voters (ballots cast)": (cast, registered)},
                          ids, "round_turnout", "turnout")
    share = _best_round({"valid votes": (leader_votes, results["valid"].to_numpy(dtype=float)),
                         "ballots cast": (leader_votes, cast),
                         "ballots issued": (leader_votes, issued),
                         "registered voters": (leader_votes, registered)},
                        ids, "round_leader_share", "the leader's share")
    return pd.concat([turnout, share], ignore_index=True)


def _column(frame: pd.DataFrame, name: str, default: Floats) -> Floats:
    if name not in frame.columns:
        return default
    return np.asarray(frame[name].fillna(pd.Series(default, index=frame.index)), dtype=float)


# --- Outliers against comparable stations ------------------------------------------------------

def robust_z(values: Floats, groups: npt.NDArray[np.int64], binomial_n: Floats,
             floor: float = SHARE_SD_FLOOR, own_sd: Floats | None = None) -> Floats:
    """(value − group median) / robust spread, the spread being the group's MAD (as an SD,
    at least ``floor``) widened by the station's own count noise (binomial at ``binomial_n``,
    or ``own_sd``), so that small stations are not flagged for chance."""
    z = np.zeros(values.size)
    for group in np.unique(groups):
        member = groups == group
        median = np.median(values[member])
        mad = MAD_TO_SD * np.median(np.abs(values[member] - median))
        own = _own_noise(median, binomial_n[member], None if own_sd is None else own_sd[member])
        z[member] = (values[member] - median) / np.hypot(max(mad, floor), own)
    return z


def _own_noise(median: Floats | float, binomial_n: Floats, own_sd: Floats | None) -> Floats:
    """A station's own count noise: ``own_sd`` when given, else binomial around the median."""
    if own_sd is not None:
        return own_sd
    return np.asarray(np.sqrt(median * (1 - np.asarray(median)) / np.maximum(binomial_n, 1)))


def neighbour_z(values: Floats, lat: Floats, lon: Floats, binomial_n: Floats,
                k: int = NEIGHBOURS, floor: float = SHARE_SD_FLOOR,
                own_sd: Floats | None = None) -> Floats:
    """Robust z against the ``k`` nearest stations (the station itself left out)."""
    k = min(k, values.size - 1)
    if k < 3:
        return np.zeros(values.size)
    points = np.column_stack([lat, lon * np.cos(np.radians(lat))])
    _, index = cKDTree(points).query(points, k=k + 1)
    around = values[index[:, 1:]]
    median = np.median(around, axis=1)
    mad = MAD_TO_SD * np.median(np.abs(around - median[:, None]), axis=1)
    spread = np.hypot(np.maximum(mad, floor), _own_noise(median, binomial_n, own_sd))
    return np.asarray((values - median) / spread)


def comparable_z(values: Floats, results: pd.DataFrame, registry: pd.DataFrame | None,
                 binomial_n: Floats, floor: float = SHARE_SD_FLOOR,
                 own_sd: Floats | None = None) -> Floats:
    """Robust z against the district (region) and, where the registry has coordinates, the
    nearest stations: the mean of the two."""
    _, groups = np.unique(results["region_code"].astype(str).to_numpy(), return_inverse=True)
    district = robust_z(values, groups.astype(np.int64), binomial_n, floor, own_sd)
    if registry is None or not {"lat", "lon"} <= set(registry.columns):
        return district
    place = registry.set_index("station_id").reindex(results["station_id"])
    if place[["lat", "lon"]].isna().any().any():
        return district
    near = neighbour_z(values, place["lat"].to_numpy(dtype=float),
                       place["lon"].to_numpy(dtype=float), binomial_n, floor=floor,
                       own_sd=own_sd)
    return (district + near) / 2


def outlier_reasons(official: pd.DataFrame, registry: pd.DataFrame | None = None,
                    leader: str | None = None) -> pd.DataFrame:
    """``outlier_turnout_and_share``: turnout and the leader's share both above comparable
    stations (stuffing; turnout counts only as far as the share rises too, in z, so that hospitals
    and barracks, where nearly everyone votes as everywhere else, are not flagged);
    ``outlier_leader_share``: the share alone far above (votes moved, turnout untouched)."""
    results = station_results(official, leader)
    registered = results["registered"].to_numpy(dtype=float)
    z_turnout = comparable_z(results["turnout"].to_numpy(dtype=float), results, registry,
                             registered)
    z_share = comparable_z(results["leader_share"].to_numpy(dtype=float), results, registry,
                           results["valid"].to_numpy(dtype=float))
    rising = np.maximum(z_share, 0)
    z_joint = (np.minimum(np.maximum(z_turnout, 0), rising) + rising) / np.sqrt(2)
    joint = strength_of(stats.norm.sf(z_joint))
    alone = strength_of(stats.norm.sf(z_share))
    ids = results["station_id"].to_numpy(dtype=object)
    use_joint = z_joint > z_share
    detail = [f"turnout {t:.0%} and the leader's share {s:.0%} are {zt:.1f} and {zs:.1f} "
              "robust SDs above comparable stations" if j else
              f"the leader's share {s:.0%} is {zs:.1f} robust SDs above comparable stations"
              for t, s, zt, zs, j in zip(results["turnout"], results["leader_share"],
                                         z_turnout, z_share, use_joint, strict=True)]
    reason = np.where(use_joint, "outlier_turnout_and_share", "outlier_leader_share")
    return _reasons(ids, reason, np.maximum(joint, alone), np.where(use_joint, z_joint, z_share),
                    detail)


def list_addition_reasons(official: pd.DataFrame, registry: pd.DataFrame | None
                          ) -> pd.DataFrame:
    """``voters_added_on_the_day``: the protocol's voters on the list above the registry's
    figure, far above comparable stations. Honest stations add a few voters (absentee
    certificates, new residents) at rates that vary by place; a carousel must add its voters
    to the list to give them ballots. Compared on a log scale (rates are skewed: a station
    adding twice its neighbours' rate is as odd at 1 % as at 4 %), with the station's own
    count noise (Poisson at the district's usual rate); needs the registry's
    ``registered_voters``."""
    if registry is None or "registered_voters" not in registry.columns:
        return _reasons([], "voters_added_on_the_day", [], [], [])
    listed = official.drop_duplicates("station_id", keep="last").reset_index(drop=True)
    before = listed["station_id"].map(registry.set_index("station_id")["registered_voters"])
    known = before.notna() & (before > 0)
    listed, before = listed[known].reset_index(drop=True), before[known].to_numpy(dtype=float)
    added = np.maximum(listed["registered"].to_numpy(dtype=float) - before, 0)
    share = added / before
    log_rate = np.log((added + 0.5) / before)
    # A count's relative noise, as a log, at the count the district's usual rate expects: a
    # tiny station that adds 2 voters where 0.2 were expected is not a carousel.
    usual = pd.Series(share).groupby(listed["region_code"].to_numpy()).transform(
        "median").to_numpy()
    own = 1 / np.sqrt(usual * before + 0.5)
    z = comparable_z(log_rate, listed, registry, before, floor=ADDED_LOG_SD_FLOOR, own_sd=own)
    detail = [f"{a:.1%} of the registered voters were added to the list on the day "
              f"({zz:.1f} robust SDs above comparable stations)" for a, zz in
              zip(share, z, strict=True)]
    return _reasons(listed["station_id"], "voters_added_on_the_day",
                    strength_of(stats.norm.sf(z)), share, detail)


# --- Turnout curves -----------------------------------------------------------------------------

def _seconds(column: pd.Series) -> Floats:
    if pd.api.types.is_datetime64_any_dtype(column):
        utc = pd.to_datetime(column, utc=True)
        return np.asarray((utc - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1),
                          dtype=float)
    return np.asarray(column, dtype=float)


def official_curves(turnout: pd.DataFrame) -> pd.DataFrame:
    """Official cumulative ballots per station (rows) and reporting time (columns); the last
    report of each station and time wins."""
    official = turnout[turnout["source"] == "official"].assign(
        t=lambda f: _seconds(f["occurred_at"]))
    return (official.groupby(["station_id", "t"])["ballots"].last().unstack("t")
            .sort_index(axis=1))


def curve_jump_reasons(turnout: pd.DataFrame, registered: pd.Series) -> pd.DataFrame:
    """``turnout_jump``: official ballots added in one reporting interval beyond what the
    station's own day and the common shape of the day give. The shape is the median share of
    the day's ballots that stations report in each interval; the station's honest total is
    the median over intervals of increment / shape (robust to one or two stuffed intervals);
    the jump is the largest increment above shape × total, over registered voters."""
    curves = official_curves(turnout).dropna()
    if curves.shape[1] < 3 or curves.empty:
        return _reasons([], "turnout_jump", [], [], [])
    cumulative = curves.to_numpy(dtype=float)
    increments = np.diff(np.column_stack([np.zeros(len(curves)), cumulative]), axis=1)
    final = np.maximum(cumulative[:, -1], 1)
    shape = np.median(increments / final[:, None], axis=0)
    honest_total = np.median(increments / np.maximum(shape, 1e-6)[None, :], axis=1)
    excess = increments - shape[None, :] * honest_total[:, None]
    reg = registered.reindex(curves.index).to_numpy(dtype=float)
    jump = excess / np.maximum(reg, 1)[:, None]
    # Honest increments vary like a count (Poisson): the station's own noise, in registered.
    own = np.sqrt(np.maximum(shape[None, :] * honest_total[:, None], 1)) / np.maximum(reg, 1)[
        :, None]
    worst = np.argmax(jump / np.hypot(CURVE_SD_FLOOR, own), axis=1)
    rows = np.arange(len(curves))
    largest = jump[rows, worst]
    median = np.median(largest)
    spread = np.hypot(max(MAD_TO_SD * np.median(np.abs(largest - median)), CURVE_SD_FLOOR),
                      own[rows, worst])
    z = (largest - median) / spread
    last = worst == increments.shape[1] - 1
    detail = [f"{j:.1%} of registered voters added in the {'last' if end else 'one'} "
              f"reporting interval beyond the station's own curve ({zz:.1f} robust SDs)"
              for j, end, zz in zip(largest, last, z, strict=True)]
    return _reasons(curves.index.to_numpy(dtype=object), "turnout_jump",
                    strength_of(stats.norm.sf(z)), largest, detail)


def observer_count_reasons(turnout: pd.DataFrame, registered: pd.Series) -> pd.DataFrame:
    """``turnout_above_observer_count``: at each official report, the observer's count made
    nearest after it (within REPORT_MATCH_SECONDS); the honest ratio official / observer is
    the smallest seen (observers miss a few voters, at a steady rate); the rise is the largest
    official − ratio × observer, over registered voters, against the spread over stations."""
    curves = official_curves(turnout)
    counts = turnout[turnout["source"] == "observer_count"].assign(
        t=lambda f: _seconds(f["occurred_at"]))
    rows = []
    for station, own in counts.groupby("station_id"):
        if station not in curves.index:
            continue
        official = curves.loc[station].dropna()
        times, ballots = own["t"].to_numpy(), own["ballots"].to_numpy(dtype=float)
        pairs = []
        for at, value in official.items():
            after = (times >= at) & (times <= at + REPORT_MATCH_SECONDS) & (ballots > 0)
            if after.any():
                pairs.append((float(value), float(ballots[after][np.argmin(times[after])])))
        if len(pairs) >= 2:
            official_, observed = np.array(pairs).T
            ratio = max(float(np.min(official_ / observed)), 1.0)
            rows.append((station, float(np.max(official_ - ratio * observed))))
    if not rows:
        return _reasons([], "turnout_above_observer_count", [], [], [])
    ids = np.array([station for station, _ in rows], dtype=object)
    rise = np.array([value for _, value in rows]) / np.maximum(
        registered.reindex(ids).to_numpy(dtype=float), 1)
    median = np.median(rise)
    # A few votes either way are the observer's: counting errors, a late voter.
    own = COUNT_SLACK_VOTES / np.maximum(registered.reindex(ids).to_numpy(dtype=float), 1)
    spread = np.hypot(max(MAD_TO_SD * np.median(np.abs(rise - median)), CURVE_SD_FLOOR), own)
    z = (rise - median) / spread
    detail = [f"official turnout ran {r:.1%} of registered voters ahead of the observer's own "
              f"count ({zz:.1f} robust SDs)" for r, zz in zip(rise, z, strict=True)]
    return _reasons(ids, "turnout_above_observer_count", strength_of(stats.norm.sf(z)), rise,
                    detail)


def _close_seconds(turnout: pd.DataFrame) -> float | None:
    """The close, as the time of the last official turnout report (None without one)."""
    official = (turnout["source"] == "official").to_numpy()
    if not official.any():
        return None
    return float(_seconds(turnout["occurred_at"])[official].max())


def missing_copy_reasons(turnout: pd.DataFrame, copies: pd.DataFrame) -> pd.DataFrame:
    """``observer_copy_missing``: an observer counted voters in the last hour before the
    close (the last official report) but no copy of the protocol came: the usual sign of an
    observer sent away before the count. Strength MISSING_COPY_STRENGTH: not enough alone
    (observers fall ill, phones die), it adds to what the figures say."""
    close = _close_seconds(turnout)
    if close is None:
        return _reasons([], "observer_copy_missing", [], [], [])
    seconds = _seconds(turnout["occurred_at"])
    late = (turnout["source"] != "official").to_numpy() & (seconds >= close - LAST_HOUR_SECONDS)
    present = set(turnout["station_id"][late])
    missing = sorted(present - set(copies["station_id"]))
    minutes = LAST_HOUR_SECONDS // 60
    return _reasons(missing, "observer_copy_missing", np.full(len(missing),
                                                              MISSING_COPY_STRENGTH),
                    np.ones(len(missing)),
                    [f"an observer counted voters in the last {minutes} minutes before the "
                     "close, but no copy of the protocol came"] * len(missing))


def removal_reasons(removals: pd.DataFrame, turnout: pd.DataFrame,
                    copies: pd.DataFrame) -> pd.DataFrame:
    """``observer_removed_before_count``: an observer's check-out for ``removed``
    (``removals``: ``station_id, occurred_at``) in the last LAST_HOUR_SECONDS before the
    close (the last official turnout report) or after it, where no copy of the protocol
    came: the count went unwatched because the watcher was sent away."""
    close = _close_seconds(turnout)
    if removals.empty or close is None:
        return _reasons([], "observer_removed_before_count", [], [], [])
    before_close = (close - _seconds(removals["occurred_at"])) / 60
    late = removals.assign(minutes=before_close)[before_close <= LAST_HOUR_SECONDS / 60]
    late = late[~late["station_id"].isin(set(copies.get("station_id", [])))]
    late = late.sort_values("minutes").drop_duplicates("station_id")
    detail = [f"an observer was expelled {m:.0f} minutes before the close and no copy of the "
              "protocol came" if m > 0 else "an observer was expelled after the close, before "
              "the count, and no copy of the protocol came" for m in late["minutes"]]
    return _reasons(late["station_id"], "observer_removed_before_count",
                    np.full(len(late), REMOVED_STRENGTH), late["minutes"], detail)


# --- Observer copies and arithmetic -------------------------------------------------------------

def copy_is_consistent(copies: pd.DataFrame) -> pd.Series:
    """The copy adds up (valid + invalid = cast ≤ issued): if not, a difference from the
    official protocol is more likely the observer's typing mistake than a rewrite."""
    valid = copies["votes"].map(lambda votes: sum(votes.values()))
    return ((valid + copies["invalid"] == copies["ballots_cast"])
            & (copies["ballots_cast"] <= copies["ballots_issued"]))


def copy_reasons(official: pd.DataFrame, copies: pd.DataFrame) -> pd.DataFrame:
    """``observer_copy_differs``: the official protocol differs from the observer's signed
    copy. Strength 8 when the copy adds up and the official one gives some option more votes
    (a court can compare the two documents); 3 when a consistent copy differs otherwise; 1
    (listed, not enough alone) when the copy itself does not add up (a typing mistake)."""
    if copies.empty:
        return _reasons([], "observer_copy_differs", [], [], [])
    table = protocol_discrepancies(pd.concat([official.assign(source="official"),
                                              copies.assign(source="observer_copy")]))
    table = table[table["discrepant"]]
    consistent = copy_is_consistent(copies.drop_duplicates("station_id", keep="last")
                                    .set_index("station_id")).reindex(table["station_id"])
    consistent = consistent.fillna(False).to_numpy(dtype=bool)
    gain = table["leader_gain"].to_numpy(dtype=float)
    strength = np.where(~consistent, 1.0, np.where(gain > 0, 8.0, 3.0))
    detail = [f"the official protocol differs from the observer's copy in {fields} (up to "
              f"{largest} votes){'' if ok else '; the copy does not add up'}"
              for fields, largest, ok in zip(table["fields"], table["largest"], consistent,
                                             strict=True)]
    return _reasons(table["station_id"], "observer_copy_differs", strength, table["largest"],
                    detail)


def arithmetic_reasons(official: pd.DataFrame) -> pd.DataFrame:
    """``impossible_arithmetic``: more ballots issued than registered voters or received
    ballots, more cast than issued (strength 10), valid + invalid ≠ cast (4);
    ``identical_figures``: the same ballots issued and votes as another station of the
    district (strength 4; only stations of 50 valid votes or more, where it is no chance)."""
    valid = official["votes"].map(lambda votes: sum(votes.values())).to_numpy(dtype=float)
    issued = official["ballots_issued"].to_numpy(dtype=float)
    cast = _column(official, "ballots_cast", issued)
    received = _column(official, "ballots_received", np.full(issued.size, np.inf))
    invalid = _column(official, "invalid", cast - valid)
    checks = [(issued > official["registered"].to_numpy(dtype=float), 10.0,
               "more ballots issued than registered voters"),
              (issued > received, 10.0, "more ballots issued than the station received"),
              (cast > issued, 10.0, "more ballots in the box than issued"),
              (valid + invalid != cast, 4.0, "valid and invalid ballots do not add up to cast")]
    frames = []
    for failed, strength, text in checks:
        frames.append(_reasons(official["station_id"][failed], "impossible_arithmetic",
                               np.full(int(failed.sum()), strength),
                               np.full(int(failed.sum()), 1.0),
                               np.full(int(failed.sum()), text, dtype=object)))
    key = official["ballots_issued"].astype(str) + "|" + official["votes"].map(
        lambda votes: ",".join(f"{o}={votes[o]}" for o in sorted(votes)))
    repeats = official.assign(key=key)[valid >= 50].groupby(["region_code", "key"])[
        "station_id"].transform("size")
    same = repeats[repeats > 1]
    frames.append(_reasons(official["station_id"][same.index], "identical_figures",
                           np.full(same.size, 4.0), same.to_numpy(dtype=float),
                           [f"the same ballots issued and votes as {n - 1} other station(s) of "
                            "the district" for n in same]))
    return pd.concat(frames, ignore_index=True).drop_duplicates(["station_id", "reason"])


# --- The score ----------------------------------------------------------------------------------

def all_reasons(official: pd.DataFrame, copies: pd.DataFrame | None = None,
                turnout: pd.DataFrame | None = None, registry: pd.DataFrame | None = None,
                removals: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every reason of every station (columns REASON_COLUMNS), strongest first.
    ``removals``: observers' check-outs for ``removed`` (``station_id, occurred_at``)."""
    official = official.reset_index(drop=True)
    leader = national_leader(official)
    registered = official.set_index("station_id")["registered"]
    frames = [round_reasons(official, leader), outlier_reasons(official, registry, leader),
              arithmetic_reasons(official), list_addition_reasons(official, registry)]
    if copies is None or copies.empty:
        copies = pd.DataFrame(columns=["station_id"])
    else:
        frames.append(copy_reasons(official, copies))
    if turnout is not None and not turnout.empty:
        frames += [curve_jump_reasons(turnout, registered),
                   observer_count_reasons(turnout, registered),
                   missing_copy_reasons(turnout, copies)]
        if removals is not None:
            frames.append(removal_reasons(removals, turnout, copies))
    reasons = pd.concat([frame for frame in frames if not frame.empty], ignore_index=True) \
        if any(not frame.empty for frame in frames) else pd.DataFrame(columns=REASON_COLUMNS)
    return reasons.sort_values(["strength", "station_id"], ascending=[False, True],
                               ignore_index=True)[REASON_COLUMNS]


def suspicion_scores(official: pd.DataFrame, reasons: pd.DataFrame,
                     threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """One row per official station: ``score`` (sum of its reasons' strengths), ``flagged``
    (score ≥ threshold), ``reasons`` (their names, strongest first, ``;``-separated) and
    ``top_reason`` (the strongest reason's detail). Highest score first."""
    strongest = reasons.sort_values("strength", ascending=False)
    grouped = strongest.groupby("station_id")
    score = grouped["strength"].sum()
    names = grouped["reason"].agg(";".join)
    top = grouped["detail"].first()
    table = official[["station_id", "region_code"]].drop_duplicates("station_id").copy()
    table["score"] = table["station_id"].map(score).fillna(0.0).astype(float)
    table["flagged"] = table["score"] >= threshold
    table["reasons"] = table["station_id"].map(names).fillna("")
    table["top_reason"] = table["station_id"].map(top).fillna("")
    return table.sort_values(["score", "station_id"], ascending=[False, True],
                             ignore_index=True)[SCORE_COLUMNS]
