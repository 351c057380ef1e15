"""Kazakh, Russian and English: message catalogs, and numbers and times per language.

Every text a person reads goes through `translator(language, domain)`. The catalogs are
gettext ``.po`` files in the repository (``saylau/locale/<lang>/LC_MESSAGES/<domain>.po``),
read with Babel: Babel is the well-kept Python implementation of gettext catalogs and of the
CLDR's number, date and language data, which also knows Kazakh. The ``.po`` files are read
directly (parsed and compiled in memory once per process), so there is no build step
between editing a catalog and running Saylau; ``make messages`` extracts, updates and
checks them with Babel's own ``pybabel`` commands.

Domains: ``saylau`` for the dashboard, exports, gateway replies and commands; each web
client (the field app, the public report page) has a domain of its own, so one catalog's
edits never collide with another's.

A language is added with a new catalog folder and no code change: `available_languages`
lists the folders that hold a catalog.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
LANGUAGES = ("kk", "ru", "en")  # the languages Saylau ships, in the order it offers them
DEFAULT_LANGUAGE = "en"
DOMAIN = "saylau"


def available_languages(locale_dir: Path = LOCALE_DIR, domain: str = DOMAIN) -> tuple[str, ...]:
    """Languages with a catalog of `domain`: the shipped ones first, then any added."""
    found = {path.parent.parent.name
             for path in locale_dir.glob(f"*/LC_MESSAGES/{domain}.po")}
    return tuple([lang for lang in LANGUAGES if lang in found]
                 + sorted(found - set(LANGUAGES)))


def choose_language(wanted: Iterable[str | None], offered: Iterable[str] = LANGUAGES) -> str:
    """The first of `wanted` (a user's choice, ``?lang=``, a browser's list…) that is
    offered, matched on the language part (``ru-KZ`` -> ``ru``); else the default."""
    offered = tuple(offered)
    for item in wanted:
        if not item:
            continue
        code = item.strip().replace("_", "-").split("-")[0].lower()
        if code in offered:
            return code
    return DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in offered or not offered else offered[0]


@functools.lru_cache(maxsize=64)
def translator(language: str, domain: str = DOMAIN,
               locale_dir: Path = LOCALE_DIR) -> NullTranslations:
    """The catalog of `domain` in `language`; a language without one falls back to the
    text in the code (English), never to an error."""
    path = locale_dir / language / "LC_MESSAGES" / f"{domain}.po"
    if not path.is_file():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=_locale_or_none(language), domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy entry is not a translation
    compiled.seek(0)
    return Translations(compiled, domain=domain)


def gettext(message: str, language: str, domain: str = DOMAIN) -> str:
    return translator(language, domain).gettext(message)


def ngettext(singular: str, plural: str, n: int, language: str, domain: str = DOMAIN) -> str:
    return translator(language, domain).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "mark for extraction only")
    """Marks a text for the catalogs where it is defined; it is translated where shown."""
    return message


def _locale_or_none(language: str) -> Locale | None:
    try:
        return Locale.parse(language)
    except (ValueError, UnknownLocaleError):
        return None


def _locale(language: str) -> Locale:
    return _locale_or_none(language) or Locale.parse(DEFAULT_LANGUAGE)


def number(value: float | int | Decimal, language: str, digits: int = 0) -> str:
    """A number with the language's thousands separator and decimal mark."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(_exact(value), format=pattern, locale=_locale(language))


def percent(share: float | Decimal, language: str, digits: int = 1) -> str:
    """`share` (0.5 = 50 %) as the language writes a percentage."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(_exact(share), format=pattern, locale=_locale(language))


def percent_of(value_pct: float | int, language: str, digits: int = 1) -> str:
    """A percentage given as 0-100 (as the warehouse computes them)."""
    return percent(_exact(value_pct) / 100, language, digits)


def _exact(value: float | int | Decimal) -> Decimal | int:
    """A float as the exact binary value it holds, so the rounding is Python's own
    (``f"{62.45:.1f}"``), and English texts stay what they were before the catalogs."""
    return Decimal(value) if isinstance(value, float) else value


def clock_time(moment: dt.datetime, language: str, tz: dt.tzinfo | None = None) -> str:
    """24-hour ``HH:MM`` in the election's time zone."""
    local = moment.astimezone(tz) if tz is not None else moment
    return format_time(local, "HH:mm", locale=_locale(language))


def date_time(moment: dt.datetime, language: str, tz: dt.tzinfo | None = None) -> str:
    """Day, month name and 24-hour time in the election's time zone."""
    local = moment.astimezone(tz) if tz is not None else moment
    return format_datetime(local, "d MMMM y, HH:mm", locale=_locale(language))
