"""Soak benchmark: a whole simulated election day over HTTP while every part is killed.

A day of ``--stations`` stations (every kind of report, duplicates, late and malformed
messages) is sent to the gateway in ``--minutes`` minutes, as phones send it (batches, retried
with the same event ids until answered), while a seeded fault schedule SIGKILLs and restarts
the workers, the gateway, the embedded broker (restarted empty, topics re-created), the
ClickHouse server and the dashboard, each twice, and pauses a worker (SIGSTOP) long enough for
its consumer group to rebalance; screens poll the dashboard and a media export runs every
minute (each bundle checked against its manifest). The machinery is
``bench/support/soak_harness.py`` (also used by tests/operations/test_soak.py).

    python bench/soak.py [--stations 10000] [--minutes 20] [--seed 2026] [--screens 100]

Last line: ``soak_bench stations=… sent=… acked=… stored=… lost=… duplicated=… faults=…
max_recovery_s=… screen_errors=… screen_p95_ms=…``. Exit status 1 if anything was lost or
doubled, a fault was not recovered from in 30 s, an export failed its manifest (or failed
outside a fault), a malformed message is not in `rejected` with its reason, or the wall,
the last export and a replay from the archive differ in a region's figures (each difference
is printed).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support.soak_harness import soak  # noqa: E402


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # so every child is stopped on the way out


def main() -> int:
    signal.signal(signal.SIGTERM, _terminated)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--screens", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the run's folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="saylau-soak-"))
    print(f"folder: {folder}", flush=True)
    try:
        with soak(folder, stations=args.stations, minutes=args.minutes, seed=args.seed,
                  screens=args.screens, log=lambda text: print(text, flush=True)) as run:
            run.run()
            figures = run.check()
            try:
                differences = run.agreement()
            except Exception as error:  # noqa: BLE001 - reported, and the run fails
                differences = [f"the comparison failed: {error!r}"]
            faults = run.faults
            restarts = dict(run.restarts)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print("per fault (kind, at, how, recovery):")
    for fault in faults:
        recovery = "none" if fault.recovery_s is None else f"{fault.recovery_s:.1f} s"
        print(f"  {fault.kind:10} at {fault.at:7.1f} s  recovery {recovery:>8}  {fault.aimed}")
    print(f"supervisor restarts (a part that exited on its own): {restarts}")
    print("screens: during faults errors={screen_errors_in_faults} p95_ms="
          "{screen_p95_in_faults_ms:.0f}; outside errors={screen_errors_outside} p95_ms="
          "{screen_p95_outside_ms:.0f}; requests={screen_requests}".format(**figures))
    print("malformed: sent={malformed_sent} refused={malformed_refused}; refused events="
          "{refused}; retries={retries}; raw rows={raw_rows}; stored but not acknowledged="
          "{unacked_stored}; stored but never sent={not_sent_stored}; malformed not in rejected="
          "{malformed_not_rejected}; exports={exports} bad_exports={bad_exports} "
          "failed while a fault lasted={failed_exports_in_faults}".format(**figures))
    print(f"wall, last export and replay per region: "
          f"{'identical' if not differences else f'{len(differences)} differences'}")
    for line in differences:
        print(f"  {line}")
    print("soak_bench stations={stations} sent={sent} acked={acked} stored={stored} "
          "lost={lost} duplicated={duplicated} faults={faults} max_recovery_s="
          "{max_recovery_s:.1f} screen_errors={screen_errors} screen_p95_ms="
          "{screen_p95_ms:.0f}".format(**figures))
    bad = (figures["lost"] or figures["duplicated"] or figures["unrecovered"]
           or figures["max_recovery_s"] > 30 or figures["bad_exports"]
           or figures["not_sent_stored"] or figures["malformed_not_rejected"] or differences)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
