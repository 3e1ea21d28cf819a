"""Workbooks for the tests, built from small tables of rows: xlsx (openpyxl, xlsxwriter), xls (xlwt), ods (by hand).

BASE is a small valid workbook as finance would type it; `edited(*edits)` is a copy with
cells, columns, rows or sheets changed, and `build` writes it. Nothing is fetched.
"""

from __future__ import annotations

import copy
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import xlsxwriter

from planner.core.domain import Portfolio
from planner.core.errors import Problem
from planner.inputs.workbook import read_portfolio

Sheets = dict[str, list[list[Any]]]

# A small valid workbook as finance would type it: header row first, Excel row 2 onwards data.
BASE: Sheets = {
    "Experiences": [
        ["ID", "Name", "Layer", "Team", "Reach per quarter", "Value per outcome", "Uplift low", "Uplift base",
         "Uplift high", "Mandatory", "Requires", "Excludes", "Earliest start"],
        ["A1", "Data platform", "backstage", "Data", 0, 0, 0, 0, 0, "no", None, None, None],
        ["B2", "App returns", "frontstage", "Digital", 1000, 10, 0.01, 0.02, 0.03, "yes", "A1", None, None],
        ["C3", "Web returns", "frontstage", "Digital", 500, 12, 0.01, 0.02, 0.04, "no", None, None, "2027Q2"],
    ],
    "Options": [
        ["Experience ID", "Option", "One-off cost", "Run cost per quarter", "Attention", "Delivery", "Uplift share"],
        ["A1", "standard", 100000, 1000, 10, 1, 1],
        ["B2", "lean", 50000, 0, 5, 1, 0.5],
        ["B2", "standard", 80000, 500, 8, 2, 1],
        ["C3", "standard", 30000, 0, 4, 1, 1],
    ],
    "Shared attention": [
        ["Experience ID", "Option", "Team", "Attention"],
        ["B2", "standard", "Data", 2],
    ],
    "Teams": [["Team", "Capacity per quarter"], ["Digital", 100], ["Data", 50]],
    "Budget": [["Quarter", "Budget"], ["2027Q1", 100000], ["2027Q2", 100000], ["2027Q3", 100000], ["2027Q4", 100000]],
    "Settings": [["Setting", "Value"], ["Horizon", 4], ["Solver", "highs"]],
}


def build(path: Path, sheets: Sheets) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def build_with_formulas(path: Path, sheets: Sheets, formulas: dict[tuple[str, str], tuple[str, Any]]) -> Path:
    """Like build, with formulas and the values Excel cached for them: (sheet, cell) -> (formula, cached value).

    xlsxwriter writes a cached error value (#REF!, #DIV/0!) as Excel does, as an error cell.
    """
    workbook = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    for (name, reference), (formula, cached) in formulas.items():
        workbook.get_worksheet_by_name(name).write_formula(reference, formula, None, cached)
    workbook.close()
    return path


def base_portfolio(tmp_path: Path) -> Portfolio:
    return read_portfolio(build(tmp_path / "base.xlsx", BASE))


def same(read: Portfolio, expected: Portfolio) -> bool:
    """Equal apart from where each came from."""
    return replace(read, source="", source_sha256="") == replace(expected, source="", source_sha256="")


# ---- edits of BASE: each returns a function from sheets to changed sheets -----------------


Edit = Callable[[Sheets], None]


def cell(sheet: str, row: int, column: str, value: Any) -> Edit:
    def edit(sheets: Sheets) -> None:
        rows = sheets[sheet]
        index = rows[0].index(column)
        rows[row - 1].extend([None] * (index + 1 - len(rows[row - 1])))
        rows[row - 1][index] = value
    return edit


def drop_column(sheet: str, column: str) -> Edit:
    def edit(sheets: Sheets) -> None:
        index = sheets[sheet][0].index(column)
        for row in sheets[sheet]:
            del row[index]
    return edit


def drop_row(sheet: str, row: int) -> Edit:
    def edit(sheets: Sheets) -> None:
        del sheets[sheet][row - 1]
    return edit


def drop_sheet(sheet: str) -> Edit:
    def edit(sheets: Sheets) -> None:
        del sheets[sheet]
    return edit


def add_column(sheet: str, header: str, values: list[Any]) -> Edit:
    def edit(sheets: Sheets) -> None:
        sheets[sheet][0].append(header)
        for row, value in zip(sheets[sheet][1:], values):
            row.append(value)
    return edit


def setting(name: str, value: Any) -> Edit:
    """A row added to the Settings sheet."""
    return lambda sheets: sheets["Settings"].append([name, value])


def edited(*edits: Edit) -> Sheets:
    sheets = copy.deepcopy(BASE)
    for edit in edits:
        edit(sheets)
    return sheets


def located(problem: Problem, sheet: str | None, row: int | None, column: str | None) -> bool:
    where = problem.where
    return ((sheet is None or f"sheet {sheet}" in where)
            and (f", row {row}," in where + "," if row else ", row " not in where)
            and (f'column "{column}"' in where if column else "column" not in where))



# ---- other formats and raw zips ----------------------------------------------------------------


def build_xls(path: Path, sheets: Sheets, errors: dict[tuple[str, int, int], str] | None = None) -> Path:
    """An .xls of the sheets (xlwt), with error cells (sheet, row, column counted from 0) -> '#DIV/0!'."""
    import xlwt

    book = xlwt.Workbook()
    for name, rows in sheets.items():
        sheet = book.add_sheet(name, cell_overwrite_ok=True)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    for (name, r, c), code in (errors or {}).items():
        book.get_sheet(list(sheets).index(name)).row(r).set_cell_error(c, code)
    book.save(str(path))
    return path


_ODS_NAMESPACES = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
                   'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
                   'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
                   'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"')


def _ods_cell(value: Any) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, str):
        return f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'
    return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>'


def build_ods(path: Path, sheets: Sheets, raw_cells: dict[tuple[str, int, int], str] | None = None, tail: str = "") -> Path:
    """An .ods of the sheets, written as LibreOffice does; raw_cells replace cells (row, column from 0) by their XML.

    `tail` is XML appended to the first sheet (repeated rows, a stray cell far away).
    """
    raw_cells = raw_cells or {}
    tables = []
    for index, (name, rows) in enumerate(sheets.items()):
        body = "".join("<table:table-row>" + "".join(raw_cells.get((name, r, c), _ods_cell(v)) for c, v in enumerate(row))
                       + "</table:table-row>" for r, row in enumerate(rows))
        tables.append(f'<table:table table:name="{name}">{body}{tail if index == 0 else ""}</table:table>')
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NAMESPACES} office:version="1.2">'
               f'<office:body><office:spreadsheet>{"".join(tables)}</office:spreadsheet></office:body></office:document-content>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml",
                         '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                         'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                         '<manifest:file-entry manifest:full-path="/" '
                         'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                         '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                         '</manifest:manifest>')
        archive.writestr("content.xml", content)
    return path


def rezip(source: Path, target: Path, change: Callable[[str, bytes], list[tuple[str, bytes]]]) -> Path:
    """A copy of a zip with each member (name, data) replaced by what `change` returns for it."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for entry in old.infolist():
            for name, data in change(entry.filename, old.read(entry)):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # zipfile warns of the duplicate name some tests write on purpose
                    new.writestr(name, data)
    return target

