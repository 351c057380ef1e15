"""Store batches on one thread while the agent reads the next ones; ack only what is stored.

The agent hands each processed batch to ``StorePipeline.submit``, which starts its insert at
once. Inserts run one at a time, in order, on a thread of their own (ClickHouse calls block).
A finisher task takes the batches in order: it waits for their inserts, has the alerts they
could change judged once for all of them (on the same thread, so after those inserts), and
only then acknowledges their Kafka messages and publishes their rejects and alerts. An offset
is therefore never committed for an event that is not in the warehouse, nor before the alerts
it raises are stored.

Judging costs a few queries whatever the batch size, so the finisher judges every batch
already waiting in one go: when the warehouse is slow, batches queue up and are judged
together, and the worker keeps pace instead of falling behind. At most ``depth`` batches
wait; beyond that ``submit`` waits, which slows the reading down.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

EXIT_STORE_FAILED = 70  # EX_SOFTWARE: the worker stopped because a batch could not be stored

Result = TypeVar("Result")
Judged = TypeVar("Judged")


@dataclass
class Pending(Generic[Result]):
    events: Sequence[Any]  # what to acknowledge once stored
    result: Result
    inserted: asyncio.Future[None]


class StorePipeline(Generic[Result, Judged]):
    def __init__(self, insert: Callable[[Result], None],
                 judge: Callable[[list[Result]], Judged],
                 finish: Callable[[list[Pending[Result]], Judged], Awaitable[None]],
                 depth: int = 4) -> None:
        self._insert = insert
        self._judge = judge
        self._finish = finish
        self._queue: asyncio.Queue[Pending[Result]] = asyncio.Queue(maxsize=depth)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._finisher: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StorePipeline[Result, Judged]:
        self._finisher = asyncio.create_task(self._finish_in_order())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._finisher is not None:
            self._finisher.cancel()
        # Do not wait for a store in flight: its batch is not acknowledged, so it is read
        # again after a restart, and the warehouse's event_id de-duplication absorbs it.
        self._thread.shutdown(wait=False, cancel_futures=True)

    async def submit(self, events: Sequence[Any], result: Result) -> None:
        """Start inserting ``result``; wait while ``depth`` batches are already waiting."""
        loop = asyncio.get_running_loop()
        inserted = loop.run_in_executor(self._thread, self._insert, result)
        await self._queue.put(Pending(events, result, inserted))

    async def drain(self) -> None:
        """Until every submitted batch is stored and acknowledged."""
        await self._queue.join()

    async def _finish_in_order(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            group = [await self._queue.get()]
            while not self._queue.empty():  # every batch already waiting: judged together
                group.append(self._queue.get_nowait())
            try:
                for pending in group:
                    await pending.inserted
                judged = await loop.run_in_executor(
                    self._thread, self._judge, [pending.result for pending in group])
                await self._finish(group, judged)
            except Exception:
                # Faust would acknowledge the batch while restarting the agent, losing it.
                # Stop at once instead: nothing is committed, the batch is read again.
                log.critical("cannot store a batch; stopping without acknowledging it",
                             exc_info=True)
                os._exit(EXIT_STORE_FAILED)
            for _ in group:
                self._queue.task_done()
