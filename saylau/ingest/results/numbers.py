"""Counts as a commission writes them: ``1234``, ``1 234``, ``1,234``, ``1 234`` (no-break
space), ``1 234`` (narrow no-break space), ``1'234``; a dash for zero.

Vectorised with Arrow compute kernels: a million rows of a dozen columns are read in
seconds. Plain digits (most cells) take the fast kernels; only the rest meet the regex.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# What may separate groups of three digits. A separator must be followed by exactly three
# digits, so "1,5" (a decimal comma) is refused rather than read as fifteen.
SEPARATORS = " ,'’\u00a0\u202f\u2009"
GROUPED = r"^\d{1,3}(?:[" + "".join(f"\\x{{{ord(c):04x}}}" for c in SEPARATORS) + r"]\d{3})+$"
NON_DIGITS = r"[^0-9]"
# Publications often print a dash where the count is nought.
DASHES = ("-", "–", "—")
MAX_COUNT = 10_000_000  # the event contract's bound of a station's count
# Totals may be far larger than a station's count: they are read up to 18 digits (int64).
MAX_DIGITS = 18

OK, EMPTY, NOT_A_NUMBER, TOO_LARGE = 0, 1, 2, 3


@dataclass(frozen=True)
class Counts:
    """One column's cells as counts: ``values`` (0 where not OK) and a ``status`` per cell."""

    values: npt.NDArray[np.int64]
    status: npt.NDArray[np.int8]


def parse_counts(cells: pd.Series) -> Counts:
    """Read a column of cell texts as whole numbers, cell by cell status (OK, EMPTY,
    NOT_A_NUMBER or TOO_LARGE: above a station's MAX_COUNT, its value kept for a total)."""
    text = pc.utf8_trim_whitespace(pa.array(cells.astype(str), type=pa.string()))
    empty = _filled(pc.equal(text, ""))
    dash = _filled(pc.is_in(text, value_set=pa.array(DASHES)))
    plain = _filled(pc.ascii_is_decimal(text))
    grouped = np.zeros(len(cells), dtype=bool)
    rest = ~(empty | dash | plain)
    if rest.any():  # the regex only on the few cells that are not plain digits
        subset = pc.filter(text, pa.array(rest))
        grouped[rest] = _filled(pc.match_substring_regex(subset, GROUPED))
    readable = plain | grouped
    digits = pc.if_else(pa.array(readable), text, "0")
    if grouped.any():
        digits = pc.replace_substring_regex(digits, NON_DIGITS, "")
    short = _filled(pc.less_equal(pc.utf8_length(digits), MAX_DIGITS))
    values = pc.cast(pc.if_else(pa.array(short), digits, "0"), pa.int64()).to_numpy(
        zero_copy_only=False).astype(np.int64)
    too_large = readable & (~short | (values > MAX_COUNT))
    status = np.full(len(cells), NOT_A_NUMBER, dtype=np.int8)
    status[readable] = OK
    status[dash] = OK
    status[too_large] = TOO_LARGE
    status[empty] = EMPTY
    values[(status != OK) & (status != TOO_LARGE)] = 0
    values[too_large & ~short] = 0  # beyond 18 digits: no value to keep
    return Counts(values, status)


def _filled(mask: pa.Array) -> npt.NDArray[np.bool_]:
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False).astype(bool)
