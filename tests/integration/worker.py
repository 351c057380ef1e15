"""Run `saylau worker` as a real child process, and wait until it has caught up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from saylau.core.contract import EVENT_TOPICS
from saylau.kafka.lag import consumer_lag


class SaylauProcess:
    """A `python -m saylau COMMAND` child with its output in a log: stopped with SIGTERM as an
    operator would (a child that ignores it is killed and the test fails), killed on exit."""

    name = "saylau"

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self, *args: str) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen([sys.executable, "-m", "saylau", *args],
                                        env=self.env, stdout=log, stderr=log)

    def stop(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired as expired:
            self.process.kill()
            self.process.wait(5)
            raise AssertionError(f"{self.name} ignored SIGTERM for {timeout} s:\n"
                                 f"{self.tail()}") from expired

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def children(self) -> dict[int, str]:
        """{pid: command line} of this process's living children."""
        assert self.process is not None
        return child_processes(self.process.pid)

    def tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _processes() -> dict[int, tuple[int, str]]:
    """{pid: (parent pid, command line)} of every living process (zombies are dead)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if state != "Z":
            found[int(entry.name)] = (int(parent), command)
    return found


def child_processes(pid: int) -> dict[int, str]:
    """{pid: command line} of the living children of ``pid``."""
    return {child: command for child, (parent, command) in _processes().items()
            if parent == pid}


def alive(pid: int) -> bool:
    return pid in _processes()


class WorkerProcess(SaylauProcess):
    name = "worker"

    def start(self) -> WorkerProcess:
        self.spawn("worker")
        return self

    def wait_caught_up(self, timeout: float = 120.0) -> None:
        """Until the group has committed every message of the event topics."""
        prefix, group = self.env["SAYLAU_TOPIC_PREFIX"], self.env["SAYLAU_WORKER_GROUP"]
        topics = [f"{prefix}.{name}" for name in EVENT_TOPICS]
        deadline = time.monotonic() + timeout
        while (lag := consumer_lag(self.env["SAYLAU_KAFKA_BOOTSTRAP"], group, topics)) > 0:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited ({self.process.returncode}); "
                                     f"see {self.log_path}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker still {lag} messages behind after {timeout} s; "
                                     f"see {self.log_path}:\n{self.tail()}")
            time.sleep(0.5)

    def __enter__(self) -> WorkerProcess:
        return self.start()
