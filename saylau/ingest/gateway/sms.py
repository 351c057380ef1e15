"""Reports by text message: a short grammar parsed into contract events.

    T <station> <ballots>                    turnout counted by the observer
    I <station> <code> <severity> [text]     incident (codes in INCIDENT_CODES), severity 1-3
    C <station>                              check-in
    X <station> [S|R|A|O]                    check-out: shift end (default), removed,
                                             reassigned, other

``<station>`` is the full id (KAZ011-0457) or its number (0457 or 457). Letters may be
lower case; extra spaces are ignored. A message that does not parse gets a reply saying
what is wrong, naming the rule and never repeating what was sent.

Every code has Russian and Kazakh letters too, and Cyrillic look-alikes of Latin letters
are read as those (saylau/ingest/gateway/sms_letters.py). Replies are in the sender's
script: Kazakh, Russian or English (the catalogs, saylau/core/i18n.py).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi.responses import JSONResponse

from saylau.core.contract import Checkin, Checkout, Event, Incident, Turnout
from saylau.core.i18n import N_, gettext
from saylau.ingest.gateway.sms_letters import (
    CHECKOUT_REASONS,
    INCIDENT_LETTERS,
    REPORT_TYPES,
    folded,
    latin_code,
    reply_language,
)

if TYPE_CHECKING:
    from saylau.ingest.gateway.app import Gateway
    from saylau.ingest.gateway.schemas import SmsRequest
    from saylau.ingest.gateway.tokens import Identity

INCIDENT_CODES = {
    "EP": "employer_pressure", "AR": "admin_resource", "BS": "ballot_stuffing",
    "CV": "carousel_voting", "VB": "vote_buying", "OB": "observer_obstruction",
    "OR": "observer_removed", "SV": "secrecy_violation", "FV": "family_voting",
    "CA": "campaigning_at_station", "LI": "list_irregularity", "PF": "protocol_falsification",
    "PR": "procedural", "OT": "other",
}
CHECKOUT_CODES = {"S": "shift_end", "R": "removed", "A": "reassigned", "O": "other"}
# The formats as replies show them; the Russian and Kazakh catalogs show their letters.
USAGE = {
    "T": N_("turnout: T <station> <ballots>, e.g. T 0457 1234"),
    "I": N_("incident: I <station> <code> <severity 1-3> [text], e.g. I 0457 EP 2 boss told "
            "staff to vote; codes: {codes}"),
    "C": N_("check-in: C <station>, e.g. C 0457"),
    "X": N_("check-out: X <station> [S|R|A|O] (shift end, removed, reassigned, other)"),
}
HELP = N_("Unknown report type. Start with T (turnout), I (incident), C (check-in) or X "
          "(check-out)")
# The incident codes a reply lists, per language (Latin for English).
CODES_SHOWN = {language: " ".join(codes) for language, codes in INCIDENT_LETTERS.items()}
SMS_NAMESPACE = uuid.UUID("0f6a8d3e-54a4-4c1b-9d4e-5a7e3c2b1f00")
# ASCII digits only: \d and str.isdigit also take "²" or "١٢", which int() may refuse.
NUMBER = re.compile(r"[0-9]{1,8}")
FULL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_BALLOTS = 10_000_000


@dataclass(frozen=True)
class SmsError:
    """What is wrong, as the catalogs' English text and its fields; `reply` is English,
    `in_language` gives it in another."""

    message: str
    fields: tuple[tuple[str, str], ...] = ()
    usage: str | None = None  # the report type whose format follows the message

    def in_language(self, language: str) -> str:
        text = gettext(self.message, language).format(**dict(self.fields))
        if self.usage is None:
            return text
        return text + " " + gettext("Format:", language) + " " + usage(self.usage, language)

    @property
    def reply(self) -> str:
        return self.in_language("en")


def usage(code: str, language: str) -> str:
    return gettext(USAGE[code], language).format(
        codes=CODES_SHOWN.get(language, " ".join(INCIDENT_CODES)))


class StationDirectory:
    """Station numbers to ids: '0457' is KAZ011-0457 if only one region has a 457."""

    def __init__(self, station_ids: Iterable[str]) -> None:
        self.ids = set(station_ids)
        self.by_number: dict[int, list[str]] = {}
        for station_id in self.ids:
            match = re.search(r"([0-9]+)$", station_id)
            if match:
                self.by_number.setdefault(int(match.group(1)), []).append(station_id)

    def resolve(self, text: str, preferred: str | None = None) -> str | SmsError:
        for candidate in (text, text.upper(), folded(text)):  # folded: КАZ011-0457
            if candidate in self.ids:
                return candidate
        if not NUMBER.fullmatch(text):
            return SmsError(N_("Station must be its number (e.g. 0457) or full id "
                               "(e.g. KAZ011-0457)"))
        found = self.by_number.get(int(text), [])
        if preferred in found:
            return preferred  # type: ignore[return-value]  # preferred is a str here
        if len(found) == 1:
            return found[0]
        if not found:
            return SmsError(N_("No station has that number; check it or send the full id"))
        return SmsError(N_("Several regions have a station with that number; send the full "
                           "id, e.g. KAZ011-0457"))


def parse_sms(text: str, observer_id: str, now: dt.datetime, stations: StationDirectory,
              message_id: str | None = None, assigned: str | None = None) -> Event | SmsError:
    """A contract event from an SMS, or the reply that says what is wrong. Never raises."""
    words = text.split()
    if not words:
        return SmsError(N_("Empty message. Unknown report type. Start with T (turnout), I "
                           "(incident), C (check-in) or X (check-out)"))
    code = latin_code(words[0], REPORT_TYPES, USAGE)
    if code not in USAGE:
        return SmsError(HELP)
    if len(words) < 2:
        return SmsError(N_("Missing station."), usage=code)
    station = stations.resolve(words[1], assigned)
    if isinstance(station, SmsError):
        return station
    common = {"event_id": _event_id(observer_id, text, message_id), "station_id": station,
              "observer_id": observer_id, "occurred_at": now}
    try:
        built = _build(code, words[2:], text, common)
    except ValueError:  # pydantic's ValidationError, or a number int() did not take
        return SmsError(N_("The report breaks a rule."), usage=code)
    return built


def _build(code: str, rest: list[str], text: str, common: dict[str, object]
           ) -> Event | SmsError:
    if code == "T":
        if len(rest) != 1 or not NUMBER.fullmatch(rest[0]) or int(rest[0]) > MAX_BALLOTS:
            return SmsError(N_("Ballots must be one whole number."), usage="T")
        return Turnout.model_validate({**common, "kind": "turnout",
                                       "ballots_issued": int(rest[0])})
    if code == "C":
        if rest:
            return SmsError(N_("Nothing may follow the station."), usage="C")
        return Checkin.model_validate({**common, "kind": "checkin"})
    if code == "X":
        reason = latin_code(rest[0], CHECKOUT_REASONS, CHECKOUT_CODES) if rest else "S"
        if len(rest) > 1 or reason not in CHECKOUT_CODES:
            return SmsError(N_("Reason must be S, R, A or O."), usage="X")
        return Checkout.model_validate({**common, "kind": "checkout",
                                        "reason": CHECKOUT_CODES[reason]})
    return _incident(rest, text, common)


def _incident(rest: list[str], text: str, common: dict[str, object]) -> Event | SmsError:
    if len(rest) < 2:
        return SmsError(N_("Missing code or severity."), usage="I")
    category = INCIDENT_CODES.get(latin_code(rest[0], INCIDENT_LETTERS, INCIDENT_CODES))
    if category is None:
        return SmsError(N_("Unknown incident code. Codes: {codes}"),
                        (("codes", " ".join(INCIDENT_CODES)),))
    if rest[1] not in {"1", "2", "3"}:
        return SmsError(N_("Severity must be 1, 2 or 3."), usage="I")
    description = _after_words(text, 4)
    if len(description) > 2000:
        return SmsError(N_("The description is longer than 2000 characters"))
    return Incident.model_validate({**common, "kind": "incident", "category": category,
                                    "severity": int(rest[1]), "description": description})


def _after_words(text: str, count: int) -> str:
    """The text after the first ``count`` words, its own spacing kept."""
    parts = text.strip().split(None, count)
    return parts[count].strip() if len(parts) > count else ""


def _event_id(observer_id: str, text: str, message_id: str | None) -> uuid.UUID:
    if message_id:  # the provider resent the same SMS: the same event
        return uuid.uuid5(SMS_NAMESPACE, f"{observer_id}\x1f{message_id}")
    return uuid.uuid4()


KIND_NAMES = {"turnout": N_("turnout"), "incident": N_("incident"), "checkin": N_("check-in"),
              "checkout": N_("check-out")}


def reply_for(event: Event, language: str = "en") -> str:
    kind = gettext(KIND_NAMES.get(event.kind, event.kind), language)
    return gettext("OK: {kind} at {station} recorded", language).format(
        kind=kind, station=event.station_id)


async def handle(gateway: Gateway, who: Identity, message: SmsRequest) -> JSONResponse:

    now = gateway.clock()
    outcome = parse_sms(message.text, who.observer_id, now, gateway.directory,
                        message.message_id, gateway.assignments.get(who.observer_id))
    language = reply_language(message.text)
    if isinstance(outcome, SmsError):
        gateway.metrics.refused.labels("sms_not_understood").inc()
        return JSONResponse({"ok": False, "reply": outcome.in_language(language)},
                            status_code=422)
    refusal = gateway.vet(outcome, who)
    if refusal is not None:
        gateway.metrics.refused.labels(refusal.reason).inc()
        # The reason's detail stays English: it names fields of the contract.
        reply = gettext("Not recorded: {detail}", language).format(detail=refusal.detail)
        return JSONResponse({"ok": False, "reply": reply}, status_code=422)
    await gateway.journal_events([(0, outcome)], now)
    return JSONResponse({"ok": True, "reply": reply_for(outcome, language),
                         "event_id": str(outcome.event_id)}, status_code=202)



