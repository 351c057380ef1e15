"""A publication's sheets as tables of cell texts, whatever the file format.

XLSX through openpyxl (every worksheet of the workbook, e.g. one per region; read-only
mode, so a large workbook streams instead of filling memory; cached values of formulas);
CSV through pandas' C parser (one sheet, named after the file; UTF-8 or, as Excel in a
Russian locale saves it, Windows-1251; comma, semicolon or tab, found from the first lines).
Each table is indexed by the row number a person sees: Excel's row, the CSV's line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".txt")
DELIMITERS = (",", ";", "\t")
SNIFF_LINES = 30
ENCODINGS = ("utf-8-sig", "cp1251")


class PublicationError(ValueError):
    """A file that cannot be read as a publication at all (the message says why)."""


@dataclass(frozen=True)
class RawSheet:
    """One sheet: ``cells`` holds str cells ("" when empty) in columns 0, 1, …, indexed by
    the row number a person sees (1 = the first row)."""

    name: str
    cells: pd.DataFrame


def read_sheets(path: Path, content: bytes) -> list[RawSheet]:
    """Every sheet of the publication at ``path`` (whose bytes are ``content``)."""
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return read_workbook(content)
    if suffix in CSV_SUFFIXES:
        return [read_csv(path.name, content)]
    if suffix == ".xls":
        raise PublicationError("XLS (Excel 97-2003) is not read: save the file as XLSX or CSV")
    raise PublicationError(f"unknown file type {suffix or '(none)'}: expected .xlsx or .csv")


# --- XLSX -------------------------------------------------------------------------------


def read_workbook(content: bytes) -> list[RawSheet]:
    import openpyxl  # imported here: only XLSX publications need it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as error:
        raise PublicationError(f"not a readable XLSX workbook ({error.__class__.__name__})") \
            from error
    try:
        return [_worksheet(sheet) for sheet in workbook.worksheets]
    finally:
        workbook.close()


def _worksheet(sheet: object) -> RawSheet:
    sheet.reset_dimensions()  # type: ignore[attr-defined]  # some writers store a wrong size
    rows = [[cell_text(value) for value in row]
            for row in sheet.iter_rows(values_only=True)]  # type: ignore[attr-defined]
    frame = pd.DataFrame(rows, dtype=object).fillna("") if rows else pd.DataFrame()
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return RawSheet(str(sheet.title), frame.astype(str))  # type: ignore[attr-defined]


def cell_text(value: object) -> str:
    """A cell's value as the text a person reads: whole floats without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


# --- CSV --------------------------------------------------------------------------------


def read_csv(name: str, content: bytes) -> RawSheet:
    if not content.strip():
        raise PublicationError("the file is empty")
    encoding = _encoding(content)
    head = _head_lines(content, encoding)
    delimiter = sniff_delimiter(head)
    width = max((len(row) for row in csv.reader(head, delimiter=delimiter)), default=1)
    try:
        frame = pd.read_csv(io.BytesIO(content), sep=delimiter, header=None,
                            names=list(range(width)), dtype=str, keep_default_na=False,
                            skip_blank_lines=False, encoding=encoding, engine="c")
    except pd.errors.ParserError as error:
        line = re.search(r"line (\d+)", str(error))
        where = f"line {line[1]}: " if line else ""
        raise PublicationError(f"{where}a row has more cells than the header "
                               f"({width})") from error
    frame = frame.fillna("")
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return RawSheet(Path(name).stem, frame)


def _encoding(content: bytes) -> str:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return ENCODINGS[1]  # not UTF-8: Excel's "CSV" in a Cyrillic Windows locale
    return ENCODINGS[0]


def _head_lines(content: bytes, encoding: str) -> list[str]:
    head = content[: 1 << 16].decode(encoding, errors="ignore")
    return head.splitlines()[:SNIFF_LINES]


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the first lines most consistently: the most lines with the
    same number of cells (above one), then the most cells. A semicolon file whose numbers
    hold commas ("1,234") is split unevenly by commas, so the semicolon wins."""
    def score(delimiter: str) -> tuple[int, int]:
        widths = Counter(len(row) for row in csv.reader(lines, delimiter=delimiter)
                         if len(row) > 1)
        if not widths:
            return 0, 0
        width, lines_of_width = widths.most_common(1)[0]
        return lines_of_width, width

    return max(DELIMITERS, key=score)
