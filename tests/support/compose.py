"""Read ``docker-compose.yml`` and the ``Dockerfile`` the way Docker would, for checks.

Only parsing: nothing here talks to Docker. tests/operations/test_compose.py uses these helpers
to keep the deployment files consistent with Settings, the CLI and the topic list.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_PATH = REPO_ROOT / "docker-compose.yml"
DOCKERFILE_PATH = REPO_ROOT / "Dockerfile"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, ${NAME:+alt}
_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                        r"(?:(?P<operator>:?[-?+])(?P<argument>[^}]*))?\}")
_RESTART_POLICIES = {"always", "unless-stopped", "on-failure"}


@dataclass(frozen=True)
class EnvReference:
    """One ``${NAME…}`` interpolation in a compose value."""

    name: str
    operator: str  # "", ":-", "-", ":?", "?", ":+" or "+"
    argument: str  # the default, the error message or the alternative value

    @property
    def required(self) -> bool:
        return self.operator in (":?", "?")


def load_compose(path: str | Path = COMPOSE_PATH) -> dict[str, Any]:
    """The compose file as plain data (YAML anchors and ``<<`` merges resolved)."""
    with open(path, encoding="utf-8") as file:
        data = yaml.safe_load(file)
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise ValueError(f"{path}: not a compose file (no services mapping)")
    return data


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def service_environment(service: dict[str, Any]) -> dict[str, str | None]:
    """``environment:`` as a mapping, from either form; values as Docker sees them (text).

    A bare name (``- NAME`` or ``NAME:``) passes the host's value through: it maps to None.
    """
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in raw)
        return {name: value for name, value in pairs}
    return {name: _as_text(value) for name, value in raw.items()}


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def env_references(value: str) -> list[EnvReference]:
    """Every ``${NAME…}`` in a value (``$$`` is an escaped dollar, not a reference)."""
    text = value.replace("$$", "")
    return [EnvReference(m["name"], m["operator"] or "", m["argument"] or "")
            for m in _REFERENCE.finditer(text)]


def is_required_reference(value: str | None) -> bool:
    """True when the whole value is one ``${NAME:?message}``: no literal, no default."""
    if value is None:
        return False
    match = _REFERENCE.fullmatch(value.strip())
    return match is not None and (match["operator"] or "") in (":?", "?")


def with_defaults(value: str) -> str:
    """The value compose gives when no variable is set: defaults in, other references out."""
    def replace(match: re.Match[str]) -> str:
        operator = match["operator"] or ""
        if operator in (":-", "-"):
            return match["argument"]
        if operator in (":?", "?"):
            raise ValueError(f"${{{match['name']}}} is required: {match['argument']}")
        return ""

    return _REFERENCE.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def is_long_running(service: dict[str, Any]) -> bool:
    """Long-running services restart by policy; one-shot ones say ``restart: "no"``."""
    return str(service.get("restart", "no")) in _RESTART_POLICIES


def command_args(service: dict[str, Any], key: str = "command") -> list[str]:
    """``command:`` (or ``entrypoint:``) as an argument list; shell form is split like sh."""
    raw = service.get(key)
    if raw is None:
        return []
    return shlex.split(raw) if isinstance(raw, str) else [str(arg) for arg in raw]


@dataclass(frozen=True)
class PortMapping:
    host_ip: str
    published: str  # host port (or range); "" when Docker picks one
    target: int
    protocol: str = "tcp"


def published_ports(service: dict[str, Any]) -> list[PortMapping]:
    """``ports:`` in short ("[ip:][host:]container[/proto]") or long syntax."""
    return [_port(entry) for entry in service.get("ports") or []]


def _port(entry: Any) -> PortMapping:
    if isinstance(entry, dict):
        return PortMapping(str(entry.get("host_ip", "")), str(entry.get("published", "")),
                           int(entry["target"]), str(entry.get("protocol", "tcp")))
    text, _, protocol = str(entry).partition("/")
    parts = text.rsplit(":", 2)
    target = int(parts[-1])
    published = parts[-2] if len(parts) >= 2 else ""
    host_ip = parts[0] if len(parts) == 3 else ""
    return PortMapping(host_ip.strip("[]"), published, target, protocol or "tcp")


def dockerfile_instructions(path: str | Path = DOCKERFILE_PATH) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs; comments dropped, ``\\`` continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def exec_form(arguments: str) -> list[str]:
    """A CMD/ENTRYPOINT argument: JSON exec form, or shell form run by ``/bin/sh -c``."""
    if arguments.startswith("["):
        return [str(arg) for arg in json.loads(arguments)]
    return ["/bin/sh", "-c", arguments]


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The instructions of the last build stage (what the image runs)."""
    starts = [index for index, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    return instructions[starts[-1]:] if starts else instructions


def dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    """Variables set by ENV in ``NAME=value`` form (the legacy ``ENV NAME value`` too)."""
    env: dict[str, str] = {}
    for keyword, arguments in instructions:
        if keyword != "ENV":
            continue
        words = shlex.split(arguments)
        if words and "=" not in words[0]:
            env[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            name, _, value = word.partition("=")
            env[name] = value
    return env
