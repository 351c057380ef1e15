"""Export benchmark: a media snapshot bundle of a simulated 10,000-station election day.

Stores the day in an embedded chDB warehouse as the worker would (validated, enriched,
batched; alerts not judged), then measures in the same run:
  queries   taking the snapshot alone (every warehouse query of a bundle): the floor,
  naive     the public station list written row by row (iterrows, one json.dumps per
            feature), against the vectorised writer the bundle uses,
  export    the whole bundle: snapshot, tables, exit poll, CSV/GeoJSON, three PNG maps,
            report, manifest, atomic publication (best and median of --runs).
Usage: python bench/export.py [--stations N] [--runs R]. Target: under 10 s on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from saylau.exports import Exporter, verify_bundle  # noqa: E402
from saylau.exports.files import write_stations  # noqa: E402
from saylau.exports.snapshot import take_snapshot  # noqa: E402
from saylau.geo.commission import empty_commission  # noqa: E402
from saylau.geo.registry import synthetic_registry  # noqa: E402
from saylau.ingest.simulator import NO_NOISE, Scenario  # noqa: E402
from saylau.warehouse.client import open_warehouse  # noqa: E402
from tests.exports.days import ELECTION, simulated_day  # noqa: E402

AS_OF = ELECTION.local(dt.time(21, 0))  # after the close: the exit-poll estimates too


def naive_station_files(stations: pd.DataFrame, folder: Path) -> None:
    """The baseline writer: one row, one feature, one json.dumps at a time."""
    with (folder / "stations.csv").open("w", encoding="utf-8") as csv_file:
        csv_file.write(",".join(stations.columns) + ",commission\n")
        for _index, row in stations.iterrows():
            csv_file.write(",".join(str(v) for v in row.tolist()) + ",[]\n")
    features = []
    for _index, row in stations.iterrows():
        properties = {k: (int(v) if k == "registered_voters" else v)
                      for k, v in row.items() if k not in ("lat", "lon")}
        features.append(json.dumps({"type": "Feature", "properties": {**properties,
                                    "commission": []}, "geometry": {
                                    "type": "Point", "coordinates": [row["lon"], row["lat"]]}}))
    (folder / "stations.geojson").write_text(
        '{"type": "FeatureCollection", "features": [' + ",".join(features) + "]}",
        encoding="utf-8")


def timed(action) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="saylau-bench-export-"))
    try:
        registry = synthetic_registry(n_stations=args.stations, seed=2026)
        warehouse = open_warehouse(f"chdb://{folder}/warehouse")
        load_s, day = timed(lambda: simulated_day(
            warehouse, registry, Scenario(seed=7, noise=NO_NOISE), alerts=False))
        print(f"stored a simulated day: {args.stations:,} stations, {len(day.events):,} "
              f"events in {load_s:.1f} s (not part of the export)")

        query_s, snapshot = timed(lambda: take_snapshot(warehouse, AS_OF))
        print(f"queries  (baseline) snapshot alone           {query_s:6.2f} s")
        (folder / "naive").mkdir()
        naive_s, _ = timed(lambda: naive_station_files(snapshot.stations, folder / "naive"))
        (folder / "fast").mkdir()
        fast_s, _ = timed(lambda: write_stations(folder / "fast", snapshot.stations,
                                                 empty_commission()))
        print(f"stations files, row by row (baseline)        {naive_s:6.2f} s")
        print(f"stations files, the bundle's writer          {fast_s:6.2f} s "
              f"({naive_s / fast_s:.1f}x faster)")

        exporter = Exporter.create(warehouse, ELECTION, folder / "exports")
        runs = []
        for _ in range(args.runs):
            seconds, bundle = timed(lambda: exporter.export(AS_OF))
            runs.append(seconds)
        assert verify_bundle(bundle) == []  # type: ignore[arg-type]
        best, median = min(runs), statistics.median(runs)
        print(f"export   whole bundle, best / median of {args.runs}   {best:6.2f} / "
              f"{median:.2f} s ({median - query_s:.2f} s beyond the queries); "
              f"target < 10 s: {'met' if median < 10 else 'MISSED'}")
        warehouse.close()
        print(f"export_bench stations={args.stations} seconds={median:.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
