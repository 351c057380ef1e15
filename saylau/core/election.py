"""The election definition: the day, its timetable and the ballot. Data, not code.

The default is a Mazhilis-style party-list election in Kazakhstan; another election is a
JSON file with the same fields (``load_election``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

AGAINST_ALL = "against_all"
# Exit-poll answers that are not ballot options.
NON_VOTE_ANSWERS = ("refused", "undecided")

KAZAKHSTAN_PARTIES = {
    "amanat": "AMANAT",
    "auyl": "Auyl People's Democratic Patriotic Party",
    "respublica": "Respublica",
    "ak_zhol": "Ak Zhol Democratic Party",
    "qhp": "People's Party of Kazakhstan",
    "osdp": "Nationwide Social Democratic Party",
    "baytaq": "Baytaq Green Party",
}

KAZAKHSTAN_OPTION_TRANSLATIONS = {
    "kk": {"amanat": "AMANAT", "auyl": "«Ауыл» халықтық-демократиялық патриоттық партиясы",
           "respublica": "Respublica", "ak_zhol": "«Ақ жол» демократиялық партиясы",
           "qhp": "Қазақстан халық партиясы",
           "osdp": "Жалпыұлттық социал-демократиялық партия",
           "baytaq": "«Байтақ» жасылдар партиясы", "against_all": "Барлығына қарсы"},
    "ru": {"amanat": "AMANAT", "auyl": "Народно-демократическая патриотическая партия «Ауыл»",
           "respublica": "Respublica", "ak_zhol": "Демократическая партия «Ак жол»",
           "qhp": "Народная партия Казахстана",
           "osdp": "Общенациональная социал-демократическая партия",
           "baytaq": "Партия зелёных «Байтак»", "against_all": "Против всех"},
}


class ExitPollDisclosure(BaseModel):
    """What the law requires every publication of exit-poll results to state, besides the
    number of respondents and the margin of error (both computed from the data).

    The defaults describe the movement's own exit poll; an election file sets the real
    ones (``"exitpoll": {"conducted_by": …}``) before anything is published.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    conducted_by: str = "Saylau observer movement, exit-poll team"
    commissioned_by: str = "Saylau observer movement (own funds)"
    # Fieldwork dates; unset = the election day, from polls open to polls close.
    fieldwork_start: dt.datetime | None = None
    fieldwork_end: dt.datetime | None = None
    method: str = ("face-to-face interviews of voters leaving a sample of polling stations, "
                   "self-completed anonymous ballot; shares estimated by the ratio estimator "
                   "with stations as clusters")
    question: str = "For which party did you vote today?"
    confidence: float = Field(default=0.95, gt=0, lt=1)


class Election(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "Election of the Mazhilis"
    date: dt.date = dt.date(2026, 3, 15)
    timezone: str = "Asia/Almaty"
    polls_open: dt.time = dt.time(7, 0)
    polls_close: dt.time = dt.time(20, 0)
    # Ballot options in ballot order, code -> name; "against_all" is always one of them.
    options: dict[str, str] = Field(
        default_factory=lambda: {**KAZAKHSTAN_PARTIES, AGAINST_ALL: "Against all"})
    # The options' names in other languages, language -> code -> name (an option missing
    # in a language keeps its `options` name). Names are data, not catalog texts: each
    # election has its own.
    option_translations: dict[str, dict[str, str]] = Field(
        default_factory=lambda: {language: dict(names)
                                 for language, names in KAZAKHSTAN_OPTION_TRANSLATIONS.items()})
    # Local times at which the commission publishes official turnout.
    reporting_times: tuple[dt.time, ...] = tuple(dt.time(h) for h in (10, 12, 14, 16, 18, 20))
    # Exit-poll numbers may be published only after this local time (default: polls close).
    exitpoll_embargo_until: dt.time | None = None
    # The mandatory statements of an exit-poll publication (who, who paid, when, how, what).
    exitpoll: ExitPollDisclosure = ExitPollDisclosure()  # frozen: one shared default is safe

    def option_names(self, language: str) -> dict[str, str]:
        """Ballot options' names in `language`, in ballot order."""
        translated = self.option_translations.get(language, {})
        return {code: translated.get(code, name) for code, name in self.options.items()}

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, at: dt.time, days: int = 0) -> dt.datetime:
        """An aware datetime on the election day (plus ``days``) at local time ``at``."""
        return dt.datetime.combine(self.date + dt.timedelta(days=days), at, tzinfo=self.tz)

    @property
    def opens_at(self) -> dt.datetime:
        return self.local(self.polls_open)

    @property
    def closes_at(self) -> dt.datetime:
        return self.local(self.polls_close)

    @property
    def embargo_ends_at(self) -> dt.datetime:
        return self.local(self.exitpoll_embargo_until or self.polls_close)

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(code for code in self.options if code != AGAINST_ALL)

    @property
    def vote_options(self) -> frozenset[str]:
        """Codes a protocol may count votes for: the ballot, against_all included."""
        return frozenset(self.options) | {AGAINST_ALL}

    @property
    def exitpoll_answers(self) -> frozenset[str]:
        return self.vote_options | set(NON_VOTE_ANSWERS)


def load_election(path: Path) -> Election:
    return Election.model_validate(json.loads(path.read_text(encoding="utf-8")))
