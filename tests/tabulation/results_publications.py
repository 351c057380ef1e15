"""Commission-shaped results publications for the results-import tests, made in the test.

``station_figures`` gives consistent figures for registry stations (the arithmetic holds,
ballots cast ≤ issued ≤ received ≤ registered); the writers lay them out as a commission
does: Russian headers of the default mapping, a title line, thousands separators, district
total rows, and in XLSX a two-row header whose merged cell "Голоса за" spans the parties.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from saylau.core.election import Election

OPTIONS = list(Election().options)
COUNTS = ["registered", "ballots_received", "ballots_issued", "ballots_cast", "invalid"]
RUSSIAN = {"station_id": "Код участка", "district": "Район",
           "registered": "Число избирателей, внесённых в списки",
           "ballots_received": "Число бюллетеней, полученных участковой комиссией",
           "ballots_issued": "Число бюллетеней, выданных избирателям",
           "ballots_cast": "Число избирателей, принявших участие в голосовании",
           "invalid": "Число недействительных бюллетеней",
           "amanat": "AMANAT", "auyl": "НДПП «Ауыл»", "respublica": "Respublica",
           "ak_zhol": "ДПК «Ак жол»", "qhp": "Народная партия Казахстана", "osdp": "ОСДП",
           "baytaq": "Байтак", "against_all": "Против всех"}
GROUP = "Голоса за"  # the merged cell over the parties
NBSP, NARROW_NBSP = "\u00a0", "\u202f"


def station_figures(registry: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """One row per station: station_id, district, the five counts and a column per option."""
    rng = np.random.default_rng(seed)
    registered = registry["registered_voters"].to_numpy(dtype=np.int64)
    cast = (registered * rng.uniform(0.4, 0.8, len(registered))).astype(np.int64)
    invalid = (cast * 0.02).astype(np.int64)
    shares = rng.dirichlet(np.ones(len(OPTIONS)), len(registered))
    votes = np.floor(shares * (cast - invalid)[:, None]).astype(np.int64)
    votes[:, 0] += (cast - invalid) - votes.sum(axis=1)  # the rounding goes to the first
    frame = pd.DataFrame({"station_id": registry["station_id"].to_numpy(),
                          "district": registry["district"].to_numpy(),
                          "registered": registered, "ballots_received": registered + 20,
                          "ballots_issued": cast, "ballots_cast": cast, "invalid": invalid})
    for number, option in enumerate(OPTIONS):
        frame[option] = votes[:, number]
    return frame


def grouped(value: int, separator: str) -> str:
    """``1234`` as ``1 234`` (or with ``separator``) — how a commission prints it."""
    return f"{value:,}".replace(",", separator)


def district_blocks(figures: pd.DataFrame) -> list[list[object]]:
    """Rows (station rows, then a total row per district), as cell values."""
    rows: list[list[object]] = []
    for district, block in figures.groupby("district", sort=False):
        for record in block.itertuples(index=False):
            rows.append([record.station_id, district, *[getattr(record, c) for c in COUNTS],
                         *[getattr(record, o) for o in OPTIONS]])
        rows.append(["", f"Итого по району {district}", *[int(block[c].sum()) for c in COUNTS],
                     *[int(block[o].sum()) for o in OPTIONS]])
    return rows


def write_csv(path: Path, figures: pd.DataFrame, separator: str = NBSP, delimiter: str = ";",
              totals: bool = True) -> Path:
    """A semicolon CSV as Excel saves it: a title line, the header, numbers grouped by
    ``separator``, a total row after each district."""
    header = [RUSSIAN[c] for c in ["station_id", "district", *COUNTS, *OPTIONS]]
    rows = district_blocks(figures) if totals else [
        [r.station_id, r.district, *[getattr(r, c) for c in COUNTS + OPTIONS]]
        for r in figures.itertuples(index=False)]
    lines = ["Итоги голосования по избирательным участкам", delimiter.join(
        f'"{h}"' if delimiter in h else h for h in header)]
    for row in rows:
        cells = [grouped(v, separator) if isinstance(v, int | np.integer) else str(v)
                 for v in row]
        lines.append(delimiter.join(f'"{c}"' if delimiter in c else c for c in cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    """A workbook, a sheet per region: a title row, a two-row header (the counts merged
    down over both rows, "Голоса за" merged across the parties), stations and totals, some
    numbers as text with thousands separators as the CEC's tables have them."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, figures in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append([f"Итоги голосования: {name}"])
        fixed = ["station_id", "district", *COUNTS]
        sheet.append([RUSSIAN[c] for c in fixed] + [GROUP] + [None] * (len(OPTIONS) - 1))
        sheet.append([None] * len(fixed) + [RUSSIAN[o] for o in OPTIONS])
        for column in range(1, len(fixed) + 1):
            sheet.merge_cells(start_row=2, end_row=3, start_column=column, end_column=column)
        sheet.merge_cells(start_row=2, end_row=2, start_column=len(fixed) + 1,
                          end_column=len(fixed) + len(OPTIONS))
        for number, row in enumerate(district_blocks(figures)):
            # registered as text "1 234" (narrow no-break space) on every other row: a
            # table pasted from the CEC's PDF; the rest real numbers
            if number % 2 and isinstance(row[2], int | np.integer):
                row[2] = grouped(int(row[2]), NARROW_NBSP)
            sheet.append([v.item() if isinstance(v, np.integer) else v for v in row])
    book.save(path)
    return path
