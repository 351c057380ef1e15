"""Faust's own ceiling: the worker's app, topics and batching with nothing done per batch.

Run by bench/pipeline.py as a child process: python bench/support/faust_noop.py BOOTSTRAP
PREFIX GROUP BATCH BATCH_SECONDS [OUT]. It reads every event topic with ``noack_take`` in the
worker's app settings (batches of BATCH, so a stream buffer of four batches) and acknowledges
each batch at once, so the events per second it reaches bound what any Faust worker can do on
this machine. With OUT it first appends "topic partition offset" per event to that file
(tests/streams/test_transport.py checks what was read).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import faust  # noqa: E402

from saylau.core.contract import EVENT_TOPICS  # noqa: E402
from saylau.core.settings import load_settings  # noqa: E402
from saylau.streams.app import faust_app, run_worker  # noqa: E402


def main() -> None:
    bootstrap, prefix, group, batch, within = sys.argv[1:6]
    out = open(sys.argv[6], "a", encoding="utf-8") if len(sys.argv) > 6 else None  # noqa: SIM115
    settings = load_settings(worker_group=group, topic_prefix=prefix, worker_batch_size=int(batch),
                             data_dir=Path(tempfile.mkdtemp(prefix="saylau-noop-")))
    app = faust_app(settings, bootstrap)
    source = app.topic(*[f"{prefix}.{name}" for name in EVENT_TOPICS], key_type=bytes,
                       value_type=bytes, key_serializer="raw", value_serializer="raw",
                       allow_empty=True)

    @app.agent(source, name="saylau.noop")
    async def noop(stream: faust.StreamT) -> None:
        async for events in stream.noack_take(int(batch), within=float(within)):  # type: ignore[attr-defined]
            if out is not None:
                out.writelines(f"{e.message.topic} {e.message.partition} {e.message.offset}\n"
                               for e in events)
                out.flush()
            for event in events:
                await stream.ack(event)

    sys.argv = [sys.argv[0], "worker"]
    run_worker(app, "warn")


if __name__ == "__main__":
    main()
