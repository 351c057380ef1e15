"""Start Debian's ``clickhouse-server`` unprivileged in a folder on free ports (tests, benches)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from saylau.kafka.broker import _die_with_parent, free_port, port_is_open

CONFIG = Path("/etc/clickhouse-server/config.xml")
INSTALL_HINT = ("install Debian's ClickHouse server: apt-get install clickhouse-server "
                "(make test does this when run as root on Debian)")


class ClickHouseServerError(RuntimeError):
    pass


def clickhouse_server_available() -> bool:
    return shutil.which("clickhouse-server") is not None and CONFIG.exists()


class ClickHouseServer:
    def __init__(self, folder: Path, config: Path = CONFIG) -> None:
        self.folder = folder
        self.config = config
        # Chosen once: a server started again (the cluster's failover tests) keeps its ports.
        self.tcp_port = free_port()
        self.http_port = free_port()
        self.interserver_port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"clickhouse://default@127.0.0.1:{self.tcp_port}/saylau"

    def start(self, timeout: float = 30.0) -> ClickHouseServer:
        if not clickhouse_server_available():
            raise ClickHouseServerError(f"clickhouse-server not found: {INSTALL_HINT}")
        (self.folder / "tmp").mkdir(parents=True, exist_ok=True)
        args = ["clickhouse-server", f"--config-file={self.config}", "--",
                f"--path={self.folder}/", f"--tmp_path={self.folder}/tmp/",  # noqa: S108
                f"--tcp_port={self.tcp_port}", f"--http_port={self.http_port}",
                f"--interserver_http_port={self.interserver_port}", "--listen_host=127.0.0.1",
                f"--logger.log={self.folder}/server.log",
                f"--logger.errorlog={self.folder}/error.log", "--logger.console=0"]
        with open(self.folder / "stdout.log", "ab") as out:
            self._process = subprocess.Popen(args, stdout=out, stderr=out,
                                             preexec_fn=_die_with_parent)  # noqa: PLW1509
        deadline = time.monotonic() + timeout
        while not port_is_open("127.0.0.1", self.tcp_port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ClickHouseServerError(
                    f"clickhouse-server did not start; see {self.folder}/error.log")
            time.sleep(0.1)
        return self

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crashed machine: no flush, no goodbye to ZooKeeper."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
