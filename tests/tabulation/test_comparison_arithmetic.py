"""The comparison's arithmetic (saylau/analysis/comparison.py) on small hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from saylau.analysis.comparison import (
    compare_stations,
    differences,
    matching,
    region_summary,
    votes_moved,
)

OPTIONS = ("a", "b", "against_all")


def stations(rows: list[tuple[str, str, list[int], list[int] | None]]) -> pd.DataFrame:
    """(station, region, official votes, verified votes or None) per row."""
    records = []
    for station, region, official, verified in rows:
        record = {"station_id": station, "region_code": region,
                  "verified": int(verified is not None)}
        for number, option in enumerate(OPTIONS):
            record[f"official_{option}"] = official[number]
            record[f"verified_{option}"] = 0 if verified is None else verified[number]
        records.append(record)
    return pd.DataFrame(records)


def test_a_difference_is_official_minus_verified_and_can_be_negative() -> None:
    official = np.array([[10, 0, 3]])
    verified = np.array([[7, 2, 3]])
    assert differences(official, verified).tolist() == [[3, -2, 0]]


def test_votes_moved_counts_only_what_the_official_figures_gained() -> None:
    # 5 taken from b and given to a, 2 added from nowhere to against_all: 7 moved.
    difference = differences(np.array([[25, 15, 4], [1, 1, 1]]),
                             np.array([[20, 20, 2], [1, 1, 1]]))
    assert votes_moved(difference).tolist() == [7, 0]
    assert matching(difference).tolist() == [False, True]


def test_unsigned_warehouse_figures_do_not_wrap_around() -> None:
    official = np.array([[0, 1, 0]], dtype=np.uint32)
    verified = np.array([[4, 0, 0]], dtype=np.uint32)
    assert differences(official, verified).tolist() == [[-4, 1, 0]]
    assert votes_moved(differences(official, verified)).tolist() == [1]


def test_a_station_without_a_verified_copy_has_empty_figures_not_zeros() -> None:
    table = compare_stations(stations([("S1", "R1", [10, 5, 1], None),
                                       ("S2", "R1", [10, 5, 1], [9, 6, 1])]), OPTIONS)
    first, second = table.iloc[0], table.iloc[1]
    assert first["verified_a"] is pd.NA and first["difference_a"] is pd.NA
    assert first["matches"] is pd.NA and first["votes_moved"] is pd.NA
    assert first["official_a"] == 10
    assert (second["difference_a"], second["difference_b"], second["votes_moved"]) == (1, -1, 1)
    assert not second["matches"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_region_summary_adds_up_the_stations(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for number in range(60):
        official = rng.integers(0, 50, len(OPTIONS)).tolist()
        choice = rng.integers(0, 3)
        verified = (None if choice == 0 else official if choice == 1
                    else (np.array(official) + rng.integers(-3, 4, len(OPTIONS))).clip(0)
                    .tolist())
        rows.append((f"S{number:02d}", f"R{number % 4}", official, verified))
    table = compare_stations(stations(rows), OPTIONS)
    summary = region_summary(table).set_index("region_code")
    for region, group in table.groupby("region_code"):
        expected_moved = sum(
            sum(max(0, o - v) for o, v in zip(official, verified, strict=True))
            for station, r, official, verified in rows if r == region and verified is not None)
        expected_matching = sum(1 for _s, r, official, verified in rows
                                if r == region and verified == official)
        assert summary.at[region, "stations_official"] == len(group)
        assert summary.at[region, "stations_compared"] == sum(
            1 for _s, r, _o, v in rows if r == region and v is not None)
        assert summary.at[region, "stations_matching"] == expected_matching
        assert summary.at[region, "votes_moved"] == expected_moved


def test_an_empty_table_gives_an_empty_summary() -> None:
    summary = region_summary(compare_stations(stations([]).reindex(
        columns=["station_id", "region_code", "verified",
                 *[f"{side}_{o}" for o in OPTIONS for side in ("official", "verified")]]),
        OPTIONS))
    assert summary.empty and list(summary.columns)[0] == "region_code"
