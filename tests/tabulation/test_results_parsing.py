"""Reading and checking a commission's results publication: pure, no broker.

Every file is made in the test the way a commission publishes one (results_publications.py):
XLSX with a merged two-row header and a sheet per region, CSV with its own headers and a
mapping file, numbers with thousands separators, district total rows.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from saylau.core.contract import Protocol, parse_event
from saylau.geo.registry import synthetic_registry
from saylau.ingest.results import (
    Identity,
    ImportPlan,
    MappingError,
    load_mapping,
    plan_import,
    publication_id,
)
from saylau.ingest.results.numbers import EMPTY, NOT_A_NUMBER, OK, TOO_LARGE, parse_counts
from saylau.ingest.results.sheets import sniff_delimiter
from tests.tabulation.results_publications import (
    COUNTS,
    NARROW_NBSP,
    NBSP,
    OPTIONS,
    RUSSIAN,
    station_figures,
    write_csv,
    write_xlsx,
)

PUBLISHED = dt.datetime(2026, 3, 15, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))
ARITHMETIC_COLUMN = RUSSIAN["ballots_cast"]


@pytest.fixture(scope="module")
def registry() -> pd.DataFrame:
    return synthetic_registry(n_stations=80, total_voters=90_000, seed=5)


@pytest.fixture(scope="module")
def figures(registry: pd.DataFrame) -> pd.DataFrame:
    return station_figures(registry, seed=3)


def plan(path: Path, registry: pd.DataFrame, mapping_path: Path | None = None,
         keep_valid: bool = False) -> ImportPlan:
    content = path.read_bytes()
    return plan_import(path, content, load_mapping(mapping_path), registry, OPTIONS,
                       Identity(publication_id(content), "cec-import", PUBLISHED), keep_valid)


def sent_figures(result: ImportPlan) -> pd.DataFrame:
    """The figures the events carry, one row per station, in the figures' columns."""
    rows = []
    for key, value in result.messages:
        event = parse_event(value)
        assert isinstance(event, Protocol) and event.station_id == key.decode()
        rows.append({"station_id": event.station_id,
                     **{c: getattr(event, c) for c in COUNTS}, **event.votes})
    return pd.DataFrame(rows).sort_values("station_id", ignore_index=True)


def expected(figures: pd.DataFrame) -> pd.DataFrame:
    return figures[["station_id", *COUNTS, *OPTIONS]].sort_values("station_id",
                                                                  ignore_index=True)


# --- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("1234", 1234), ("1 234", 1234), ("1,234", 1234), (f"1{NBSP}234", 1234),
    (f"1{NARROW_NBSP}234", 1234), ("1'234", 1234), (f"2{NBSP}345{NBSP}678", 2_345_678),
    (" 17 ", 17), ("0", 0), ("—", 0), ("-", 0), ("10000000", 10_000_000)])
def test_counts_are_read_with_any_thousands_separator(text: str, value: int) -> None:
    counts = parse_counts(pd.Series([text]))
    assert (counts.status[0], counts.values[0]) == (OK, value)


@pytest.mark.parametrize(("text", "status"), [
    ("", EMPTY), ("  ", EMPTY), ("1,5", NOT_A_NUMBER), ("12,34", NOT_A_NUMBER),
    ("1 23", NOT_A_NUMBER), ("abc", NOT_A_NUMBER), ("٣", NOT_A_NUMBER), ("-5", NOT_A_NUMBER),
    ("12.5", NOT_A_NUMBER), ("10000001", TOO_LARGE), ("99 999 999 999", TOO_LARGE)])
def test_what_is_not_a_count_is_said_so(text: str, status: int) -> None:
    counts = parse_counts(pd.Series(["7", text]))
    assert counts.status.tolist() == [OK, status]
    assert counts.values[1] == 0 or status == TOO_LARGE  # a large total keeps its value


def test_a_semicolon_file_with_comma_grouped_numbers_is_split_on_semicolons() -> None:
    lines = ["Итоги", "Код участка;Число избирателей, внесённых в списки;AMANAT",
             "A-1;1,234;56", "A-2;987;1,001"]
    assert sniff_delimiter(lines) == ";"
    assert sniff_delimiter(['"a, b",c,d', "1,2,3", "4,5,6"]) == ","


# --- XLSX: sheets and the merged header -----------------------------------------------------


def test_a_workbook_with_a_sheet_per_region_and_a_merged_header_is_read_whole(
        tmp_path: Path, registry: pd.DataFrame, figures: pd.DataFrame) -> None:
    regions = registry["region_code"].unique()[:3]
    sheets = {f"Облысы {code}": figures[registry["region_code"] == code] for code in regions}
    result = plan(write_xlsx(tmp_path / "results.xlsx", sheets), registry)
    assert result.errors == [] and result.sheets == list(sheets)
    chosen = figures[registry["region_code"].isin(regions)]
    pd.testing.assert_frame_equal(sent_figures(result), expected(chosen), check_dtype=False)
    assert result.station_rows == len(chosen)


def test_an_arithmetic_error_is_reported_by_sheet_row_and_column_and_nothing_is_imported(
        tmp_path: Path, registry: pd.DataFrame, figures: pd.DataFrame) -> None:
    code = registry["region_code"].iloc[0]
    region = figures[registry["region_code"] == code].copy()
    wrong = region.index[1]
    region.loc[wrong, "amanat"] += 5  # the votes no longer add up to ballots cast
    path = write_xlsx(tmp_path / "results.xlsx", {"Алматы": region,
                                                 "Астана": figures.iloc[-3:]})
    result = plan(path, registry)
    assert result.messages == []
    (problem,) = result.errors
    # A title row and two header rows, then district by district, each closed by its
    # total row (computed from the changed figures, so only the station's row is wrong)
    order = [sid for _, block in region.groupby("district", sort=False)
             for sid in [*block["station_id"], None]]
    excel_row = 4 + order.index(region.loc[wrong, "station_id"])
    assert (problem.sheet, problem.row, problem.column) == ("Алматы", excel_row,
                                                            ARITHMETIC_COLUMN)
    text = problem.message(lambda message: message)
    assert text.startswith(f'sheet "Алматы", row {excel_row}, column "{ARITHMETIC_COLUMN}": ')
    cast = int(region.loc[wrong, "ballots_cast"])
    assert f"({cast})" in text and f"({cast + 5})" in text


def test_keep_valid_imports_every_row_but_the_wrong_one(
        tmp_path: Path, registry: pd.DataFrame, figures: pd.DataFrame) -> None:
    changed = figures.copy()
    changed.loc[changed.index[4], "invalid"] += 1
    path = write_csv(tmp_path / "results.csv", changed)
    assert plan(path, registry).messages == []
    result = plan(path, registry, keep_valid=True)
    assert [p.column for p in result.errors] == [RUSSIAN["ballots_cast"]]
    assert len(result.messages) == len(figures) - 1
    sent = set(sent_figures(result)["station_id"])
    assert changed.loc[changed.index[4], "station_id"] not in sent
    assert sent == set(figures["station_id"]) - {changed.loc[changed.index[4], "station_id"]}


# --- CSV with the commission's own headers and a mapping file -----------------------------

ENGLISH = {"station_id": "Polling station", "registered": "Electorate",
           "ballots_received": "Ballots received", "ballots_issued": "Ballots issued",
           "ballots_cast": "Turnout", "invalid": "Spoilt"}


def write_mapping(path: Path) -> Path:
    votes = "\n".join(f'{option} = "Party {number}"' for number, option in enumerate(OPTIONS))
    columns = "\n".join(f'{field} = ["{header}"]' for field, header in ENGLISH.items())
    path.write_text(f'totals = ["Subtotal"]\n\n[columns]\n{columns}\n\n[votes]\n{votes}\n',
                    encoding="utf-8")
    return path


def write_english_csv(path: Path, figures: pd.DataFrame) -> Path:
    """Comma-delimited, numbers above 999 quoted with a comma ("1,234"), a subtotal."""
    header = [ENGLISH[c] for c in ["station_id", *COUNTS]] + \
        [f"Party {n}" for n in range(len(OPTIONS))] + ["Note"]
    lines = [",".join(header)]
    for record in figures.itertuples(index=False):
        cells = [record.station_id] + [f'"{getattr(record, c):,}"'
                                       for c in [*COUNTS, *OPTIONS]] + ["ok"]
        lines.append(",".join(cells))
    sums = [f'"{int(figures[c].sum()):,}"' for c in [*COUNTS, *OPTIONS]]
    lines.append(",".join(["", *sums, "Subtotal of the region"]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_csv_with_its_own_headers_is_read_through_a_mapping_file(
        tmp_path: Path, registry: pd.DataFrame, figures: pd.DataFrame) -> None:
    path = write_english_csv(tmp_path / "results.csv", figures)
    result = plan(path, registry, write_mapping(tmp_path / "mapping.toml"))
    assert result.errors == [] and result.sheets == ["results"]
    pd.testing.assert_frame_equal(sent_figures(result), expected(figures), check_dtype=False)
    with pytest.raises(AssertionError):  # the default mapping does not know these headers
        assert plan(path, registry).errors == []


def test_a_json_mapping_replaces_only_the_fields_it_names(tmp_path: Path) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"columns": {"registered": "Electorate"}}), encoding="utf-8")
    mapping = load_mapping(path)
    assert mapping.columns["registered"] == ("Electorate",)
    assert "Код участка" in mapping.columns["station_id"] and mapping.votes["amanat"]


@pytest.mark.parametrize("text", [
    '{"columns": {"turnout": "Явка"}}', '{"columns": {"registered": []}}', "[1, 2]",
    '{"cols": {}}', '{"columns": {"registered": "AMANAT"}}', "not json"])
def test_a_mapping_that_cannot_be_used_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError):
        load_mapping(path)


# --- the checks ---------------------------------------------------------------------------


def reasons(result: ImportPlan) -> list[tuple[int, str, str]]:
    return [(p.row, p.column, p.reason) for p in result.problems]


def test_unknown_and_repeated_stations_are_errors_of_the_station_cell(
        tmp_path: Path, registry: pd.DataFrame, figures: pd.DataFrame) -> None:
    changed = figures.copy()
    changed.loc[changed.index[0], "station_id"] = "KAZ999-0001"
    changed.loc[changed.index[2], "station_id"] = "bad code!"
    sheets = {"One": changed.iloc[:10], "Two": pd.concat([changed.iloc[10:20],
                                                          changed.iloc[[5]]])}
    result = plan(write_xlsx(tmp_path / "r.xlsx", sheets), registry, keep_valid=True)
    station = RUSSIAN["station_id"]
    found = {(p.sheet, p.reason.split(" ")[0], p.params.get("station")) for p in result.errors}
    repeated = changed.loc[changed.index[5], "station_id"]
    assert ("One", "the", "KAZ999-0001") in found  # "the station … is not in the registry"
    assert ("One", "is", None) in found  # not a station code
    assert {p.sheet for p in result.errors if p.params.get("station") == repeated
            and "more than once" in p.reason} == {"One", "Two"}
    assert {p.column for p in result.errors} == {station}
    assert result.station_rows == 21
    assert len(result.messages) == 21 - 4  # two bad codes, both rows of the repeated one


def test_a_district_total_that_is_not_the_sum_of_its_stations_is_an_error(
        tmp_path: Path, registry: pd.DataFrame, figures: pd.DataFrame) -> None:
    path = write_csv(tmp_path / "results.csv", figures, separator=NARROW_NBSP)
    lines = path.read_text(encoding="utf-8").splitlines()
    number = next(n for n, line in enumerate(lines) if line.startswith(";Итого"))
    cells = lines[number].split(";")
    votes_at = 2 + len(COUNTS)  # station, district, the counts, then the parties
    cells[votes_at] = str(int(cells[votes_at].replace(NARROW_NBSP, "")) + 1)
    lines[number] = ";".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = plan(path, registry)
    (problem,) = result.errors
    assert (problem.row, problem.column) == (number + 1, RUSSIAN["amanat"])
    assert problem.params["total"] == problem.params["sum"] + 1 and result.messages == []


def test_a_region_total_below_district_totals_sums_the_whole_sheet(
        tmp_path: Path, registry: pd.DataFrame, figures: pd.DataFrame) -> None:
    path = write_csv(tmp_path / "results.csv", figures)
    sums = [f"{int(figures[c].sum()):,}".replace(",", NBSP) for c in [*COUNTS, *OPTIONS]]
    with path.open("a", encoding="utf-8") as file:
        file.write(";".join(["", "Барлығы / Всего по области", *sums]) + "\n")
    assert plan(path, registry).errors == []
    sums[0] = "1"
    path.write_text(path.read_text(encoding="utf-8").rsplit("\n", 2)[0] + "\n" + ";".join(
        ["", "Барлығы / Всего по области", *sums]) + "\n", encoding="utf-8")
    (problem,) = plan(path, registry).errors
    assert problem.params["stations"] == len(figures) and problem.column == RUSSIAN["registered"]


def test_suspicious_but_possible_figures_are_warnings_and_imported(
        tmp_path: Path, registry: pd.DataFrame, figures: pd.DataFrame) -> None:
    changed = figures.copy()
    first = changed.index[0]
    changed.loc[first, "ballots_issued"] = changed.loc[first, "ballots_cast"] - 3
    changed.loc[first, "registered"] += 7  # not the registry's number any more
    result = plan(write_csv(tmp_path / "results.csv", changed, totals=False), registry)
    assert result.errors == [] and len(result.messages) == len(figures)
    assert sorted(p.params.get("cast", p.params.get("registry")) is not None
                  for p in result.warnings) == [True, True]
    assert {p.column for p in result.warnings} == {RUSSIAN["ballots_cast"],
                                                   RUSSIAN["registered"]}
    assert result.warnings[0].message(lambda m: m).startswith("warning: sheet")


def test_unreadable_counts_and_counts_without_a_station_are_errors(
        tmp_path: Path, registry: pd.DataFrame, figures: pd.DataFrame) -> None:
    path = write_csv(tmp_path / "results.csv", figures.iloc[:5], totals=False)
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[3].split(";")
    cells[2], cells[3] = "1,5", ""
    lines[3] = ";".join(cells)
    lines.append(";" + ";".join(["1"] * (len(COUNTS) + len(OPTIONS) + 1)))
    lines.append("* предварительные данные")  # a footnote: passed over
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = reasons(plan(path, registry))
    assert [(row, column) for row, column, _ in found] == [
        (4, RUSSIAN["registered"]), (4, RUSSIAN["ballots_received"]),
        (8, RUSSIAN["station_id"])]


def test_a_missing_column_names_the_header_it_looked_for(
        tmp_path: Path, registry: pd.DataFrame, figures: pd.DataFrame) -> None:
    path = write_csv(tmp_path / "results.csv", figures.iloc[:5], totals=False)
    text = path.read_text(encoding="utf-8").replace("Против всех", "Другие")
    path.write_text(text, encoding="utf-8")
    (problem,) = plan(path, registry).errors
    assert (problem.row, problem.params["field"]) == (2, "against_all")


def test_a_cover_sheet_without_numbers_is_passed_over(
        tmp_path: Path, registry: pd.DataFrame, figures: pd.DataFrame) -> None:
    from openpyxl import load_workbook

    path = write_xlsx(tmp_path / "r.xlsx", {"Data": figures.iloc[:6]})
    book = load_workbook(path)
    book.create_sheet("Пояснения", 0).append(["Источник: ЦИК"])
    book.save(path)
    result = plan(path, registry)
    assert result.errors == [] and result.skipped_sheets == ["Пояснения"]
    assert len(result.messages) == 6


# --- the events ---------------------------------------------------------------------------


def test_events_are_the_contract_s_and_their_ids_follow_the_file(
        tmp_path: Path, registry: pd.DataFrame, figures: pd.DataFrame) -> None:
    path = write_csv(tmp_path / "results.csv", figures)
    first, again = plan(path, registry), plan(path, registry)
    assert first.messages == again.messages  # the same file: the same events
    event = parse_event(first.messages[0][1])
    assert isinstance(event, Protocol)
    assert (event.source, event.observer_id, event.occurred_at) == ("official", "cec-import",
                                                                    PUBLISHED)
    assert event.publication == publication_id(path.read_bytes())
    assert event.publication.startswith("pub-") and len(event.publication) == 20
    changed = figures.copy()
    changed.loc[changed.index[0], "amanat"] += 1
    changed.loc[changed.index[0], "ballots_cast"] += 1
    changed.loc[changed.index[0], "ballots_issued"] += 1
    corrected = plan(write_csv(tmp_path / "corrected.csv", changed), registry)
    ids = {parse_event(v).event_id for _, v in first.messages}
    assert ids.isdisjoint({parse_event(v).event_id for _, v in corrected.messages})
    assert len(ids) == len(figures)


def test_every_event_is_valid_against_the_contract(
        tmp_path: Path, registry: pd.DataFrame, figures: pd.DataFrame) -> None:
    result = plan(write_csv(tmp_path / "results.csv", figures), registry)
    values = [parse_event(value) for _, value in result.messages]
    assert all(isinstance(v, Protocol) and v.ballots_cast == sum(v.votes.values()) + v.invalid
               for v in values)
    assert np.array_equal(sorted(v.station_id for v in values),
                          sorted(figures["station_id"]))


def test_event_ids_are_rfc_4122_uuid5_of_the_publication_and_the_station() -> None:
    import uuid

    from saylau.ingest.results.events import RESULTS_NAMESPACE, event_ids

    stations = ["KAZ011-0457", "A-1", "KAZ001-0001"]
    assert event_ids("pub-0123456789abcdef", stations) == [
        str(uuid.uuid5(RESULTS_NAMESPACE, f"pub-0123456789abcdef\x1f{station}"))
        for station in stations]


def test_a_total_may_be_above_a_station_s_bound(
        tmp_path: Path, registry: pd.DataFrame, figures: pd.DataFrame) -> None:
    biggest = figures["district"].value_counts().index[0]
    large = figures[figures["district"] == biggest].head(2).copy()
    large["registered"] = 6_000_000  # each within a station's bound, the total above it
    large["ballots_received"] = 6_000_020
    result = plan(write_csv(tmp_path / "results.csv", large), registry)
    assert result.errors == [] and len(result.messages) == 2
    large.loc[large.index[0], "registered"] = 10_000_001
    (problem,) = plan(write_csv(tmp_path / "results.csv", large), registry).errors
    assert (problem.row, problem.reason) == (3, "is above 10,000,000")


def test_a_file_that_is_not_a_workbook_is_refused_as_a_whole(
        tmp_path: Path, registry: pd.DataFrame) -> None:
    from saylau.ingest.results import PublicationError

    path = tmp_path / "results.xlsx"
    path.write_text("Код участка;AMANAT\n", encoding="utf-8")  # a CSV named .xlsx
    with pytest.raises(PublicationError, match="not a readable XLSX workbook"):
        plan(path, registry)
    empty = tmp_path / "results.csv"
    empty.write_bytes(b"\n")
    with pytest.raises(PublicationError, match="the file is empty"):
        plan(empty, registry)
