"""Benchmark: how well the station suspicion score finds falsified stations, on simulated days.

Run with a hard timeout, e.g. ``timeout 900 .venv/bin/python bench/forensics.py``. Generates
``--days`` simulated days (different seeds and mixes of falsification, honest oddities
included), scores every station from the official results, observer copies and turnout
reports exactly as the warehouse holds them (the day's messages, parsed), and prints per
falsification kind the recall at the default threshold, the false-flag rate over clean
stations (per honest oddity too) and the area under the ROC curve. The baseline, measured
in the same run, is the old rule: observer copy differs, or turnout and leader share both
multiples of 5 %. The last line is
``forensics_bench days=… stations=… recall=… false_flag_rate=… auc=…`` where recall counts
falsified stations whose falsification moved at least 5 % of registered voters.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from saylau.analysis.forensics import protocol_discrepancies, round_flags, station_results
from saylau.analysis.suspicion import DEFAULT_THRESHOLD, all_reasons, suspicion_scores
from saylau.core.election import Election
from saylau.geo.registry import synthetic_registry
from saylau.ingest.simulator import NO_NOISE, Scenario, simulate_day
from saylau.ingest.simulator.variants import VARIANTS

MATERIAL = 0.05  # falsification that moved at least this share of registered voters
DAY_ADDITIONS = 0.02  # honest voters added to the lists on the day, of the registered
PROTOCOL = ["station_id", "registered", "ballots_received", "ballots_issued", "ballots_cast",
            "invalid", "votes"]


@dataclass
class Tables:
    official: pd.DataFrame
    copies: pd.DataFrame
    turnout: pd.DataFrame
    registry: pd.DataFrame
    removals: pd.DataFrame
    truth: dict


def day_tables(seed: int, stations: int, mix: tuple[float, ...]) -> Tables:
    registry = synthetic_registry(stations, stations * 900, seed=seed)
    scenario = Scenario(seed=seed, noise=NO_NOISE, falsified_share=0.06,
                        variant_mix=mix, honest_oddities=0.03,
                        day_additions=DAY_ADDITIONS)
    day = simulate_day(registry, Election(), scenario)
    region = dict(zip(registry["station_id"], registry["region_code"], strict=True))
    protocols, turnout, removals = [], [], []
    for message in day.messages():
        event = json.loads(message.value)
        if event["kind"] == "protocol":
            protocols.append({**{k: event.get(k) for k in PROTOCOL}, "source": event["source"],
                              "region_code": region[event["station_id"]]})
        elif event["kind"] == "checkout" and event.get("reason") == "removed" \
                and event.get("role") == "observer":
            removals.append((event["station_id"], event["occurred_at"]))
        elif event["kind"] == "turnout":
            turnout.append((event["station_id"], event["source"], event["occurred_at"],
                            event["ballots_issued"]))
    frame = pd.DataFrame(protocols).drop_duplicates(["station_id", "source"], keep="last")
    curves = pd.DataFrame(turnout, columns=["station_id", "source", "occurred_at", "ballots"])
    curves["occurred_at"] = pd.to_datetime(curves["occurred_at"], utc=True)
    expelled = pd.DataFrame(removals, columns=["station_id", "occurred_at"])
    expelled["occurred_at"] = pd.to_datetime(expelled["occurred_at"], utc=True)
    return Tables(frame[frame["source"] == "official"].reset_index(drop=True),
                  frame[frame["source"] == "observer_copy"].reset_index(drop=True),
                  curves, registry, expelled, day.truth)


def old_rule(tables: Tables) -> set[str]:
    both = pd.concat([tables.official, tables.copies])
    differs = protocol_discrepancies(both)
    rounds = round_flags(station_results(tables.official))
    return set(differs["station_id"][differs["discrepant"]]) | set(
        rounds["station_id"][rounds["flagged"]])


def labelled(tables: Tables) -> pd.DataFrame:
    """Per station: its score, old-rule flag, falsification kind (or clean / an oddity) and
    the share of registered voters the falsification moved."""
    reasons = all_reasons(tables.official, tables.copies, tables.turnout, tables.registry,
                          tables.removals)
    scores = suspicion_scores(tables.official, reasons).set_index("station_id")
    truth = {s["station_id"]: s for s in tables.truth["falsification"]["stations"]}
    oddities = {s["station_id"]: s["kind"] for s in tables.truth.get("oddities", [])}
    registered = tables.official.set_index("station_id")["registered"]
    old = old_rule(tables)
    observed = set(tables.copies["station_id"])
    rows = []
    for station, row in scores.iterrows():
        fake = truth.get(station)
        moved = 0.0 if fake is None else (fake["added_ballots"] + fake["moved_votes"]) / max(
            int(registered[station]), 1)
        rows.append({"station_id": station, "score": row["score"],
                     "old_flag": station in old, "observed": station in observed,
                     "kind": fake.get("variant", fake["kind"]) if fake else
                     oddities.get(station, "clean"),
                     "falsified": fake is not None, "moved": moved})
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame, threshold: float) -> list[str]:
    lines = [f"{'kind':32} {'stations':>8} {'recall':>7} {'recall≥5%':>9} "
             f"{'unwatched≥5%':>12} {'old rule':>8}"]
    flagged = frame["score"] >= threshold
    for kind, part in frame[frame["falsified"]].groupby("kind"):
        material = part["moved"] >= MATERIAL
        unwatched = material & ~part["observed"]
        hit = flagged[part.index]
        lines.append(f"{kind:32} {len(part):8d} {hit.mean():7.3f} {_mean(hit[material]):9.3f} "
                     f"{_mean(hit[unwatched]):12.3f} {part['old_flag'].mean():8.3f}")
    lines.append(f"{'clean kind':32} {'stations':>8} {'flagged':>7} {'old rule':>8}")
    for kind, part in frame[~frame["falsified"]].groupby("kind"):
        lines.append(f"{kind:32} {len(part):8d} {flagged[part.index].mean():7.4f} "
                     f"{part['old_flag'].mean():8.4f}")
    return lines


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else float("nan")


def figures(frame: pd.DataFrame, threshold: float, column: str = "score") -> dict[str, float]:
    flagged = frame[column] >= threshold if column == "score" else frame[column]
    material = frame["falsified"] & (frame["moved"] >= MATERIAL)
    clean = ~frame["falsified"]
    unwatched = material & ~frame["observed"]
    return {"recall": float(flagged[material].mean()),
            "recall_unwatched": float(flagged[unwatched].mean()),
            "false_flag_rate": float(flagged[clean].mean()),
            "auc": auc(frame[column].astype(float).to_numpy(), frame["falsified"].to_numpy())}


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve: the Mann-Whitney U over (positives × negatives)."""
    u = stats.mannwhitneyu(score[positive], score[~positive]).statistic
    return float(u / (positive.sum() * (~positive).sum()))


def mixes(days: int) -> list[tuple[float, ...]]:
    """A different mix of falsification variants every day (Dirichlet, seeded)."""
    rng = np.random.default_rng(22)
    return [tuple(float(x) for x in rng.dirichlet(np.ones(len(VARIANTS)))) for _ in range(days)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--stations", type=int, default=1500)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args()
    started = time.perf_counter()
    frames = []
    for number, mix in enumerate(mixes(args.days)):
        tables = day_tables(1000 + number, args.stations, mix)
        frames.append(labelled(tables).assign(day=number))
        print(f"day {number + 1}/{args.days} done ({time.perf_counter() - started:.0f} s)",
              file=sys.stderr)
    frame = pd.concat(frames, ignore_index=True)
    for line in summary(frame, args.threshold):
        print(line)
    for threshold in (2.5, 2.6, 2.7, 2.8, 2.9, 3.0, 3.5, 4.0, 5.0, 6.0):
        f = figures(frame, threshold)
        print(f"threshold {threshold:4.1f}: recall≥5% {f['recall']:.3f} (unwatched "
              f"{f['recall_unwatched']:.3f}) false_flag_rate {f['false_flag_rate']:.4f}")
    old = figures(frame, 0.0, "old_flag")
    print(f"baseline (old rule): recall≥5% {old['recall']:.3f} (unwatched "
          f"{old['recall_unwatched']:.3f}) false_flag_rate {old['false_flag_rate']:.4f} "
          f"auc {old['auc']:.3f}")
    new = figures(frame, args.threshold)
    print(f"forensics_bench days={args.days} stations={len(frame)} recall={new['recall']:.3f} "
          f"false_flag_rate={new['false_flag_rate']:.4f} auc={new['auc']:.3f} "
          f"recall_unwatched={new['recall_unwatched']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
