"""Start Debian's ZooKeeper (package ``zookeeper``) unprivileged in a folder on a free port.

ClickHouse 18.16 coordinates its replicated tables through ZooKeeper (ClickHouse Keeper came
later). One standalone server is enough for tests and benches: the replicas, not ZooKeeper,
are what the failover tests kill.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from saylau.kafka.broker import _die_with_parent, free_port, port_is_open

# The Debian jar names its dependencies in its manifest's Class-Path.
JAR = Path("/usr/share/java/zookeeper.jar")
MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
INSTALL_HINT = ("install Debian's ZooKeeper: apt-get install zookeeper "
                "(make test does this when run as root on Debian)")
# A small heap and the quick JIT tier: the tests' ZooKeeper holds a few hundred nodes,
# and shares two cores with four ClickHouse servers.
JVM_FLAGS = ("-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
             "-Dzookeeper.admin.enableServer=false", "-Dzookeeper.4lw.commands.whitelist=ruok")


class ZooKeeperError(RuntimeError):
    pass


def zookeeper_available() -> bool:
    return JAR.exists() and shutil.which("java") is not None


def zoo_cfg(data_dir: Path, port: int) -> str:
    return (f"tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={data_dir}\n"
            f"clientPort={port}\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\n"
            "admin.enableServer=false\n")


class ZooKeeper:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ZooKeeper:
        if not zookeeper_available():
            raise ZooKeeperError(f"ZooKeeper not found: {INSTALL_HINT}")
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        config = self.folder / "zoo.cfg"
        config.write_text(zoo_cfg(self.folder / "data", self.port), encoding="utf-8")
        args = ["java", *JVM_FLAGS, f"-Dzookeeper.log.dir={self.folder}",
                "-cp", str(JAR), MAIN, str(config)]
        with open(self.folder / "zookeeper.log", "ab") as out:
            self._process = subprocess.Popen(args, stdout=out, stderr=out,
                                             preexec_fn=_die_with_parent)  # noqa: PLW1509
        deadline = time.monotonic() + timeout
        while not port_is_open("127.0.0.1", self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ZooKeeperError(f"ZooKeeper did not start; see {self.folder}/zookeeper.log")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def __enter__(self) -> ZooKeeper:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
