"""Store batches while the agent reads the next ones; acknowledge only what is stored.

The agent hands each read batch to ``StorePipeline.submit``, which asks the store to insert
it at once. The store carries out its requests one at a time, in the order they were made:
on a thread of its own (``ThreadedStore``: ClickHouse calls block) or in a process of its
own (``saylau.streams.store_process``). A finisher task takes the batches in order: it waits for
their inserts, has the alerts they could change judged once for all of them (a request made
after those inserts, so carried out after them), and only then acknowledges their Kafka
messages. An offset is therefore never committed for an event that is not in the warehouse,
nor before the alerts it raises are stored and published.

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
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

EXIT_STORE_FAILED = 70  # EX_SOFTWARE: the worker stopped because a batch could not be stored

Batch = TypeVar("Batch")
Stored = TypeVar("Stored")
Judged = TypeVar("Judged")
Batch_contra = TypeVar("Batch_contra", contravariant=True)
Judged_co = TypeVar("Judged_co", covariant=True)


class Store(Protocol[Batch_contra, Stored, Judged_co]):
    """Requests carried out one at a time, in the order they were made (each call makes its
    request before it returns); the awaitables give their results."""

    def insert(self, batch: Batch_contra) -> Awaitable[Stored]: ...

    def judge(self, stored: list[Stored]) -> Awaitable[Judged_co]: ...


class BlockingStore(Protocol[Batch_contra, Stored, Judged_co]):
    def insert(self, batch: Batch_contra) -> Stored: ...

    def judge(self, stored: list[Stored]) -> Judged_co: ...

    def close(self) -> None: ...


class ThreadedStore(Generic[Batch, Stored, Judged]):
    """A blocking store's calls, carried out in order on a thread of their own."""

    def __init__(self, store: BlockingStore[Batch, Stored, Judged]) -> None:
        self.store = store
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")

    def insert(self, batch: Batch) -> asyncio.Future[Stored]:
        return asyncio.get_running_loop().run_in_executor(self._thread, self.store.insert, batch)

    def judge(self, stored: list[Stored]) -> asyncio.Future[Judged]:
        return asyncio.get_running_loop().run_in_executor(self._thread, self.store.judge, stored)

    def close(self) -> None:
        # Do not wait for a store in flight: its batch is not acknowledged, so it is read
        # again after a restart, and the warehouse's event_id de-duplication absorbs it.
        self._thread.shutdown(wait=False, cancel_futures=True)
        self.store.close()


@dataclass
class Pending(Generic[Batch, Stored]):
    events: Sequence[Any]  # what to acknowledge once stored
    batch: Batch
    inserted: asyncio.Future[Stored]

    @property
    def stored(self) -> Stored:
        """What the insert returned (once ``inserted`` is done)."""
        return self.inserted.result()


class StorePipeline(Generic[Batch, Stored, Judged]):
    def __init__(self, store: Store[Batch, Stored, Judged],
                 finish: Callable[[list[Pending[Batch, Stored]], Judged], Awaitable[None]],
                 depth: int = 4) -> None:
        self._store = store
        self._finish = finish
        self._queue: asyncio.Queue[Pending[Batch, Stored]] = asyncio.Queue(maxsize=depth)
        self._finisher: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StorePipeline[Batch, Stored, Judged]:
        self._finisher = asyncio.create_task(self._finish_in_order())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._finisher is not None:
            self._finisher.cancel()

    async def submit(self, events: Sequence[Any], batch: Batch) -> None:
        """Start inserting ``batch``; wait while ``depth`` batches are already waiting."""
        inserted = asyncio.ensure_future(self._store.insert(batch))
        await self._queue.put(Pending(events, batch, inserted))

    async def drain(self) -> None:
        """Until every submitted batch is stored and acknowledged."""
        await self._queue.join()

    async def _finish_in_order(self) -> None:
        while True:
            group = [await self._queue.get()]
            while not self._queue.empty():  # every batch already waiting: judged together
                group.append(self._queue.get_nowait())
            try:
                for pending in group:
                    await pending.inserted
                judged = await self._store.judge([pending.stored for pending in group])
                await self._finish(group, judged)
            except Exception:
                # Faust would acknowledge the batch while restarting the agent, losing it.
                # Stop at once instead: nothing is committed, the batch is read again.
                log.critical("cannot store a batch; stopping without acknowledging it",
                             exc_info=True)
                os._exit(EXIT_STORE_FAILED)
            for _ in group:
                self._queue.task_done()
