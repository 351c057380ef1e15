"""A problem found in a publication: where it is, as a person finds it in the file, and why.

``sheet`` is the worksheet's name (a CSV file has one sheet, named after the file),
``row`` the row number Excel shows (a CSV's line number), ``column`` the publication's own
header of the column. ``reason`` is an English text marked for the catalogs with its
``{placeholders}`` filled from ``params`` only where it is shown, in the reader's language.
Reasons name rules and figures, never a cell's text: a cell could hold anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from saylau.core.i18n import N_

ERROR, WARNING = "error", "warning"

AT_CELL = N_('sheet "{sheet}", row {row}, column "{column}": {reason}')
AT_ROW = N_('sheet "{sheet}", row {row}: {reason}')
AT_SHEET = N_('sheet "{sheet}": {reason}')
WARNING_PREFIX = N_("warning: {message}")


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int  # 0: the sheet as a whole
    column: str  # "" when the problem is the row's or the sheet's
    reason: str  # an N_() text
    params: dict[str, object] = field(default_factory=dict)
    severity: str = ERROR

    def message(self, gettext: Callable[[str], str]) -> str:
        """The problem as one line, in the language of ``gettext``."""
        reason = gettext(self.reason).format(**self.params)
        if self.row and self.column:
            text = gettext(AT_CELL).format(sheet=self.sheet, row=self.row,
                                           column=self.column, reason=reason)
        elif self.row:
            text = gettext(AT_ROW).format(sheet=self.sheet, row=self.row, reason=reason)
        elif self.sheet:
            text = gettext(AT_SHEET).format(sheet=self.sheet, reason=reason)
        else:
            text = reason
        return gettext(WARNING_PREFIX).format(message=text) if self.severity == WARNING \
            else text

    @property
    def blocking(self) -> bool:
        return self.severity == ERROR
