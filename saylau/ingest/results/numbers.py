"""Counts as a commission writes them: ``1234``, ``1 234``, ``1,234``, ``1 234`` (no-break
space), ``1 234`` (narrow no-break space), ``1'234``; a dash for zero.

A column of a million cells holds a few thousand distinct texts (counts repeat), so each
distinct text is read once and the results are spread back over the column: Arrow's
dictionary encoding finds them (one hash pass), a regular expression reads them. A million
rows of a dozen columns are read in a few seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# What may separate groups of three digits. A separator must be followed by exactly three
# digits, so "1,5" (a decimal comma) is refused rather than read as fifteen.
SEPARATORS = " ,'’\u00a0\u202f\u2009"
COUNT = re.compile(r"[0-9]+|[0-9]{1,3}(?:[" + SEPARATORS + r"][0-9]{3})+")
NON_DIGITS = re.compile(r"[^0-9]")
# Publications often print a dash where the count is nought.
DASHES = frozenset({"-", "–", "—"})
MAX_COUNT = 10_000_000  # the event contract's bound of a station's count
# Totals may be far larger than a station's count: they are read up to 18 digits (int64).
MAX_DIGITS = 18

OK, EMPTY, NOT_A_NUMBER, TOO_LARGE = 0, 1, 2, 3


@dataclass(frozen=True)
class Counts:
    """One column's cells as counts: ``values`` (0 where unreadable) and a ``status`` per
    cell; a TOO_LARGE cell keeps its value (a total may be that large)."""

    values: npt.NDArray[np.int64]
    status: npt.NDArray[np.int8]


def parse_counts(cells: pd.Series) -> Counts:
    """Read a column of cell texts as whole numbers, with a status per cell (OK, EMPTY,
    NOT_A_NUMBER or TOO_LARGE: above a station's MAX_COUNT)."""
    encoded = pc.dictionary_encode(pa.array(cells.astype(str), pa.string()))
    texts = encoded.dictionary.to_pylist()
    values = np.zeros(len(texts), dtype=np.int64)
    status = np.zeros(len(texts), dtype=np.int8)
    for number, text in enumerate(texts):
        values[number], status[number] = read_count(text)
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return Counts(values[indices], status[indices])


def read_count(text: str) -> tuple[int, int]:
    """One cell's (value, status)."""
    text = text.strip()  # str.strip: every Unicode space, the no-break ones included
    if not text:
        return 0, EMPTY
    if text in DASHES:
        return 0, OK
    if not COUNT.fullmatch(text):
        return 0, NOT_A_NUMBER
    digits = NON_DIGITS.sub("", text)
    if len(digits) > MAX_DIGITS:
        return 0, TOO_LARGE
    value = int(digits)
    return value, (OK if value <= MAX_COUNT else TOO_LARGE)
