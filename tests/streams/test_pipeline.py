"""StorePipeline with a ThreadedStore: inserts in order on one thread, judges waiting batches
together, acks a batch only after its insert and its judgement."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

from saylau.streams.pipeline import EXIT_STORE_FAILED, Pending, StorePipeline, ThreadedStore


class Recorder:
    """A store that records what happened, in order, on its thread."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.log: list[tuple[str, object]] = []
        self.gate = gate

    def insert(self, batch: int) -> int:
        if self.gate is not None:
            self.gate.wait(10)
        time.sleep(0.01 * (5 - batch % 5))  # earlier batches take longer
        self.log.append(("insert", batch))
        return batch

    def judge(self, batches: list[int]) -> list[int]:
        self.log.append(("judge", tuple(batches)))
        return [batch * 10 for batch in batches]

    def close(self) -> None:
        self.log.append(("close", None))


def run_batches(recorder: Recorder, count: int, depth: int = 4) -> list[tuple[int, list]]:
    acked: list[tuple[int, list]] = []

    async def finish(group: list[Pending[int, int]], judged: list[int]) -> None:
        assert judged == [pending.stored * 10 for pending in group]  # what insert returned
        for pending in group:
            acked.append((pending.batch, list(recorder.log)))

    async def run() -> None:
        store = ThreadedStore(recorder)
        async with StorePipeline(store, finish, depth) as pipeline:
            for batch in range(count):
                await pipeline.submit([f"event-{batch}"], batch)
            if recorder.gate is not None:
                recorder.gate.set()
            await pipeline.drain()
        store.close()

    asyncio.run(run())
    return acked


def test_batches_are_acked_in_order_after_their_insert_and_judgement() -> None:
    recorder = Recorder()
    acked = run_batches(recorder, 8)
    assert [step for step in recorder.log if step[0] == "insert"] == \
        [("insert", batch) for batch in range(8)]
    assert [batch for batch, _ in acked] == list(range(8))
    assert recorder.log[-1] == ("close", None)
    for batch, log_then in acked:
        inserted_at = log_then.index(("insert", batch))
        judged_at = next(i for i, (step, what) in enumerate(log_then)
                         if step == "judge" and batch in what)  # type: ignore[operator]
        assert inserted_at < judged_at  # judged after its rows were in


def test_batches_waiting_together_are_judged_once() -> None:
    gate = threading.Event()  # inserts wait until every batch has been submitted
    recorder = Recorder(gate)
    run_batches(recorder, 5, depth=4)
    judged = [what for step, what in recorder.log if step == "judge"]
    assert sorted(batch for group in judged for batch in group) == list(range(5))  # type: ignore[attr-defined]
    assert len(judged) < 5


def test_submit_waits_while_depth_batches_are_waiting() -> None:
    release = threading.Event()
    submitted: list[int] = []

    class Waiting:
        def insert(self, batch: int) -> None:
            release.wait(10)

        def judge(self, stored: list[None]) -> None:
            pass

        def close(self) -> None:
            pass

    async def finish(group: list[Pending[int, None]], judged: None) -> None:
        pass

    async def run() -> None:
        async with StorePipeline(ThreadedStore(Waiting()), finish, depth=2) as pipeline:
            async def feed() -> None:
                for batch in range(10):
                    await pipeline.submit([], batch)
                    submitted.append(batch)

            feeding = asyncio.create_task(feed())
            await asyncio.sleep(0.3)
            # The group being stored (at most depth batches) and a full queue behind it.
            assert 2 <= len(submitted) <= 2 * 2
            assert not feeding.done()
            release.set()
            await feeding
            await pipeline.drain()
        assert submitted == list(range(10))

    asyncio.run(run())


FAILING = """
import asyncio
from saylau.streams.pipeline import StorePipeline, ThreadedStore

class Failing:
    def insert(self, batch):
        raise RuntimeError("warehouse gone")

    def judge(self, batches):
        return []

    def close(self):
        pass

async def finish(group, judged):
    print("acknowledged", flush=True)

async def run():
    async with StorePipeline(ThreadedStore(Failing()), finish) as pipeline:
        await pipeline.submit(["e"], 1)
        await pipeline.drain()

asyncio.run(run())
"""


def test_a_failed_insert_stops_the_process_without_acknowledging() -> None:
    done = subprocess.run([sys.executable, "-c", FAILING], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == EXIT_STORE_FAILED
    assert "acknowledged" not in done.stdout
    assert "cannot store a batch" in done.stderr
