"""Run the worker's ``BatchStore`` in a child process, so that it has a core of its own.

Why: the worker is one Python process, and one interpreter lock. Faust reading the topics
takes most of a core by itself, and validating, inserting and judging alerts took about as
much again; together they could not use the machine's second core. With the store in a
child process, Faust reads in the parent while the child validates, stores, judges and
publishes (the figures are in docs/worker.md, Throughput).

The parent talks to the child over a socket pair that only the two of them hold (so the
pickles on it are their own): ``insert`` sends a batch's messages and gives the child's
``Stored``, ``judge`` has the oldest stored batches judged and gives the number of alerts.
The child answers strictly in the order the requests were made, exactly as a ``BatchStore``
on a thread of its own would, and the parent keeps the next requests coming meanwhile.

Lifetime: the child belongs to the parent. It ignores SIGINT and SIGTERM (a Ctrl-C or a stop
signal to the process group is the parent's to handle), leaves when the parent closes the
socket, and the kernel kills it if the parent dies (PR_SET_PDEATHSIG), so a worker killed
with SIGKILL leaves no child writing behind it. Nothing is lost either way: a batch is
acknowledged only after the child has stored and judged it.

Only for a ClickHouse server: a chDB directory can be open in one process only.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

import pandas as pd

from saylau.core.logs import configure_logging
from saylau.core.settings import Settings
from saylau.streams.batch import Message
from saylau.streams.store import BatchStore, Publisher, Stored, collect_less_often
from saylau.warehouse.client import open_warehouse

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
STOP_WAIT_SECONDS = 5.0


class StoreProcessError(RuntimeError):
    """The store process failed a request, or is gone."""


class StoreProcess:
    """The parent's side: the requests of a ``Store``, carried out in a child process.

    Requests are pickled and sent in order by a sender thread, and the child's replies are
    read by a reader thread, so that the next batches are already on their way while the
    child stores the current one. Create it, and make requests, on the event loop's thread,
    which must be the main thread: the kernel ties the child's death signal to the thread
    that started it.
    """

    def __init__(self, settings: Settings, bootstrap: str, registry: pd.DataFrame) -> None:
        self._loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        self._socket = ours
        self._connection = Connection(os.dup(ours.fileno()))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "saylau.streams.store_process", str(theirs.fileno()),
             str(os.getpid())], pass_fds=[theirs.fileno()])
        theirs.close()
        log.info("store process %d started", self._process.pid)
        self._waiting: deque[asyncio.Future[Any]] = deque()  # replies due, in order
        self._gone: str | None = None  # why no reply will come any more
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-send")
        self._reader = threading.Thread(target=self._read_replies, name="store-read",
                                        daemon=True)
        self._reader.start()
        self._request("start", (settings, bootstrap, registry)).add_done_callback(_log_failure)

    def insert(self, messages: Sequence[Message]) -> asyncio.Future[Stored]:
        return self._request("insert", messages)

    def judge(self, stored: list[Stored]) -> asyncio.Future[int]:
        return self._request("judge", stored)

    def close(self) -> None:
        """Let the child go (it leaves at the end of its socket); kill it if it lingers."""
        self._sender.shutdown(wait=False, cancel_futures=True)
        try:
            self._socket.shutdown(socket.SHUT_RDWR)  # also ends the reader's wait
        except OSError:
            pass
        try:
            self._process.wait(STOP_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(STOP_WAIT_SECONDS)
        self._reader.join(STOP_WAIT_SECONDS)
        self._socket.close()
        self._connection.close()

    def _request(self, kind: str, argument: object) -> asyncio.Future[Any]:
        reply = self._loop.create_future()
        if self._gone is not None:  # nobody would ever answer
            reply.set_exception(StoreProcessError(self._gone))
            return reply
        self._waiting.append(reply)
        self._sender.submit(self._send, kind, argument)
        return reply

    def _send(self, kind: str, argument: object) -> None:
        if kind == "insert":  # plain tuples pickle fastest
            argument = [tuple(message) for message in argument]  # type: ignore[attr-defined]
        try:
            self._connection.send_bytes(pickle.dumps((kind, argument), pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass  # the child is gone: the reader fails every reply still due

    def _read_replies(self) -> None:
        while True:
            try:
                reply = pickle.loads(self._connection.recv_bytes())  # noqa: S301 - our child
            except (EOFError, OSError):
                self._on_loop(self._fail_all)
                return
            self._on_loop(self._answer, reply)

    def _on_loop(self, callback: Callable[..., None], *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the worker has stopped, nobody waits
            pass

    def _answer(self, reply: tuple[str, Any]) -> None:
        status, value = reply
        future = self._waiting.popleft()
        if future.done():  # cancelled: nobody waits for it any more
            return
        if status == "ok":
            future.set_result(value)
        else:
            future.set_exception(StoreProcessError(f"the store process failed: {value}"))

    def _fail_all(self) -> None:
        self._gone = f"the store process is gone (exit code {self._process.poll()})"
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(StoreProcessError(self._gone))


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("store process could not start: %s", future.exception())


def serve(connection: Connection) -> None:
    """The child's side: answer requests in order until the parent closes the socket.

    In two stages, so that the warehouse's time overlaps Python's: this thread reads the
    requests and validates each batch; a writer thread writes the batches, judges, and
    answers, in the order the requests came.
    """
    steps: queue.Queue[Callable[[], object] | None] = queue.Queue(maxsize=2)
    writer = threading.Thread(target=_answer_in_order, args=(steps, connection),
                              name="store-write")
    writer.start()
    store: BatchStore | None = None
    while True:
        try:
            kind, argument = pickle.loads(connection.recv_bytes())  # noqa: S301 - our parent
        except EOFError:
            break
        try:
            if kind == "start" and store is None:
                store = _open_store(*argument)
                step: Callable[[], object] = _nothing
            else:
                step = _next_step(store, kind, argument)
        except Exception as error:  # answered (and logged) in its place, by the writer
            step = _raiser(error)
        steps.put(step)
    steps.put(None)
    writer.join()
    if store is not None:
        store.close()


def _next_step(store: BatchStore | None, kind: str, argument: Any) -> Callable[[], object]:
    """Do a request's first half here; return its second half, for the writer."""
    if store is None:
        raise StoreProcessError(f"{kind} before start")
    if kind == "insert":
        prepared = store.prepare([Message._make(item) for item in argument])
        return lambda: store.write(prepared)
    if kind == "judge":
        return lambda: store.judge(argument)
    raise StoreProcessError(f"unknown request {kind!r}")


def _nothing() -> None:
    return None


def _raiser(error: Exception) -> Callable[[], object]:
    def step() -> object:
        raise error
    return step


def _answer_in_order(steps: queue.Queue[Callable[[], object] | None],
                     connection: Connection) -> None:
    parent_gone = False
    for step in iter(steps.get, None):
        if parent_gone:  # take the rest off the queue, so the reading thread never waits
            continue
        try:
            reply: tuple[str, object] = ("ok", step())
        except Exception as error:  # the parent decides: it stops without acknowledging
            log.exception("store process: a request failed")
            reply = ("error", f"{type(error).__name__}: {error}")
        try:
            connection.send_bytes(pickle.dumps(reply, pickle.HIGHEST_PROTOCOL))
        except OSError:
            parent_gone = True


def _open_store(settings: Settings, bootstrap: str, registry: pd.DataFrame) -> BatchStore:
    configure_logging(settings.log_level)
    warehouse = open_warehouse(settings.warehouse,
                               settings.clickhouse_password.get_secret_value())
    store = BatchStore(settings, warehouse, registry, Publisher(bootstrap, settings.topic_prefix))
    collect_less_often()
    return store


def _die_with_parent(parent_pid: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        log.warning("store process: cannot ask to die with the worker (errno %d)",
                    ctypes.get_errno())
    if os.getppid() != parent_pid:  # the parent died before we asked
        os._exit(1)


def main(argv: list[str]) -> None:
    descriptor, parent_pid = int(argv[0]), int(argv[1])
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(Connection(descriptor))


if __name__ == "__main__":
    main(sys.argv[1:])
