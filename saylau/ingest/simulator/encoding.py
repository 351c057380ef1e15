"""Events as JSON text, fast: %-templates filled column by column, no dict per event.

Every value that goes into a template is known to need no JSON escaping (ids, numbers,
ISO times, fixed words) or was escaped once (station ids, ballot option codes), so the
text equals ``json.dumps(event, separators=(",", ":"), ensure_ascii=False)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from saylau.core.contract import SCHEMA_VERSION

# How a column becomes template arguments: a named conversion, or a tuple of words the
# column's integers index (categories, reasons, …).
Conversion = str | tuple[str, ...]
NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f\u2028\u2029]')
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_UUID_SPANS = ((0, 8, 0), (9, 13, 8), (14, 18, 12), (19, 23, 16), (24, 36, 20))


def literal(text: str) -> str:
    """``text`` as a JSON string literal, safe to put in a %-template."""
    return json.dumps(text, ensure_ascii=False).replace("%", "%%")


def counts_template(keys: Sequence[str]) -> str:
    return "{" + ",".join(f"{literal(key)}:%d" for key in keys) + "}"


@dataclass(frozen=True)
class Form:
    """One shape of event: its kind, the template of its own fields and their columns."""

    name: str
    kind: str
    body: str
    fields: tuple[tuple[str, Conversion], ...] = ()

    @property
    def template(self) -> str:
        return ('{"schema":"' + SCHEMA_VERSION + '","event_id":"%s","kind":"' + self.kind
                + '","station_id":"%s","observer_id":"%s","occurred_at":"%s"' + self.body + "}")

    @property
    def all_fields(self) -> tuple[tuple[str, Conversion], ...]:
        return (("event_id", "uuid"), ("station", "station"), ("actor", "actor"),
                ("at", "time"), *self.fields)


@dataclass
class Table:
    """Events of one form as columns; ``lag`` is the range of seconds before sending."""

    form: Form
    columns: dict[str, npt.NDArray[Any]]
    lag: tuple[int, int] = (0, 0)

    def __len__(self) -> int:
        return int(self.columns["at"].size)


@dataclass
class Labels:
    """The text behind integer columns: station ids, actor ids, times."""

    stations: npt.NDArray[np.object_]
    actors: npt.NDArray[np.object_]
    times: npt.NDArray[np.object_]
    _words: dict[tuple[str, ...], npt.NDArray[np.object_]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stations = escape_all(self.stations)

    def columns(self, values: npt.NDArray[Any], conversion: Conversion) -> list[list[Any]]:
        if isinstance(conversion, tuple):
            words = self._words.setdefault(conversion, np.array(conversion, dtype=object))
            return [words[values].tolist()]
        if conversion == "station":
            return [self.stations[values].tolist()]
        if conversion == "actor":
            return [self.actors[values].tolist()]
        if conversion == "time":
            return [self.times[values].tolist()]
        if conversion == "uuid":
            return [uuid_texts(values)]
        if conversion == "hex":
            return [hex_texts(values)]
        if conversion == "matrix":
            return [values[:, column].tolist() for column in range(values.shape[1])]
        if conversion in ("int", "float"):
            return [values.tolist()]
        raise ValueError(f"unknown conversion {conversion!r}")


def escape_all(texts: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """JSON-escape the texts that need it (one regex pass over all of them)."""
    if not NEEDS_ESCAPE.search("".join(texts.tolist())):
        return texts
    return np.array([json.dumps(text, ensure_ascii=False)[1:-1] for text in texts], dtype=object)


def render(table: Table, rows: npt.NDArray[np.int64], labels: Labels) -> list[str]:
    """The JSON text of the events at ``rows``."""
    return _fill(table.form.template, table.form.all_fields, table, rows, labels)


def render_lines(table: Table, rows: npt.NDArray[np.int64], labels: Labels,
                 sent: npt.NDArray[np.int64], topic: str) -> list[str]:
    """File lines: ``{"sent_at":…,"topic":…,"key":…,"value":{event}}`` and a newline."""
    template = ('{"sent_at":"%s","topic":' + literal(topic) + ',"key":"%s","value":'
                + table.form.template + "}\n")
    head = [labels.times[sent].tolist(), labels.stations[table.columns["station"][rows]].tolist()]
    return _fill(template, table.form.all_fields, table, rows, labels, head)


def _fill(template: str, fields: tuple[tuple[str, Conversion], ...], table: Table,
          rows: npt.NDArray[np.int64], labels: Labels,
          head: list[list[Any]] | None = None) -> list[str]:
    columns = list(head or [])
    for name, conversion in fields:
        columns.extend(labels.columns(table.columns[name][rows], conversion))
    return [template % values for values in zip(*columns, strict=True)]


def random_uuids(rng: np.random.Generator, count: int) -> npt.NDArray[np.uint8]:
    """``count`` version-4 UUIDs as rows of 16 bytes, from the generator's bytes."""
    raw = np.frombuffer(rng.bytes(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return raw


def uuid_texts(raw: npt.NDArray[np.uint8]) -> list[str]:
    count = raw.shape[0]
    digits = np.empty((count, 32), dtype=np.uint8)
    digits[:, 0::2] = _HEX[raw >> 4]
    digits[:, 1::2] = _HEX[raw & 15]
    text = np.full((count, 36), ord("-"), dtype=np.uint8)
    for start, stop, source in _UUID_SPANS:
        text[:, start:stop] = digits[:, source:source + stop - start]
    joined = text.tobytes().decode("ascii")
    return [joined[at:at + 36] for at in range(0, 36 * count, 36)]


def hex_texts(raw: npt.NDArray[np.uint8]) -> list[str]:
    width = 2 * raw.shape[1]
    joined = raw.tobytes().hex()
    return [joined[at:at + width] for at in range(0, len(joined), width)]
