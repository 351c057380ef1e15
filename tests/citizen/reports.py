"""Building citizen reports as a client would: the proof-of-work solved, evidence in base64."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from kafka import KafkaConsumer, TopicPartition

from saylau.ingest.citizen.protection import solve


def report_body(region_code: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"category": "employer_pressure", "sector": "school",
                            "organisation": "School No. 12", "region_code": region_code,
                            "settlement": "Kosshy", "description": "The director told all "
                            "staff to vote and to send a photo of the ballot."}
    body.update(fields)
    return body


def evidence(data: bytes, mime: str = "image/jpeg", **extra: Any) -> dict[str, Any]:
    return {"mime": mime, "data": base64.b64encode(data).decode(), **extra}


def with_work(client: httpx.Client | Any, body: dict[str, Any]) -> dict[str, Any]:
    issued = client.get("/v1/citizen-reports/challenge").json()
    return {**body, "pow": {"challenge": issued["challenge"],
                            "nonce": solve(issued["challenge"], issued["bits"])}}


def citizen_messages(bootstrap: str, prefix: str, timeout_ms: int = 1500
                     ) -> list[tuple[dict[str, Any], list[tuple[str, bytes]]]]:
    """Every message on PREFIX.citizen: (the event, its headers)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=timeout_ms,
                             auto_offset_reset="earliest", enable_auto_commit=False)
    try:
        topic = f"{prefix}.citizen"
        consumer.assign([TopicPartition(topic, p)
                         for p in consumer.partitions_for_topic(topic) or ()])
        return [(json.loads(record.value), list(record.headers or [])) for record in consumer]
    finally:
        consumer.close()
