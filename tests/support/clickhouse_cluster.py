"""A ClickHouse cluster on this machine: one ZooKeeper and shards × replicas of Debian's
``clickhouse-server``, each on its own ports and folder (tests and ``bench/cluster.py``).

Every server gets a copy of Debian's configuration plus a ``config.d/cluster.xml`` naming the
cluster (``remote_servers``), ZooKeeper and its own ``{shard}``/``{replica}`` macros, which
the replicated schema (saylau/warehouse/cluster_schema.py) puts in its ZooKeeper paths.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from xml.sax.saxutils import escape

from clickhouse_driver import Client

from tests.support.clickhouse_server import CONFIG, ClickHouseServer
from tests.support.zookeeper import ZooKeeper

CLUSTER_NAME = "saylau"


def cluster_xml(name: str, shards: list[list[int]], zookeeper_port: int, shard: int,
                replica: int) -> str:
    """The config.d file of the server that is replica ``replica`` of shard ``shard``."""
    shard_xml = "".join(
        "<shard><internal_replication>true</internal_replication>"
        + "".join(f"<replica><host>127.0.0.1</host><port>{port}</port></replica>"
                  for port in ports) + "</shard>" for ports in shards)
    return (
        "<?xml version=\"1.0\"?>\n<yandex>\n"
        f"  <remote_servers><{escape(name)}>{shard_xml}</{escape(name)}></remote_servers>\n"
        f"  <zookeeper><node><host>127.0.0.1</host><port>{zookeeper_port}</port></node>"
        "<session_timeout_ms>6000</session_timeout_ms></zookeeper>\n"
        f"  <macros><shard>{shard:02d}</shard><replica>s{shard}r{replica}</replica></macros>\n"
        # Replicas fetch parts from each other over HTTP at this address.
        "  <interserver_http_host>127.0.0.1</interserver_http_host>\n"
        "</yandex>\n")


class ClickHouseCluster:
    """``servers[shard][replica]``; start with :meth:`start`, stop with :meth:`stop`."""

    def __init__(self, folder: Path, shards: int = 2, replicas: int = 2,
                 name: str = CLUSTER_NAME) -> None:
        self.folder = folder
        self.name = name
        self.zookeeper = ZooKeeper(folder / "zookeeper")
        self.servers = [[ClickHouseServer(folder / f"s{s + 1}r{r + 1}",
                                          config=folder / f"s{s + 1}r{r + 1}" / "config.xml")
                         for r in range(replicas)] for s in range(shards)]

    @property
    def all_servers(self) -> list[ClickHouseServer]:
        return [server for shard in self.servers for server in shard]

    def url(self, database: str = "saylau", first: ClickHouseServer | None = None) -> str:
        """A warehouse URL on the cluster: ``first`` (else the first server), the others as
        alternative hosts for the driver to fail over to."""
        first = first or self.all_servers[0]
        others = ",".join(f"127.0.0.1:{server.tcp_port}" for server in self.all_servers
                          if server is not first)
        return (f"clickhouse://default@127.0.0.1:{first.tcp_port}/{database}"
                f"?cluster={self.name}&alt_hosts={others}")

    def start(self) -> ClickHouseCluster:
        try:
            self.zookeeper.start()
            ports = [[server.tcp_port for server in shard] for shard in self.servers]
            for s, shard in enumerate(self.servers):
                for r, server in enumerate(shard):
                    self._configure(server, ports, s + 1, r + 1)
                    server.start(timeout=60)
        except BaseException:
            self.stop()
            raise
        return self

    def _configure(self, server: ClickHouseServer, ports: list[list[int]], shard: int,
                   replica: int) -> None:
        (server.folder / "config.d").mkdir(parents=True, exist_ok=True)
        shutil.copy(CONFIG, server.folder / "config.xml")
        shutil.copy(CONFIG.with_name("users.xml"), server.folder / "users.xml")
        (server.folder / "config.d" / "cluster.xml").write_text(
            cluster_xml(self.name, ports, self.zookeeper.port, shard, replica),
            encoding="utf-8")

    def sync(self, database: str) -> None:
        """Wait until every replica has fetched every part of its shard
        (``SYSTEM SYNC REPLICA`` on each replicated table of ``database``)."""
        for server in self.all_servers:
            client = Client("127.0.0.1", port=server.tcp_port, send_receive_timeout=300)
            try:
                tables = client.execute("SELECT name FROM system.tables WHERE database = "
                                        "%(db)s AND engine LIKE 'Replicated%%'", {"db": database})
                for (table,) in tables:
                    client.execute(f"SYSTEM SYNC REPLICA {database}.{table}")
            finally:
                client.disconnect()

    def stop(self) -> None:
        for server in self.all_servers:
            server.stop()
        self.zookeeper.stop()

    def __enter__(self) -> ClickHouseCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
