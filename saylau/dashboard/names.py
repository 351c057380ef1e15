"""Names of codes and regions in this request's language (saylau/core/names.py holds the
names, saylau/geo/region_names.csv the regions')."""

from __future__ import annotations

from saylau.core import names
from saylau.dashboard.language import current_language
from saylau.geo.regions import region_names_by_language


def region_name(code: str, fallback: str | None = None) -> str:
    """A region's name in this request's language, else the region file's name."""
    return region_names_by_language().get(current_language(), {}).get(code, fallback or code)


def category_name(code: str) -> str:
    return names.name_of(names.CATEGORY_NAMES, code, current_language())


def alert_kind_name(code: str) -> str:
    return names.name_of(names.ALERT_KIND_NAMES, code, current_language())


def coverage_name(code: str) -> str:
    return names.name_of(names.COVERAGE_NAMES, code, current_language())


def status_name(code: str) -> str:
    return names.name_of(names.STATUS_NAMES, code, current_language())


def source_name(code: str) -> str:
    return names.name_of(names.SOURCE_NAMES, code, current_language())


def free_reason_name(code: str) -> str:
    return names.name_of(names.FREE_REASON_NAMES, code, current_language())


def role_name(code: str) -> str:
    return names.name_of(names.ROLE_NAMES, code, current_language())


def protocol_field_name(code: str) -> str:
    """A protocol figure's name (``ballots_issued`` -> "ballots issued")."""
    return names.name_of(names.PROTOCOL_FIELD_NAMES, code, current_language())


def suspicion_reason_name(code: str) -> str:
    return names.name_of(names.SUSPICION_REASON_NAMES, code, current_language())
