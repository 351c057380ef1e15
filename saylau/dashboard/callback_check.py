"""A Dash callback request must be the very callback it names, exactly as registered.

Dash runs the function registered for a request's ``output`` and hands it the values of
``inputs`` and ``state`` by position; it never looks at the ids sent with them, nor at
``outputs``. Any check that reads those ids (which page a callback belongs to, which page
the router renders, which region a request names) is only worth something once they are
the registration's: same outputs, same inputs and states, ids and properties, in order.
`check_callback` makes sure of that before the guard reads any id.

Pattern-matching ids (``{"type": "region-assign", "station": ALL}``) arrive as concrete
ids: a list of them for ALL / ALLSMALLER, one for MATCH. Each must have the pattern's
keys, the pattern's value for every key that is no wildcard, and a plain value (text,
number, true/false) for the wildcards. ``changedPropIds`` (where ``ctx.triggered_id``
comes from) may name only inputs of the request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MULTI_WILDCARDS = ("ALL", "ALLSMALLER")
WILDCARDS = (*MULTI_WILDCARDS, "MATCH")
SLOT_KEYS = frozenset({"id", "property", "value"})


class CallbackMismatch(ValueError):
    """The request is not the callback it names (the reason is safe to answer with)."""


@dataclass(frozen=True)
class Dependency:
    """One registered output, input or state: its id (text, or a pattern) and property."""

    id: str | dict[str, Any]
    property: str

    def multi(self) -> bool:
        """Whether its value arrives as a list of concrete ids (ALL, ALLSMALLER)."""
        return isinstance(self.id, dict) and any(
            _wildcard(value) in MULTI_WILDCARDS for value in self.id.values())


@dataclass(frozen=True)
class CheckedCallback:
    """A request that matches its registration; its ids can now be trusted."""

    output: str
    outputs: tuple[Dependency, ...]
    inputs: tuple[Dependency, ...]
    body: Mapping[str, Any]

    def input_value(self, component_id: str, prop: str) -> Any:
        """The value at the position of the registered input (`component_id`, `prop`):
        the value the callback's function receives for it."""
        for position, dependency in enumerate(self.inputs):
            if dependency.id == component_id and dependency.property == prop:
                return self.body["inputs"][position].get("value")
        raise KeyError(f"{component_id}.{prop} is no input of {self.output}")

    def output_ids(self) -> list[str | dict[str, Any]]:
        return [dependency.id for dependency in self.outputs]


def check_callback(body: Mapping[str, Any], registration: Mapping[str, Any]
                   ) -> CheckedCallback:
    """`body` checked against `registration` (its entry in ``app.callback_map``)."""
    output = str(body.get("output"))
    outputs = registered_outputs(output)
    inputs = tuple(_dependency(item) for item in registration.get("inputs") or [])
    states = tuple(_dependency(item) for item in registration.get("state") or [])
    sent_outputs = body.get("outputs")
    if registration.get("no_output"):
        outputs = ()  # Dash ignores the outputs sent; so do the guard's page checks
    elif output.startswith(".."):
        _match_slots("outputs", sent_outputs, outputs, with_value=False)
    else:
        _match_slots("outputs", [sent_outputs], outputs, with_value=False)
    _match_slots("inputs", body.get("inputs"), inputs)
    _match_slots("state", body.get("state") or [], states)
    _match_changed(body.get("changedPropIds"), body.get("inputs") or [])
    return CheckedCallback(output, outputs, inputs, body)


def registered_outputs(output: str) -> tuple[Dependency, ...]:
    """The outputs a callback_map key names (``id.prop`` or ``..a.p...b.q..``)."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    found = []
    for part in parts:
        component, _dot, prop = part.rpartition(".")
        found.append(_dependency({"id": component.replace("\\.", "."), "property": prop}))
    return tuple(found)


def _dependency(item: Mapping[str, Any]) -> Dependency:
    component = str(item["id"])
    parsed = json.loads(component) if component.startswith("{") else component
    return Dependency(parsed, str(item["property"]))


def _wildcard(value: Any) -> str | None:
    """``ALL`` for a registered ``["ALL"]`` (how callback_map spells a wildcard)."""
    if isinstance(value, list) and len(value) == 1 and value[0] in WILDCARDS:
        return str(value[0])
    return None


def _match_slots(name: str, sent: Any, registered: tuple[Dependency, ...],
                 with_value: bool = True) -> None:
    if not isinstance(sent, list) or len(sent) != len(registered):
        raise CallbackMismatch(f"{name}: {len(registered)} expected, as registered")
    for position, (slot, dependency) in enumerate(zip(sent, registered, strict=True)):
        entries = slot if dependency.multi() else [slot]
        if dependency.multi() and not isinstance(slot, list):
            raise CallbackMismatch(f"{name}[{position}]: a list of ids expected")
        for entry in entries:
            if not _entry_matches(entry, dependency, with_value):
                raise CallbackMismatch(f"{name}[{position}] is not the registered "
                                       f"{_spelled(dependency)}")


def _entry_matches(entry: Any, dependency: Dependency, with_value: bool) -> bool:
    allowed = SLOT_KEYS if with_value else SLOT_KEYS - {"value"}
    if not isinstance(entry, dict) or not {"id", "property"} <= set(entry) <= allowed:
        return False
    if entry["property"] != dependency.property:
        return False
    if isinstance(dependency.id, str):
        return entry["id"] == dependency.id
    return _id_matches(entry["id"], dependency.id)


def _id_matches(concrete: Any, pattern: dict[str, Any]) -> bool:
    if not isinstance(concrete, dict) or set(concrete) != set(pattern):
        return False
    for key, expected in pattern.items():
        value = concrete[key]
        if _wildcard(expected) is not None:
            if not isinstance(value, str | int | float | bool):
                return False
        elif type(value) is not type(expected) or value != expected:
            return False
    return True


def _match_changed(changed: Any, inputs: list[Any]) -> None:
    if changed is None:
        return
    sent = {(_canonical(entry["id"]), entry["property"]) for entry in _entries(inputs)}
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        raise CallbackMismatch("changedPropIds: a list of input names expected")
    for prop_id in changed:
        component, _dot, prop = prop_id.rpartition(".")
        try:
            parsed = json.loads(component) if component.startswith("{") else component
        except ValueError as error:
            raise CallbackMismatch("changedPropIds: not an input of the request") from error
        if (_canonical(parsed), prop) not in sent:
            raise CallbackMismatch("changedPropIds: not an input of the request")


def _entries(slots: list[Any]) -> Iterator[dict[str, Any]]:
    for slot in slots:
        yield from slot if isinstance(slot, list) else [slot]


def _canonical(component: Any) -> str:
    return json.dumps(component, sort_keys=True)


def _spelled(dependency: Dependency) -> str:
    component = dependency.id if isinstance(dependency.id, str) else _canonical(dependency.id)
    return f"{component}.{dependency.property}"
