"""Start-up steps shared by the commands, gathered from the layers that own them."""

from __future__ import annotations

from saylau.core.logs import configure_logging
from saylau.core.validation import station_index
from saylau.geo.registry import load_registry
from saylau.kafka.topics import prepare_topics, topic_configs
from saylau.warehouse.prepare import open_prepared_warehouse

__all__ = ["configure_logging", "load_registry", "open_prepared_warehouse", "prepare_topics",
           "station_index", "topic_configs"]
