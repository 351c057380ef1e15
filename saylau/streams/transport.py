"""Faust's Kafka transport, with three changes measured on the embedded broker.

1. The fetch wait is a setting instead of Faust's fixed 1.5 s. A Kafka fetch request names
the longest time the broker may hold it while waiting for data. Apache Kafka answers as soon
as data arrives; the embedded broker (Tansu) holds a fetch for its whole wait. Faust
hard-codes the wait at 1,500 ms, so on the embedded broker an event waited up to 1.5 s
before the worker saw it. Measured here with a plain aiokafka consumer at 1,000 events/s
(p95 from send to receipt): 1,500 ms wait → 0.74 s, 500 ms → 0.25 s, 100 ms → 0.065 s. A
short wait costs one more small request per wait while the topics are idle, and nothing when
they are busy: a fetch that finds data returns at once.

2. One guard per fetched batch instead of one per message. Faust hands each message to the
streams inside ``wait_first(callback(message), suspend_flow.wait())``, which makes four
asyncio tasks (the callback and three waits: flow suspended, service stopped, service
crashed) and cancels three of them, for every message. Here the fetched batch is delivered
by one task under the same guard, and every message first checks that the flow is not
suspended, so a rebalance still stops delivery at once (the messages not delivered are read
again from the committed offsets, as with Faust's own loop).

3. A partition whose stream buffer has room again is read at once (``on_buffer_drop``)
instead of after aiokafka's 1 s getmany timeout.

Faust reading alone (bench/support/faust_noop.py, 300,000 events sent beforehand): about
11,900 events/s before 2 and 3, using 78% of one core with the machine less than half busy
(the tasks cost CPU, the 1 s waits cost time); about 19,000 after.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiokafka
import faust
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # AIOKafkaConsumer hands this to its fetcher in start(), which comes after this.
        consumer._fetch_max_wait_ms = self.app.fetch_wait_ms  # type: ignore[attr-defined]
        return consumer

    def wake_fetch_waiters(self) -> None:
        """From any thread: make a waiting getmany look again at what is buffered."""
        consumer = self._consumer
        if consumer is not None and not self.thread_loop.is_closed():
            waiters = consumer._fetcher._fetch_waiters
            self.thread_loop.call_soon_threadsafe(_notify_all, waiters)


def _notify_all(waiters: set[asyncio.Future[Any]]) -> None:
    for waiter in list(waiters):
        if not waiter.done():
            waiter.set_result(None)


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def on_buffer_drop(self, tp: Any) -> None:
        """A stream's buffer has room again: fetch this partition's records at once.

        Faust takes a partition out of the set getmany reads while its stream's buffer is
        nearly full, and puts it back here. aiokafka's getmany waiting on that set only
        looks again when a fetch brings new records or its 1 s timeout ends. On a backlog
        the partition's records are already buffered, and the other partitions may have
        nothing new, so the worker stood still for up to a second, several times a minute.
        """
        resumed = tp in self._buffered_partitions
        super().on_buffer_drop(tp)
        if resumed and isinstance(self._thread, _ConsumerThread):
            self._thread.wake_fetch_waiters()

    async def _drain_messages(self, fetcher: Any) -> None:
        """Faust's fetch loop (``Consumer._drain_messages``) with one guard per batch."""
        fetcher_stopped = fetcher._stopped.is_set
        try:
            while not (self._stopped.is_set() or fetcher_stopped()):
                self.diag.set_flag(CONSUMER_FETCHING)
                # Fetched outside the guard, as in Faust: a fetch cut short by a rebalance
                # would lose the records aiokafka had already handed over. During a
                # rebalance getmany itself waits until the flow may resume.
                batch = [pair async for pair in self.getmany(timeout=1.0)]
                await self.sleep(0)
                if batch and not self.should_stop:
                    await self.wait_first(self._deliver(batch), self.suspend_flow.wait())
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _deliver(self, batch: list[tuple[Any, Any]]) -> None:
        """Hand each message to the streams, in order, as Faust's loop does per message."""
        callback, read_offset = self.callback, self._read_offset
        suspended = self.suspend_flow.is_set
        acks_enabled_for = self.app.topics.acks_enabled_for
        for count, (tp, message) in enumerate(batch, 1):
            if suspended():
                return
            if count % 100 == 0:
                await asyncio.sleep(0)  # let the loop breathe in a long batch, as Faust does
            offset, last = message.offset, read_offset[tp]
            if last is not None and offset < last:
                continue  # read before a seek back: Faust drops it too
            if last and offset - last > 1 and acks_enabled_for(message.topic):
                await self._add_gap(tp, last + 1, offset)
            if self._commit_every is not None and self._n_acked >= self._commit_every:
                self._n_acked = 0
                await self.commit()
            await callback(message)
            read_offset[tp] = offset


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class App(faust.App):
    """A Faust app whose worker consumer waits at most ``fetch_wait_ms`` per fetch."""

    def __init__(self, *args: Any, fetch_wait_ms: int = 1_500, **kwargs: Any) -> None:
        self.fetch_wait_ms = fetch_wait_ms
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> faust_aiokafka.Transport:
        return _Transport(self.conf.broker_consumer, self)
