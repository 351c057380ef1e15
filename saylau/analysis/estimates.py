"""Vote shares and turnout estimated from a sample of stations, with margins of error.

Stations are the clusters. For one quantity (an option's share, or turnout) station ``i`` of the
sample gives ``a_i`` (votes for the option, or ballots issued) and ``m_i`` (valid votes, or
registered voters). With ``k`` sampled stations out of ``K``:

    p̂   = Σa / Σm                                     (ratio estimator)
    f   = k / K                                       (sampling fraction)
    m̄   = Σm / k
    Var = (1 − f) / (k · m̄²) · [Σa² − 2p̂·Σam + p̂²·Σm²] / (k − 1)
    margin = z · √Var,   z = 1.960 (95 %), 2.576 (99 %)

The stratified version (strata = regions, ``K_h`` stations in stratum ``h``, ``k_h`` sampled) is
the combined ratio estimator

    p̂_st = Σ_h (K_h/k_h)·Σ_{i∈h} a_i  /  Σ_h (K_h/k_h)·Σ_{i∈h} m_i

whose standard error comes from a stratified bootstrap: stations are redrawn with replacement
within each stratum (``k_h`` of ``k_h``), ``B`` times, and SE = the standard deviation of the
``B`` replicates of p̂_st (no finite-population correction: conservative when ``f_h`` is large;
a stratum with one sampled station contributes no variance).

Input tables (plain DataFrames):
- a *tally*: ``station_id, region_code, option, count`` — one row per station and option
  (``tally_from_protocols`` and ``tally_from_exitpolls`` make one);
- a *turnout sample*: ``station_id, region_code, ballots_issued, registered``;
- the *population*: stations per region, ``{region_code: K_h}`` (from the station registry).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import norm

Floats = npt.NDArray[np.float64]

NATIONAL = "national"
NON_VOTE_ANSWERS = ("refused", "undecided")  # exit-poll answers that are no vote
LEVELS = (0.95, 0.99)


def z_value(confidence: float) -> float:
    """Two-sided normal quantile: z = Φ⁻¹((1 + confidence) / 2); 1.960 at 95 %, 2.576 at 99 %."""
    return float(norm.ppf((1.0 + confidence) / 2.0))


@dataclass(frozen=True)
class RatioEstimate:
    p: float  # p̂ = Σa / Σm
    variance: float  # Var(p̂) by the formula in the module docstring
    k: int  # stations in the sample
    population: int  # K, stations in the population

    @property
    def se(self) -> float:
        return math.sqrt(self.variance)

    def margin(self, confidence: float = 0.95) -> float:
        return z_value(confidence) * self.se

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        return self.p - self.margin(confidence), self.p + self.margin(confidence)


def ratio_estimate(a: npt.ArrayLike, m: npt.ArrayLike, population: int) -> RatioEstimate:
    """p̂ = Σa/Σm over the ``k`` sampled stations and Var(p̂) (module docstring).

    With ``k < 2`` or ``Σm = 0`` the variance is NaN (it cannot be estimated)."""
    a_ = np.asarray(a, dtype=np.float64)
    m_ = np.asarray(m, dtype=np.float64)
    k = int(a_.size)
    if k > population:
        raise ValueError(f"sample of {k} stations from a population of {population}")
    if k == 0 or m_.sum() == 0:
        return RatioEstimate(math.nan, math.nan, k, population)
    p = float(a_.sum() / m_.sum())
    return RatioEstimate(p, _variance(a_, m_, p, population), k, population)


def _variance(a: Floats, m: Floats, p: float, population: int) -> float:
    k = a.size
    if k < 2:
        return math.nan
    f = k / population
    m_bar = m.sum() / k
    residual_ss = (a * a).sum() - 2 * p * (a * m).sum() + p * p * (m * m).sum()
    return float(max(residual_ss, 0.0) * (1 - f) / (k * m_bar**2) / (k - 1))


def unit_variance(a: npt.ArrayLike, m: npt.ArrayLike) -> float:
    """S² = [Σa² − 2p̂Σam + p̂²Σm²] / ((k − 1)·m̄²): per-station variance, so Var = (1−f)·S²/k."""
    a_ = np.asarray(a, dtype=np.float64)
    m_ = np.asarray(m, dtype=np.float64)
    estimate = ratio_estimate(a_, m_, a_.size)
    if a_.size < 2:
        return math.nan
    m_bar = m_.sum() / a_.size
    p = estimate.p
    return float(((a_ * a_).sum() - 2 * p * (a_ * m_).sum() + p * p * (m_ * m_).sum())
                 / ((a_.size - 1) * m_bar**2))


def sample_size(margin: float, s2: float, population: int, confidence: float = 0.95) -> int:
    """Stations needed so that z·√Var ≤ ``margin``, from Var = (1 − k/K)·S²/k:

        n₀ = z²·S² / margin²,   k = ⌈n₀ / (1 + n₀/K)⌉   (never more than K)

    ``s2`` is the per-station variance S² (``unit_variance`` of a pilot sample)."""
    if margin <= 0:
        raise ValueError("margin must be positive")
    n0 = z_value(confidence) ** 2 * s2 / margin**2
    return min(population, math.ceil(n0 / (1 + n0 / population) - 1e-9))


# --- Tables ------------------------------------------------------------------------------------

def tally_from_protocols(protocols: pd.DataFrame, source: str = "observer_copy") -> pd.DataFrame:
    """``station_id, region_code, source, votes`` (a dict option → count, as
    ``saylau.warehouse.queries.latest_protocols`` gives) → a tally of the protocols of
    ``source``."""
    chosen = protocols[protocols["source"] == source]
    rows = [(station, region, option, int(count))
            for station, region, votes in zip(chosen["station_id"], chosen["region_code"],
                                              chosen["votes"], strict=True)
            for option, count in votes.items()]
    return pd.DataFrame(rows, columns=["station_id", "region_code", "option", "count"])


def tally_from_exitpolls(tallies: pd.DataFrame,
                         exclude: Iterable[str] = NON_VOTE_ANSWERS) -> pd.DataFrame:
    """``region_code, station_id, option, answers`` (``exitpoll_tallies``) → a tally of the
    answers that are votes (``refused`` and ``undecided`` left out)."""
    kept = tallies[~tallies["option"].isin(list(exclude))]
    return kept.rename(columns={"answers": "count"})[
        ["station_id", "region_code", "option", "count"]].reset_index(drop=True)


def _wide(tally: pd.DataFrame) -> pd.DataFrame:
    """One row per station (index station_id, region_code), one column per option."""
    return tally.pivot_table(index=["station_id", "region_code"], columns="option",
                             values="count", aggfunc="sum", fill_value=0)


def _rows(scope: str, quantity: str, estimate: RatioEstimate) -> dict[str, object]:
    row: dict[str, object] = {"scope": scope, "quantity": quantity, "estimate": estimate.p,
                              "se": estimate.se, "stations": estimate.k,
                              "population": estimate.population}
    for level in LEVELS:
        pct = round(level * 100)
        low, high = estimate.interval(level)
        row.update({f"margin_{pct}": estimate.margin(level), f"low_{pct}": low,
                    f"high_{pct}": high})
    return row


def _scopes(regions: pd.Index, population: Mapping[str, int]) -> list[tuple[str, Floats, int]]:
    """(scope, mask over stations, K): the nation, then each region with a sample."""
    scopes = [(NATIONAL, np.ones(len(regions), dtype=bool), int(sum(population.values())))]
    for region in sorted(set(regions)):
        scopes.append((str(region), np.asarray(regions == region), int(population[region])))
    return scopes


def share_table(tally: pd.DataFrame, population: Mapping[str, int]) -> pd.DataFrame:
    """Each option's share of valid votes (``against_all`` included), nationally and per region.

    Columns: ``scope`` (``national`` or a region code), ``quantity`` (the option), ``estimate``,
    ``se``, ``margin_95``, ``low_95``, ``high_95``, ``margin_99``, ``low_99``, ``high_99``,
    ``stations`` (k), ``population`` (K). a = the option's count, m = the station's total."""
    wide = _wide(tally)
    m = wide.to_numpy(dtype=np.float64).sum(axis=1)
    regions = wide.index.get_level_values("region_code")
    rows = [_rows(scope, str(option), ratio_estimate(wide[option].to_numpy()[mask], m[mask], K))
            for scope, mask, K in _scopes(regions, population) for option in wide.columns]
    return pd.DataFrame(rows)


def turnout_table(sample: pd.DataFrame, population: Mapping[str, int]) -> pd.DataFrame:
    """Turnout (a = ``ballots_issued``, m = ``registered``) nationally and per region; columns as
    ``share_table`` with ``quantity`` = ``turnout``."""
    a = sample["ballots_issued"].to_numpy(dtype=np.float64)
    m = sample["registered"].to_numpy(dtype=np.float64)
    regions = pd.Index(sample["region_code"])
    rows = [_rows(scope, "turnout", ratio_estimate(a[mask], m[mask], K))
            for scope, mask, K in _scopes(regions, population)]
    return pd.DataFrame(rows)


# --- Counted (no sample) ----------------------------------------------------------------------
# The official result counts every station that reported: a count, not an estimate, so it has
# no margin of error. Its rows sit beside the estimates' (same scope and quantity codes).

COUNT_COLUMNS = ["scope", "quantity", "result", "count", "total", "stations", "population"]


def _count_row(scope: str, quantity: str, count: float, total: float, stations: int,
               population: int) -> dict[str, object]:
    return {"scope": scope, "quantity": quantity,
            "result": count / total if total else math.nan,
            "count": int(count), "total": int(total), "stations": stations,
            "population": population}


def counted_share_table(tally: pd.DataFrame, population: Mapping[str, int]) -> pd.DataFrame:
    """Each option's share of the valid votes counted (``against_all`` included), nationally
    and per region, over every station of ``tally`` (no sample: no margin).

    Columns (``COUNT_COLUMNS``): ``scope``, ``quantity`` (the option), ``result`` = ``count`` /
    ``total`` (the option's votes over all valid votes of the scope), ``stations`` (stations
    counted), ``population`` (stations of the scope in the registry)."""
    if tally.empty:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    wide = _wide(tally)
    totals = wide.to_numpy(dtype=np.float64).sum(axis=1)
    regions = wide.index.get_level_values("region_code")
    rows = [_count_row(scope, str(option), wide[option].to_numpy()[mask].sum(),
                       totals[mask].sum(), int(mask.sum()), K)
            for scope, mask, K in _scopes(regions, population) for option in wide.columns]
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


def counted_turnout_table(protocols: pd.DataFrame, population: Mapping[str, int]
                          ) -> pd.DataFrame:
    """Turnout counted (``count`` = ballots issued, ``total`` = registered voters) over every
    station of ``protocols``, nationally and per region; columns as ``counted_share_table``
    with ``quantity`` = ``turnout``."""
    if protocols.empty:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    issued = protocols["ballots_issued"].to_numpy(dtype=np.float64)
    registered = protocols["registered"].to_numpy(dtype=np.float64)
    regions = pd.Index(protocols["region_code"])
    rows = [_count_row(scope, "turnout", issued[mask].sum(), registered[mask].sum(),
                       int(mask.sum()), K)
            for scope, mask, K in _scopes(regions, population)]
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


# --- Stratified --------------------------------------------------------------------------------

def stratified_ratio(a: npt.ArrayLike, m: npt.ArrayLike, stratum: npt.ArrayLike,
                     population: Mapping[str, int], replicates: int = 1000,
                     rng: np.random.Generator | None = None) -> tuple[float, float]:
    """(p̂_st, bootstrap SE) of the combined ratio estimator (module docstring)."""
    a_, m_ = np.asarray(a, dtype=np.float64), np.asarray(m, dtype=np.float64)
    labels = np.asarray(stratum)
    rng = rng if rng is not None else np.random.default_rng(0)
    weighted_a, weighted_m = np.zeros(replicates + 1), np.zeros(replicates + 1)
    for h in np.unique(labels):
        rows = np.nonzero(labels == h)[0]
        weight = population[str(h)] / rows.size  # K_h / k_h
        draws = rng.integers(0, rows.size, size=(replicates, rows.size))
        weighted_a[0] += weight * a_[rows].sum()
        weighted_m[0] += weight * m_[rows].sum()
        weighted_a[1:] += weight * a_[rows][draws].sum(axis=1)
        weighted_m[1:] += weight * m_[rows][draws].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = weighted_a / weighted_m
    return float(p[0]), float(np.std(p[1:], ddof=1))


def stratified_share_table(tally: pd.DataFrame, population: Mapping[str, int],
                           replicates: int = 1000, seed: int = 0) -> pd.DataFrame:
    """National shares by the stratified (strata = regions) estimator with bootstrap SE.

    Columns: ``quantity`` (option), ``estimate``, ``se``, ``margin_95``, ``low_95``,
    ``high_95``, ``margin_99``, ``low_99``, ``high_99``, ``stations``, ``population``."""
    wide = _wide(tally)
    m = wide.to_numpy(dtype=np.float64).sum(axis=1)
    regions = wide.index.get_level_values("region_code").to_numpy()
    rows = []
    for option in wide.columns:
        # The same seed for every option: each uses the same bootstrap samples of stations.
        p, se = stratified_ratio(wide[option].to_numpy(), m, regions, population, replicates,
                                 np.random.default_rng(seed))
        row = _rows(NATIONAL, str(option), RatioEstimate(p, se * se, len(wide),
                                                          int(sum(population.values()))))
        rows.append({key: value for key, value in row.items() if key != "scope"})
    return pd.DataFrame(rows)


def stratified_turnout(sample: pd.DataFrame, population: Mapping[str, int],
                       replicates: int = 1000, seed: int = 0) -> dict[str, float]:
    """National turnout by the stratified estimator: ``estimate``, ``se``, ``margin_95``,
    ``margin_99``; ``sample`` has ``region_code, ballots_issued, registered``."""
    p, se = stratified_ratio(sample["ballots_issued"], sample["registered"],
                             sample["region_code"], population, replicates,
                             np.random.default_rng(seed))
    return {"estimate": p, "se": se, "margin_95": z_value(0.95) * se,
            "margin_99": z_value(0.99) * se}
