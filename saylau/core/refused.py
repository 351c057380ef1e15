"""Messages the gateway refused as malformed, kept on their way to the ``rejected`` table.

A phone's report that breaks the contract or the day's rules is answered 4xx at once, and is
also journaled, as an envelope, to ``<prefix>.refused``; the worker stores each envelope as a
``rejected`` row with the gateway's reason (saylau/streams/batch.py). So every malformed
message is kept with why, whether it came over Kafka or over HTTP (docs/gateway.md).

An envelope carries a random 63-bit ``key``, the row's key in place of a Kafka offset: the
embedded broker, restarted empty, hands out offsets again, and the journal re-sends what it
still holds, which must replace its own row and no other message's.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass

MAX_RAW_KEPT = 65_536  # characters of a rejected message kept for inspection


@dataclass(frozen=True)
class RefusedMessage:
    reason: str
    detail: str
    raw: str
    key: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, value: bytes | None) -> RefusedMessage | None:
        """The envelope, or None if ``value`` is not one."""
        try:
            data = json.loads(value or b"")
            refused = cls(str(data["reason"]), str(data["detail"]), str(data["raw"]),
                          int(data["key"]))
        except (ValueError, TypeError, KeyError):
            return None
        return refused if 0 <= refused.key < 2**63 else None


def refused_message(reason: str, detail: str, raw: bytes | str) -> RefusedMessage:
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return RefusedMessage(reason, detail, text[:MAX_RAW_KEPT], secrets.randbits(63))
