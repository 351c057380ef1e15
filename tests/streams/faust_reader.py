"""A Faust app on the worker's transport that only records what it reads (a test's child).

python tests/streams/faust_reader.py BOOTSTRAP PREFIX GROUP BATCH OUT: reads every event
topic with ``noack_take(BATCH)`` in the worker's app settings (so a stream buffer of four
batches), writes "topic partition offset" per event to OUT, then acknowledges the batch.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import faust  # noqa: E402

from ingest.contract import EVENT_TOPICS  # noqa: E402
from saylau.settings import load_settings  # noqa: E402
from streams.app import faust_app, run_worker  # noqa: E402


def main() -> None:
    bootstrap, prefix, group, batch, out = sys.argv[1:6]
    settings = load_settings(worker_group=group, topic_prefix=prefix,
                             worker_batch_size=int(batch), worker_rebalance_seconds=3.0,
                             data_dir=Path(tempfile.mkdtemp(prefix="saylau-reader-")))
    app = faust_app(settings, bootstrap)
    source = app.topic(*[f"{prefix}.{name}" for name in EVENT_TOPICS], key_type=bytes,
                       value_type=bytes, key_serializer="raw", value_serializer="raw",
                       allow_empty=True)
    record = open(out, "a", encoding="utf-8")  # noqa: SIM115 - open while the worker runs

    @app.agent(source, name="saylau.reader")
    async def reader(stream: faust.StreamT) -> None:
        async for events in stream.noack_take(int(batch), within=0.2):  # type: ignore[attr-defined]
            record.writelines(f"{e.message.topic} {e.message.partition} {e.message.offset}\n"
                              for e in events)
            record.flush()
            for event in events:
                await stream.ack(event)

    sys.argv = [sys.argv[0], "worker"]
    run_worker(app, "warn")


if __name__ == "__main__":
    main()
