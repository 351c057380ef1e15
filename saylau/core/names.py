"""The names people read for Saylau's codes: incident categories, alert kinds, coverage
states, incident statuses, roles, reasons, protocol figures and suspicion reasons.

The English name is the catalog's message id (marked with ``N_`` so ``make messages``
extracts it); `name_of` gives it in a language. Region names and ballot options are data
of their own files (saylau/geo/region_names.csv, the election definition).
"""

from __future__ import annotations

from saylau.core.i18n import N_, gettext

CATEGORY_NAMES = {
    "employer_pressure": N_("employer pressure"), "admin_resource": N_("administrative resource"),
    "ballot_stuffing": N_("ballot stuffing"), "carousel_voting": N_("carousel voting"),
    "vote_buying": N_("vote buying"), "observer_obstruction": N_("observer obstruction"),
    "observer_removed": N_("observer removed"), "secrecy_violation": N_("secrecy violation"),
    "family_voting": N_("family voting"),
    "campaigning_at_station": N_("campaigning at the station"),
    "list_irregularity": N_("voter list irregularity"),
    "protocol_falsification": N_("protocol falsification"), "procedural": N_("procedural"),
    "other": N_("other"),
}
ALERT_KIND_NAMES = {
    "observer_removed": N_("observer removed"), "incident_burst": N_("incident burst"),
    "turnout_jump": N_("turnout jump"), "turnout_decrease": N_("turnout decrease"),
    "protocol_mismatch": N_("protocol mismatch"), "station_uncovered": N_("station uncovered"),
}
COVERAGE_NAMES = {"present": N_("observer present"), "en_route": N_("assigned, en route"),
                  "removed": N_("observer removed"), "absent": N_("no observer")}
STATUS_NAMES = {"unverified": N_("unverified"), "verified": N_("verified"),
                "rejected": N_("rejected"), "duplicate": N_("duplicate")}
ROLE_NAMES = {"headquarters": N_("headquarters"), "regional_lead": N_("regional lead"),
              "media": N_("media"), "observer": N_("observer"),
              "commission_member": N_("commission member"),
              "exit_pollster": N_("exit pollster"), "journalist": N_("journalist")}
SOURCE_NAMES = {"observer_count": N_("observer count"), "official": N_("official"),
                "observer_copy": N_("observer copy"), "exitpoll": N_("exit poll")}
FREE_REASON_NAMES = {"removed": N_("removed"), "shift ended": N_("shift ended"),
                     "reassigned": N_("reassigned"), "checked out": N_("checked out"),
                     "reserve": N_("reserve")}

PROTOCOL_FIELD_NAMES = {"registered": N_("registered"),
                        "ballots_received": N_("ballots received"),
                        "ballots_issued": N_("ballots issued"),
                        "ballots_cast": N_("ballots cast"), "invalid": N_("invalid")}
# The reasons of saylau/analysis/suspicion.py (its docstring says what each finds).
SUSPICION_REASON_NAMES = {
    "observer_copy_differs": N_("official protocol differs from the observer's copy"),
    "round_turnout": N_("round turnout"), "round_leader_share": N_("round leader's share"),
    "outlier_turnout_and_share": N_("turnout and leader's share far above comparable stations"),
    "outlier_leader_share": N_("leader's share far above comparable stations"),
    "turnout_above_observer_count": N_("official turnout ahead of the observer's count"),
    "turnout_jump": N_("turnout jump"),
    "observer_copy_missing": N_("no copy from an observer who was there at the end"),
    "observer_removed_before_count": N_("observer expelled before the count"),
    "voters_added_on_the_day": N_("many voters added to the list on the day"),
    "impossible_arithmetic": N_("impossible arithmetic"),
    "identical_figures": N_("the same figures as another station"),
}


def name_of(names: dict[str, str], code: str, language: str) -> str:
    """The name of `code` in `language`; an unknown code is shown as it is."""
    english = names.get(code)
    return gettext(english, language) if english else code.replace("_", " ")
