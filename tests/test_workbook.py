"""Tests of planner.inputs.workbook: the template, the writer, the reader and its one-pass validation.

Workbooks are built here with openpyxl (or xlsxwriter, where a formula needs a cached value)
from small tables of rows; nothing is fetched.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import os
import shutil
import stat
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from click.testing import CliRunner

from planner.cli import cli
from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team
from planner.core.errors import InputError, Problem
from planner.inputs.workbook import (
    SHEETS,
    example_portfolio,
    format_reference,
    read_portfolio,
    read_workbook,
    write_portfolio,
    write_template,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "workbook.md"

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


# ---- the template -------------------------------------------------------------------------


def test_template_reads_back_as_the_two_example_experiences(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_template(path)
    portfolio = read_portfolio(path)
    assert [e.id for e in portfolio.experiences] == ["CX-001", "CX-002"]
    assert same(portfolio, example_portfolio())


def test_template_guides_the_analyst(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_template(path)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Experiences", "Options", "Shared attention", "Teams", "Budget", "In flight", "Settings"]
    for sheet in workbook.worksheets:
        header = [c for c in sheet[1] if c.value is not None]
        assert sheet.freeze_panes == "A2"
        assert all(c.comment is not None and c.comment.text for c in header), sheet.title
        assert all(c.font.bold for c in header), sheet.title
        assert all((sheet.column_dimensions[c.column_letter].width or 0) >= 10 for c in header), sheet.title
        assert sheet.data_validations.dataValidation, sheet.title
    headers = [c.value for c in workbook["Experiences"][1]]
    assert "Reach per quarter (customers)" in headers and "Value per outcome (EUR)" in headers
    assert "One-off cost (EUR)" in [c.value for c in workbook["Options"][1]]
    lists = {v.formula1 for v in workbook["Experiences"].data_validations.dataValidation if v.type == "list"}
    assert '"frontstage,backstage"' in lists and '"yes,no"' in lists and any("Teams!" in f for f in lists)
    uplift = [v for v in workbook["Experiences"].data_validations.dataValidation if "M2" in str(v.sqref)]
    assert uplift and (uplift[0].type, uplift[0].formula1, uplift[0].formula2) == ("decimal", "0", "1")
    settings = {row[0].value: row[1].value for row in workbook["Settings"].iter_rows(min_row=2)}
    assert settings["Currency"] == "EUR" and settings["Horizon (quarters)"] == 8 and settings["Solver"] == Settings().solver
    setting_lists = {v.formula1 for v in workbook["Settings"].data_validations.dataValidation if v.type == "list"}
    assert '"cbc,highs"' in setting_lists and '"free,fixed"' in setting_lists
    assert len(list(workbook["Experiences"].iter_rows(min_row=2))) == 2


# ---- writing and reading back -------------------------------------------------------------


def rich_portfolio() -> Portfolio:
    """Everything the format carries: varying capacity, shared teams, references, awkward text and floats."""
    settings = Settings(currency="GBP", first_quarter="2028Q3", horizon_quarters=4, annual_discount_rate=0.1 + 0.2,
                        ramp_quarters=1, tail_quarters=4, start_quarters="fixed", solver="highs", time_limit_seconds=12.5, gap=0.0)
    teams = (Team("Data & Platforms", (10.0, 12.5, 12.5, 9.0)), Team("Digital", (100.0, 100.0, 100.0, 80.0)))
    option = FundingOption("lean", 1_200_000.5, 0.0, (("Digital", 3.25), ("Data & Platforms", 1.0)), 1, 0.55)
    return Portfolio(
        experiences=(
            Experience("101", "Numeric id <b>", "buy", "app", "Cards", "frontstage", "Digital", 12345.0, "conversion",
                       1 / 3, 0.01, 0.02, 0.03, (option, replace(option, name="premium", delivery_quarters=3)),
                       mandatory=True, requires=("x-2",), earliest_start=3, description="  leading spaces kept? no: stripped"),
            Experience("x-2", "Enabler", "", "", "", "backstage", "Data & Platforms", 0.0, "", 0.0, 0.0, 0.0, 0.0,
                       (FundingOption("standard", 5.0, 1.0, (("Data & Platforms", 2.0),), 2, 1.0),), excludes=("101",)),
        ),
        teams=teams, budget=(1e6, 2e6, 0.0, 1.5e6), settings=settings, total_budget=3_000_000.0,
    )


def test_write_then_read_gives_the_same_portfolio(tmp_path: Path) -> None:
    path = tmp_path / "portfolio.xlsx"
    original = rich_portfolio()
    original = replace(original, experiences=(replace(original.experiences[0], description="stripped"), original.experiences[1]))
    write_portfolio(original, path)
    portfolio, errors, warnings = read_workbook(path)
    assert errors == [] and warnings == []
    assert portfolio is not None and same(portfolio, original)
    assert portfolio.source == str(path)
    assert portfolio.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_writing_replaces_the_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "portfolio.xlsx"
    path.write_text("old")
    write_portfolio(example_portfolio(), path)
    assert [p.name for p in tmp_path.iterdir()] == ["portfolio.xlsx"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not the temporary file's private 0600
    assert same(read_portfolio(path), example_portfolio())


def test_reading_never_changes_the_file(tmp_path: Path) -> None:
    path = build(tmp_path / "inputs.xlsx", BASE)
    before = path.read_bytes()
    portfolio = read_portfolio(path)
    assert path.read_bytes() == before
    assert portfolio.source_sha256 == hashlib.sha256(before).hexdigest()


def test_the_base_workbook_reads_as_typed(tmp_path: Path) -> None:
    portfolio = base_portfolio(tmp_path)
    b2 = portfolio.experience("b2")
    assert (b2.mandatory, b2.requires, b2.reach_per_quarter, b2.uplift_base) == (True, ("A1",), 1000.0, 0.02)
    assert [o.name for o in b2.options] == ["lean", "standard"]
    assert b2.options[1].attention == (("Digital", 8.0), ("Data", 2.0))
    assert portfolio.experience("C3").earliest_start == 1
    assert portfolio.team("data").capacity == (50.0,) * 4
    assert portfolio.budget == (100000.0,) * 4 and portfolio.settings.solver == "highs"


def test_docs_show_the_format_as_the_code_defines_it() -> None:
    assert format_reference() in DOCS.read_text()
    for spec in SHEETS:
        assert f"### {spec.name}" in format_reference()


# ---- bad workbooks: every rule, located -----------------------------------------------------

BAD: list[tuple[str, list[Edit], str | None, int | None, str | None, str]] = [
    ("text in a number", [cell("Experiences", 3, "Reach per quarter", "12k")],
     "Experiences", 3, "Reach per quarter", '"12k" is not a number'),
    ("duplicate id", [cell("Experiences", 4, "ID", "b2")],
     "Experiences", 4, "ID", 'id "b2" is used twice: rows 3 and 4'),
    ("unknown requires", [cell("Experiences", 3, "Requires", "A1; Z9")],
     "Experiences", 3, "Requires", '"Z9" is not an experience id'),
    ("unknown excludes", [cell("Experiences", 4, "Excludes", "Q7")],
     "Experiences", 4, "Excludes", '"Q7" is not an experience id'),
    ("unknown experience of an option", [cell("Options", 5, "Experience ID", "ZZ")],
     "Options", 5, "Experience ID", '"ZZ" is not an experience id'),
    ("unknown experience of shared attention", [cell("Shared attention", 2, "Experience ID", "nope")],
     "Shared attention", 2, "Experience ID", '"nope" is not an experience id'),
    ("unknown option of shared attention", [cell("Shared attention", 2, "Option", "gold")],
     "Shared attention", 2, "Option", '"gold" is not an option of experience "B2"'),
    ("circular dependency", [cell("Experiences", 2, "Requires", "B2")],
     "Experiences", 2, "Requires", "circular dependency: A1 -> B2 -> A1"),
    ("negative cost", [cell("Options", 2, "One-off cost", -5)],
     "Options", 2, "One-off cost", "-5 is negative"),
    ("negative reach", [cell("Experiences", 3, "Reach per quarter", -1000)],
     "Experiences", 3, "Reach per quarter", "-1000 is negative"),
    ("negative value", [cell("Experiences", 3, "Value per outcome", "-10")],
     "Experiences", 3, "Value per outcome", '"-10" is negative'),
    ("negative attention", [cell("Shared attention", 2, "Attention", -2)],
     "Shared attention", 2, "Attention", "-2 is negative"),
    ("uplift typed as a percentage number", [cell("Experiences", 3, "Uplift base", 15)],
     "Experiences", 3, "Uplift base", "uplift base 15 is not between 0 and 1; type 15% or 0.15"),
    ("uplift out of order", [cell("Experiences", 3, "Uplift low", 0.05)],
     "Experiences", 3, "Uplift base", "expected low <= base <= high"),
    ("uplift share above 1", [cell("Options", 3, "Uplift share", 1.5)],
     "Options", 3, "Uplift share", "uplift share 1.5 is not between 0 and 1"),
    ("uplift share negative", [cell("Options", 3, "Uplift share", "-20%")],
     "Options", 3, "Uplift share", "uplift share -0.2 is not between 0 and 1"),
    ("delivery of no quarters", [cell("Options", 2, "Delivery", 0)],
     "Options", 2, "Delivery", "0 is not a whole number >= 1"),
    ("delivery in part of a quarter", [cell("Options", 2, "Delivery", 1.5)],
     "Options", 2, "Delivery", "1.5 is not a whole number >= 1"),
    ("unknown team", [cell("Experiences", 3, "Team", "Digtal")],
     "Experiences", 3, "Team", '"Digtal" is not a team on sheet Teams (teams: Digital, Data)'),
    ("unknown shared team", [cell("Shared attention", 2, "Team", "Legal")],
     "Shared attention", 2, "Team", '"Legal" is not a team on sheet Teams'),
    ("unknown layer", [cell("Experiences", 3, "Layer", "middle")],
     "Experiences", 3, "Layer", '"middle" is not a layer; expected frontstage or backstage'),
    ("not yes or no", [cell("Experiences", 3, "Mandatory", "maybe")],
     "Experiences", 3, "Mandatory", '"maybe" is not yes or no'),
    ("blank required cell", [cell("Experiences", 3, "Uplift base", None)],
     "Experiences", 3, "Uplift base", "is blank; expected a fraction between 0 and 1"),
    ("missing required column", [drop_column("Experiences", "Team")],
     "Experiences", 1, None, 'column "Team" is missing'),
    ("missing sheet", [drop_sheet("Teams")],
     None, None, None, "sheet Teams is missing (sheets found: Experiences, Options, Shared attention, Budget, Settings)"),
    ("experience without an option", [drop_row("Options", 5)],
     "Experiences", 4, "ID", 'experience "C3" has no funding option'),
    ("option listed twice", [cell("Options", 3, "Option", "Standard")],
     "Options", 4, "Option", 'option "standard" of experience "B2" appears twice'),
    ("mandatory excludes mandatory", [cell("Experiences", 4, "Mandatory", "yes"), cell("Experiences", 3, "Excludes", "C3")],
     "Experiences", 3, "Excludes", 'excludes "C3", which is mandatory too'),
    ("budget shorter than the horizon", [drop_row("Budget", 5)],
     "Budget", None, "Quarter", "has 3 quarters; the horizon (Settings) has 4: 2027Q1..2027Q4"),
    ("budget quarter out of order", [cell("Budget", 3, "Quarter", "2027Q3")],
     "Budget", 3, "Quarter", '"2027Q3" is not the next quarter of the horizon; expected 2027Q2'),
    ("team quarter outside the horizon", [add_column("Teams", "2028Q1", [10, 10])],
     "Teams", 1, None, "quarter columns 2028Q1 are outside the horizon 2027Q1..2027Q4"),
    ("team with no capacity for a quarter", [cell("Teams", 3, "Capacity per quarter", None)],
     "Teams", 3, "Capacity per quarter", "no capacity for 2027Q1"),
    ("earliest start outside the horizon", [cell("Experiences", 4, "Earliest start", "2029Q1")],
     "Experiences", 4, "Earliest start", "2029Q1 is outside the horizon 2027Q1..2027Q4"),
    ("earliest start not a quarter", [cell("Experiences", 4, "Earliest start", "soon")],
     "Experiences", 4, "Earliest start", '"soon" is not a quarter like 2027Q1'),
    ("setting of the wrong type", [cell("Settings", 2, "Value", "eight")],
     "Settings", 2, "Value", 'Horizon: "eight" is not a number'),
    ("unknown solver", [cell("Settings", 3, "Value", "gurobi")],
     "Settings", 3, "Value", '"gurobi" is not a solver; expected cbc or highs'),
    ("self-dependency", [cell("Experiences", 3, "Requires", "b2")],
     "Experiences", 3, "Requires", "circular dependency: B2 -> B2"),
    ("huge number", [cell("Options", 2, "One-off cost", 1e20)],
     "Options", 2, "One-off cost", "100000000000000000000 is too large; expected at most 1,000,000,000,000,000 (10^15)"),
    ("huge number typed as text", [cell("Teams", 2, "Capacity per quarter", "1e400")],
     "Teams", 2, "Capacity per quarter", '"1e400" is too large'),
    ("huge horizon", [cell("Settings", 2, "Value", 10**9)],
     "Settings", 2, "Value", "Horizon: 1000000000 quarters is too many; expected a whole number from 1 to 400"),
    ("date where a number is expected", [cell("Experiences", 3, "Reach per quarter", datetime.datetime(2027, 3, 1))],
     "Experiences", 3, "Reach per quarter", "2027-03-01 is a date or time; expected a number"),
    ("sheet with no header", [lambda sheets: sheets.update(Teams=[["Teams FY27"], [], ["ask Maria"]])],
     "Teams", None, None, "no header row found; expected a row naming the columns Team"),
]


@pytest.mark.parametrize(("edits", "sheet", "row", "column", "message"),
                         [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_a_bad_workbook_is_reported_where_the_problem_is(
    tmp_path: Path, edits: list[Edit], sheet: str | None, row: int | None, column: str | None, message: str,
) -> None:
    path = build(tmp_path / "bad.xlsx", edited(*edits))
    portfolio, errors, _ = read_workbook(path)
    assert portfolio is None
    matches = [p for p in errors if message in p.message]
    assert matches, f"no error says {message!r}; got:\n" + "\n".join(map(str, errors))
    assert any(located(p, sheet, row, column) for p in matches), "\n".join(map(str, matches))
    assert all(p.where.startswith("bad.xlsx") and p.severity == "error" for p in errors)
    with pytest.raises(InputError) as raised:
        read_portfolio(path)
    assert raised.value.problems == errors


def test_every_problem_is_reported_in_one_pass(tmp_path: Path) -> None:
    path = build(tmp_path / "bad.xlsx", edited(
        cell("Experiences", 3, "Reach per quarter", "12k"),
        cell("Experiences", 4, "Team", "Nobody"),
        cell("Options", 2, "One-off cost", -1),
        cell("Options", 4, "Delivery", 0.5),
        cell("Budget", 2, "Budget", "lots"),
        cell("Settings", 3, "Value", "gurobi"),
    ))
    with pytest.raises(InputError) as raised:
        read_portfolio(path)
    messages = [str(p) for p in raised.value.problems]
    assert len(messages) == 6, messages
    for fragment in ('row 3, column "Reach per quarter"', 'row 4, column "Team"', 'row 2, column "One-off cost"',
                     'row 4, column "Delivery"', 'sheet Budget, row 2, column "Budget"', "sheet Settings, row 3"):
        assert any(fragment in m for m in messages), fragment
    assert "6 problems in the inputs" in str(raised.value)


def test_problems_are_listed_top_to_bottom_in_the_workbook_s_sheet_order(tmp_path: Path) -> None:
    # Budget is the first tab here; cross-sheet checks (unknown team, unknown requires) run
    # after the cell checks, yet each problem is listed where a user walking the workbook meets it.
    sheets = edited(
        cell("Experiences", 4, "Team", "Nobody"),
        cell("Experiences", 3, "Requires", "Z9"),
        cell("Experiences", 3, "Reach per quarter", "12k"),
        cell("Experiences", 2, "Layer", "middle"),
        cell("Options", 2, "One-off cost", -1),
        cell("Budget", 3, "Budget", "lots"),
    )
    sheets = {"Budget": sheets.pop("Budget"), **sheets}
    _, errors, _ = read_workbook(build(tmp_path / "bad.xlsx", sheets))
    assert [p.where.removeprefix("bad.xlsx, ") for p in errors] == [
        'sheet Budget, row 3, column "Budget"',
        'sheet Experiences, row 2, column "Layer"',
        'sheet Experiences, row 3, column "Reach per quarter"',
        'sheet Experiences, row 3, column "Requires"',
        'sheet Experiences, row 4, column "Team"',
        'sheet Options, row 2, column "One-off cost"',
    ]


def test_problems_of_the_file_come_before_those_of_its_sheets(tmp_path: Path) -> None:
    sheets = edited(drop_sheet("Teams"), cell("Experiences", 3, "Reach per quarter", "12k"))
    _, errors, _ = read_workbook(build(tmp_path / "bad.xlsx", sheets))
    assert errors[0].message.startswith("sheet Teams is missing")
    assert 'sheet Experiences, row 3, column "Reach per quarter"' in errors[1].where


@pytest.mark.parametrize(("where", "formula", "cached", "column"), [
    ("Options!C2", "=1/0", "#DIV/0!", "One-off cost"),           # required: was reported as a blank cell
    ("Options!D2", "=#REF!*2", "#REF!", "Run cost per quarter"),  # optional: was read as blank, so 0
    ("Experiences!G3", "=NA()", "#N/A", "Uplift low"),            # optional: was read as blank, so the base uplift
    ("Experiences!A4", "=#REF!", "#REF!", "ID"),                  # an id: the row was skipped as having none
])
def test_an_excel_error_value_is_an_error_not_a_blank_cell(tmp_path: Path, where: str, formula: str, cached: str, column: str) -> None:
    sheet, reference = where.split("!")
    path = build_with_formulas(tmp_path / "errors.xlsx", BASE, {(sheet, reference): (formula, cached)})
    portfolio, errors, _ = read_workbook(path)
    assert portfolio is None
    row = int(reference[1:])
    assert any(located(p, sheet, row, column) and p.message.startswith(f"{cached} is an Excel error value") for p in errors), \
        "\n".join(map(str, errors))


def test_an_unreadable_sheet_is_one_problem_not_a_cascade(tmp_path: Path) -> None:
    path = build(tmp_path / "damaged.xlsx", BASE)
    damaged = tmp_path / "damaged-copy.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(damaged, "w") as target:
        for entry in source.infolist():
            data = source.read(entry)
            target.writestr(entry, data[: len(data) // 2] if entry.filename == "xl/worksheets/sheet1.xml" else data)
    _, errors, _ = read_workbook(damaged)
    assert [(p.where, p.message.split(" (")[0]) for p in errors] == [("damaged-copy.xlsx, sheet Experiences", "cannot be read")]
    assert "the file is damaged: open it in Excel and save it again" in errors[0].message


@pytest.mark.parametrize(("edit", "message"), [
    (lambda sheets: sheets.update(Options=[["Funding options"], [], ["to be agreed"]]), "no header row found"),
    (drop_sheet("Options"), "sheet Options is missing"),
    (drop_column("Options", "Experience ID"), 'column "Experience ID" is missing'),
    (lambda sheets: sheets.update(Teams=[["Teams"]]), "no header row found"),
    (drop_column("Experiences", "ID"), 'column "ID" is missing'),
], ids=["options without a header", "options missing", "options without experience ids", "teams without a header",
        "experiences without ids"])
def test_an_unusable_sheet_others_refer_to_is_one_problem_not_one_per_row(tmp_path: Path, edit: Edit, message: str) -> None:
    _, errors, _ = read_workbook(build(tmp_path / "bad.xlsx", edited(edit)))
    assert len(errors) == 1 and message in errors[0].message, "\n".join(map(str, errors))


def _zip_that_is_not_a_workbook(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")


# An encrypted (password-protected) .xlsx is not a zip: Excel wraps it in an OLE2 compound
# file, which starts with this signature, as an old .xls does.
_OLE2 = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)

BAD_FILES: list[tuple[str, Callable[[Path], Any], str]] = [
    ("empty file", lambda path: path.write_bytes(b""), "is empty (0 bytes); expected an Excel workbook (.xlsx)"),
    ("csv renamed .xlsx", lambda path: path.write_text("ID,Name\nCX-1,Returns\n"),
     "is not an Excel workbook: the file is text (a CSV file renamed .xlsx?); open it in Excel and save it as .xlsx"),
    ("password-protected", lambda path: path.write_bytes(_OLE2), "is password-protected (encrypted) or an old .xls workbook"),
    ("binary that is not a zip", lambda path: path.write_bytes(bytes(range(256)) * 4), "is not an Excel workbook: the file is not a zip archive"),
    ("zip that is not a workbook", _zip_that_is_not_a_workbook, "cannot be read as a workbook"),
    ("absent file", lambda path: None, "cannot be read (No such file or directory)"),
]


@pytest.mark.parametrize(("make", "message"), [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES])
def test_a_file_that_is_not_a_workbook_is_one_clear_problem(tmp_path: Path, make: Callable[[Path], Any], message: str) -> None:
    path = tmp_path / "inputs.xlsx"
    make(path)
    with pytest.raises(InputError) as raised:
        read_portfolio(path)
    assert [(p.where, message in p.message) for p in raised.value.problems] == [("inputs.xlsx", True)], raised.value.problems


# ---- the command line: validate's exit codes and output, and the input never touched ------------


def test_validate_lists_every_problem_once_per_line_and_exits_2(tmp_path: Path) -> None:
    path = build(tmp_path / "bad.xlsx", edited(cell("Experiences", 3, "Reach per quarter", "12k"), cell("Options", 2, "One-off cost", -5)))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert result.output.splitlines() == [
        "Error: 2 problems in the inputs:",
        '  bad.xlsx, sheet Experiences, row 3, column "Reach per quarter": "12k" is not a number',
        '  bad.xlsx, sheet Options, row 2, column "One-off cost": -5 is negative; expected a number >= 0',
    ]


# click itself refuses a path that does not exist.
BAD_EXISTING_FILES = [case for case in BAD_FILES if case[0] != "absent file"]


@pytest.mark.parametrize("make", [case[1] for case in BAD_EXISTING_FILES], ids=[case[0] for case in BAD_EXISTING_FILES])
def test_validate_of_a_file_that_is_not_a_workbook_exits_2_without_a_traceback(tmp_path: Path, make: Callable[[Path], Any]) -> None:
    path = tmp_path / "inputs.xlsx"
    make(path)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output and result.output.startswith("Error: 1 problem in the inputs:")


def test_validate_exits_0_on_a_clean_workbook_with_warnings(tmp_path: Path) -> None:
    path = build(tmp_path / "extra.xlsx", edited(add_column("Experiences", "Owner email", ["a@b", "c@d", "e@f"])))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        'warning: extra.xlsx, sheet Experiences, row 1: column "Owner email" not part of the format; ignored',
        'default: extra.xlsx, sheet Experiences, rows 2 and 3, column "Earliest start": blank: the first quarter used',
        *(f"default: extra.xlsx, sheet Settings: {setting} not given: {value} used" for setting, value in (
            ("Currency", "EUR"), ("First quarter", "2027Q1"), ("Fiscal year starts", "1"), ("Annual discount rate", "0.08"),
            ("Ramp", "0"), ("Tail quarters", "0"), ("Start quarters", "free"), ("Time limit", "60.0"), ("Gap", "0.001"))),
        f"{path}: valid. 3 experiences, 2 teams, 4 quarters from 2027Q1 (1 warning)",
    ]


def test_validate_and_plan_never_change_the_input_workbook(tmp_path: Path) -> None:
    path = build(tmp_path / "inputs.xlsx", BASE)
    long_ago = 1_600_000_000_000_000_000  # ns: a rewrite, even of the same bytes, would move the mtime
    os.utime(path, ns=(long_ago, long_ago))
    before = path.read_bytes()
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("name: untouched\nworkbook: inputs.xlsx\nsolver: highs\ntime_limit_seconds: 30\n")
    runner = CliRunner()
    validated = runner.invoke(cli, ["validate", str(path)])
    planned = runner.invoke(cli, ["plan", str(scenario), "-o", str(tmp_path / "out"), "--format", "csv"])
    assert validated.exit_code == 0, validated.output
    assert planned.exit_code == 0, planned.output
    assert path.read_bytes() == before and path.stat().st_mtime_ns == long_ago


# ---- messy but valid: what finance really sends ------------------------------------------------


def test_headers_in_any_case_spacing_unit_or_alias(tmp_path: Path) -> None:
    sheets = edited()
    sheets["Experiences"][0] = ["experience id", "NAME", "front/back", "Owning team", "Reach / quarter", "value_per_outcome",
                                "Uplift (low)", "Uplift", "Uplift high (%)", "Must do", "Depends on", "Alternatives",
                                "Earliest start (quarter)"]
    sheets["Options"][0] = ["Key", "Tier", "Cost (EUR)", "Opex per quarter", "Team-weeks", "Duration (quarters)", "Share of uplift"]
    sheets["Shared attention"][0] = ["ID", "option name", "team", "effort"]
    sheets["Teams"][0] = ["Team name", "  Capacity  "]
    sheets["Budget"][0] = ["Period", "Amount (EUR)"]
    renamed = {"experiences": sheets["Experiences"], "Funding options": sheets["Options"], "Shared teams": sheets["Shared attention"],
               "Capacity": sheets["Teams"], "BUDGET": sheets["Budget"], "settings": sheets["Settings"]}
    portfolio, errors, warnings = read_workbook(build(tmp_path / "messy.xlsx", renamed))
    assert errors == [] and warnings == []
    assert portfolio is not None and same(portfolio, base_portfolio(tmp_path))


def test_numbers_as_text_and_percentages(tmp_path: Path) -> None:
    path = build(tmp_path / "text.xlsx", edited(
        cell("Experiences", 3, "Reach per quarter", "1,000"),
        cell("Experiences", 3, "Uplift low", "1%"),
        cell("Experiences", 3, "Uplift base", " 2 % "),
        cell("Experiences", 4, "Uplift base", "0.02"),
        cell("Options", 2, "One-off cost", "100 000"),
        cell("Options", 3, "One-off cost", "50,000.00"),
        cell("Options", 3, "Uplift share", "50%"),
        cell("Experiences", 3, "Mandatory", "Y"),
        cell("Budget", 2, "Budget", "1,00,000"),
    ))
    portfolio, errors, _ = read_workbook(path)
    # "1,00,000" is not a grouping Excel writes; a wrong guess would move money, so it is refused.
    assert [p.message for p in errors] == ['"1,00,000" is not a number']
    fixed = build(tmp_path / "fixed.xlsx", edited(
        cell("Experiences", 3, "Reach per quarter", "1,000"), cell("Experiences", 3, "Uplift low", "1%"),
        cell("Experiences", 3, "Uplift base", " 2 % "), cell("Experiences", 4, "Uplift base", "0.02"),
        cell("Options", 2, "One-off cost", "100 000"), cell("Options", 3, "One-off cost", "50,000.00"),
        cell("Options", 3, "Uplift share", "50%"), cell("Experiences", 3, "Mandatory", "Y"),
        cell("Budget", 2, "Budget", "1,200,000.50"),
    ))
    portfolio = read_portfolio(fixed)
    base = base_portfolio(tmp_path)
    assert portfolio.experiences == base.experiences
    assert portfolio.budget == (1_200_000.5, 100000.0, 100000.0, 100000.0)


def test_a_percent_formatted_cell_is_its_fraction(tmp_path: Path) -> None:
    path = build(tmp_path / "percent.xlsx", BASE)
    workbook = openpyxl.load_workbook(path)
    workbook["Experiences"]["H3"].value = 0.02
    workbook["Experiences"]["H3"].number_format = "0.0%"
    workbook.save(path)
    assert read_portfolio(path).experience("B2").uplift_base == 0.02


@pytest.mark.parametrize("word", ["yes", "Y", "TRUE", "1", "x", True, 1])
def test_yes_in_its_many_spellings(tmp_path: Path, word: Any) -> None:
    path = build(tmp_path / "yes.xlsx", edited(cell("Experiences", 4, "Mandatory", word)))
    assert read_portfolio(path).experience("C3").mandatory is True


def test_title_rows_blank_rows_and_a_totals_row_are_skipped(tmp_path: Path) -> None:
    sheets = edited()
    sheets["Options"] = [["Funding options FY27"], [], *sheets["Options"][:3], [], *sheets["Options"][3:],
                         ["Total", None, 260000, 1500, 27, None, None]]
    sheets["Budget"] = [["Budget 2027", None, "prepared by finance"], *sheets["Budget"], [None, 400000]]
    portfolio, errors, warnings = read_workbook(build(tmp_path / "titled.xlsx", sheets))
    assert errors == []
    assert portfolio is not None and same(portfolio, base_portfolio(tmp_path))
    assert [(p.where, p.message) for p in warnings] == [
        ("titled.xlsx, sheet Options, row 9", "totals row ignored"),
        ("titled.xlsx, sheet Budget, row 7", "row without Quarter but with numbers: taken for a totals row and ignored"),
    ]


def test_an_extra_column_is_ignored_with_a_warning(tmp_path: Path) -> None:
    path = build(tmp_path / "extra.xlsx", edited(add_column("Experiences", "Owner email", ["a@b", "c@d", "e@f"])))
    portfolio, errors, warnings = read_workbook(path)
    assert errors == [] and portfolio is not None and same(portfolio, base_portfolio(tmp_path))
    assert [str(w) for w in warnings] == ['extra.xlsx, sheet Experiences, row 1: column "Owner email" not part of the format; ignored']


def test_a_row_without_an_id_is_skipped_with_a_warning(tmp_path: Path) -> None:
    sheets = edited()
    sheets["Experiences"].append([None, "Someone's idea", "frontstage"])
    portfolio, errors, warnings = read_workbook(build(tmp_path / "noid.xlsx", sheets))
    assert errors == [] and portfolio is not None
    assert [str(w) for w in warnings] == ["noid.xlsx, sheet Experiences, row 5: row without ID skipped"]


def test_numeric_ids_are_text(tmp_path: Path) -> None:
    path = build(tmp_path / "numbers.xlsx", edited(
        cell("Experiences", 2, "ID", 101), cell("Experiences", 3, "Requires", 101), cell("Options", 2, "Experience ID", "101"),
    ))
    portfolio = read_portfolio(path)
    assert portfolio.experiences[0].id == "101" and portfolio.experience("B2").requires == ("101",)


def test_references_and_teams_take_the_spelling_of_what_they_name(tmp_path: Path) -> None:
    path = build(tmp_path / "case.xlsx", edited(
        cell("Experiences", 3, "Requires", "a1"), cell("Experiences", 3, "Team", "DIGITAL"), cell("Experiences", 3, "Layer", "Front"),
    ))
    b2 = read_portfolio(path).experience("B2")
    assert (b2.requires, b2.team, b2.layer) == (("A1",), "Digital", "frontstage")


def test_formulas_are_read_by_their_cached_values(tmp_path: Path) -> None:
    path = build_with_formulas(tmp_path / "formulas.xlsx", BASE, {
        ("Options", "C4"): ("=C3*1.6", 80000),  # B2 standard costs 1.6 times lean
        **{("Budget", f"B{row}"): (f"=B{row - 1}", 100000) for row in range(3, 6)},
        ("Budget", "A3"): ('=LEFT(A2,5)&"2"', "2027Q2"),
    })
    portfolio, errors, warnings = read_workbook(path)
    assert errors == [] and warnings == []
    assert portfolio is not None and same(portfolio, base_portfolio(tmp_path))


def test_per_quarter_capacity_overrides_the_single_column(tmp_path: Path) -> None:
    path = build(tmp_path / "quarters.xlsx", edited(add_column("Teams", "2027Q4", [80, None])))
    portfolio = read_portfolio(path)
    assert portfolio.team("Digital").capacity == (100.0, 100.0, 100.0, 80.0)
    assert portfolio.team("Data").capacity == (50.0,) * 4


def test_only_a_total_budget(tmp_path: Path) -> None:
    sheets = edited(drop_sheet("Budget"))
    sheets["Settings"].append(["Total budget (EUR)", "300,000"])
    portfolio = read_portfolio(build(tmp_path / "total.xlsx", sheets))
    assert portfolio.total_budget == 300000.0 and portfolio.budget == (300000.0,) * 4


def test_without_settings_the_defaults_apply_with_a_warning(tmp_path: Path) -> None:
    sheets = edited(drop_sheet("Settings"))
    sheets["Budget"] += [[f"2028Q{q}", 1] for q in range(1, 5)]
    portfolio, errors, warnings = read_workbook(build(tmp_path / "nosettings.xlsx", sheets))
    assert errors == [] and portfolio is not None and portfolio.settings == Settings()
    assert [w.message for w in warnings] == ["no Settings sheet: the default settings are used"]


# ---- the README's example of validate: the bundled example, broken in ten ways ----------------------

EXAMPLE = Path(__file__).resolve().parent.parent / "scenarios" / "example-portfolio.xlsx"


def break_the_example(path: Path) -> None:
    """The README's snippet: a copy of the bundled example with problems of several kinds."""
    shutil.copy(EXAMPLE, path)
    book = openpyxl.load_workbook(path)
    experiences, options, budget = book["Experiences"], book["Options"], book["Budget"]
    experiences["I4"] = "12k"             # CX-B03: reach typed with a k
    experiences["P2"] = "CX-B07"          # CX-B01 requires CX-B07, which requires CX-B01
    experiences["Q9"] = "CX-M02"          # mandatory CX-M01 excludes mandatory CX-M02
    experiences["M13"] = 15               # CX-102: uplift 15 meant 15%
    experiences["H16"] = "Digtal"         # CX-201: team misspelt
    experiences["P29"] = "CX-B09"         # CX-404 requires an experience that does not exist
    experiences.append(["cx-605"] + [c.value for c in experiences[41]][1:])  # CX-605 pasted twice
    experiences["S1"] = "Owner email"     # a column the format does not know
    options["C3"] = -1400000              # CX-B01 standard: negative one-off cost
    options["A22"] = "CX-1O1"             # CX-101 lean: letter O for zero
    budget["B4"] = "TBC"                  # 2027Q3 budget not agreed yet
    book.save(path)


def test_the_readme_s_broken_example_validates_as_quoted(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    break_the_example(path)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        'warning: broken.xlsx, sheet Experiences, row 1: column "Owner email" not part of the format; ignored',
        "Error: 10 problems in the inputs:",
        '  broken.xlsx, sheet Experiences, row 2, column "Requires (ids)": circular dependency: CX-B01 -> CX-B07 -> CX-B01 (rows 2, 8)',
        '  broken.xlsx, sheet Experiences, row 4, column "Reach per quarter (customers)": "12k" is not a number',
        '  broken.xlsx, sheet Experiences, row 9, column "Excludes (ids)": mandatory experience excludes "CX-M02", '
        "which is mandatory too (row 10); both cannot be funded",
        '  broken.xlsx, sheet Experiences, row 13, column "Uplift base (fraction)": uplift base 15 is not between 0 and 1; type 15% or 0.15',
        '  broken.xlsx, sheet Experiences, row 16, column "Team": "Digtal" is not a team on sheet Teams '
        "(teams: Digital, Data & Platforms, Operations, Contact centre)",
        '  broken.xlsx, sheet Experiences, row 29, column "Requires (ids)": "CX-B09" is not an experience id on sheet Experiences',
        '  broken.xlsx, sheet Experiences, row 42, column "ID": id "cx-605" is used twice: rows 41 and 42 (ids ignore case)',
        '  broken.xlsx, sheet Options, row 3, column "One-off cost (EUR)": -1400000 is negative; expected a number >= 0',
        '  broken.xlsx, sheet Options, row 22, column "Experience ID": "CX-1O1" is not an experience id on sheet Experiences',
        '  broken.xlsx, sheet Budget, row 4, column "Budget (EUR)": "TBC" is not a number',
    ]


# ---- input truth (issue 10): nothing finance sends is silently defaulted, nothing crashes ---------
#
# Each case builds a hostile workbook and names the error it must give and where. Every case
# is run three ways: read_workbook (message and location), `planner validate` and `planner
# plan` (exit 2, no traceback, no report written), and the input file is never changed.

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


def with_cells(sheet: str, cells: dict[str, Any], sheets: Sheets | None = None,
               merge: str | None = None) -> Callable[[Path], Path]:
    """A maker: BASE (or `sheets`) written by openpyxl, then cells set by reference (openpyxl keeps formulas uncalculated)."""
    def make(directory: Path) -> Path:
        path = build(directory / "bad.xlsx", sheets or edited())
        book = openpyxl.load_workbook(path)
        for reference, value in cells.items():
            book[sheet][reference] = value
        if merge:
            book[sheet].merge_cells(merge)
        book.save(path)
        return path
    return make


def _merged_uplift(sheets: Sheets) -> None:
    header = sheets["Experiences"][0]
    header[6:9] = ["Uplift", None, None]


def _duplicate_sheet_member(directory: Path) -> Path:
    source = build(directory / "source.xlsx", BASE)

    def change(name: str, data: bytes) -> list[tuple[str, bytes]]:
        if name == "xl/worksheets/sheet1.xml":
            return [(name, data), (name, data.replace(b"<v>1000</v>", b"<v>9999999</v>"))]
        return [(name, data)]
    return rezip(source, directory / "bad.xlsx", change)


def _padded_sheet(directory: Path) -> Path:
    """A tiny zip whose Experiences sheet unpacks to 2 MiB (a limit of 1 MiB is set for it)."""
    source = build(directory / "source.xlsx", BASE)

    def change(name: str, data: bytes) -> list[tuple[str, bytes]]:
        if name == "xl/worksheets/sheet1.xml":
            return [(name, data.replace(b"<sheetData>", b"<sheetData>" + b" " * (2 * 1024 * 1024)))]
        return [(name, data)]
    return rezip(source, directory / "bad.xlsx", change)


def _long_name(directory: Path) -> Path:
    """Excel and openpyxl cut a text at 32,767 characters; another program may not."""
    source = build(directory / "source.xlsx", BASE)

    def change(name: str, data: bytes) -> list[tuple[str, bytes]]:
        return [(name, data.replace(b"App returns", b"x" * 32_768))]
    return rezip(source, directory / "bad.xlsx", change)


def _xls_with_error(directory: Path) -> Path:
    return build_xls(directory / "bad.xls", edited(), {("Options", 2, 3): "#DIV/0!"})


def _ods_with(cells: dict[tuple[str, int, int], str], tail: str = "") -> Callable[[Path], Path]:
    return lambda directory: build_ods(directory / "bad.ods", edited(), cells, tail)


_ODS_ERROR = ('<table:table-cell table:formula="of:=1/0" office:value-type="float" office:value="0" '
              'calcext:value-type="error"><text:p>#DIV/0!</text:p></table:table-cell>')
_ODS_UNCALCULATED = '<table:table-cell table:formula="of:=[.C2]*2"/>'
_ODS_STRAY = ('<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="3"/>'
              '</table:table-row><table:table-row><table:table-cell office:value-type="string"><text:p>x</text:p>'
              '</table:table-cell></table:table-row>')

# (case, maker of the file in a folder, environment, sheet, row, column, message)
HOSTILE: list[tuple[str, Callable[[Path], Path], dict[str, str], str | None, int | None, str | None, str]] = [
    ("1 formula without a cached value, optional column", with_cells("Options", {"D3": "=D2*2"}), {},
     "Options", 3, "Run cost per quarter",
     "formula =D2*2 has no calculated value (the file was saved by a program that does not calculate formulas); "
     "open it in Excel or LibreOffice and save it, or type the value"),
    ("1 formula without a cached value, required column", with_cells("Options", {"C4": "=C3*1.6"}), {},
     "Options", 4, "One-off cost", "formula =C3*1.6 has no calculated value"),
    ("1 formula without a cached value, low uplift", with_cells("Experiences", {"G3": "=H3/2"}), {},
     "Experiences", 3, "Uplift low", "formula =H3/2 has no calculated value"),
    ("1 formula without a cached value in an .ods", _ods_with({("Options", 2, 3): _ODS_UNCALCULATED}), {},
     "Options", 3, "Run cost per quarter", "formula =[.C2]*2 has no calculated value"),
    ("1 header computed by a formula without a cached value", with_cells("Options", {"D1": '="Run cost per "&"quarter"'}), {},
     "Options", 1, None, 'the header of column D is formula ="Run cost per "&"quarter" with no calculated value'),
    ("2 header merged over three columns", with_cells("Experiences", {}, edited(_merged_uplift), merge="G1:I1"), {},
     "Experiences", 1, "Uplift", 'the header "Uplift" is merged over columns G to I, so only the first has a header'),
    ("2 blank header over a filled column", lambda d: build(d / "bad.xlsx", edited(cell("Experiences", 1, "Uplift high", None))), {},
     "Experiences", 1, "I", "column I has no header but holds values (rows 2, 3, 4)"),
    ("3 error value in an .xls", _xls_with_error, {},
     "Options", 3, "Run cost per quarter", "#DIV/0! is an Excel error value (a formula that failed)"),
    ("3 error value in an .ods", _ods_with({("Options", 1, 2): _ODS_ERROR}), {},
     "Options", 2, "One-off cost", "#DIV/0! is an Excel error value (a formula that failed)"),
    ("4 misspelt optional column", lambda d: build(d / "bad.xlsx", edited(
        lambda sheets: sheets["Options"][0].__setitem__(3, "Run cots per quarter"))), {},
     "Options", 1, "Run cots per quarter",
     '"Run cots per quarter" is not a column of the format; did you mean "Run cost per quarter"? '
     "Rename the header (left unread, 0 would be used for every row)"),
    ("5 dollars in a EUR workbook", lambda d: build(d / "bad.xlsx", edited(cell("Options", 2, "One-off cost", "$1,000"))), {},
     "Options", 2, "One-off cost",
     '"$1,000" is an amount in USD ($), not in the workbook\'s currency EUR (Settings); convert it to EUR and type the number'),
    ("5 pounds in a EUR workbook", lambda d: build(d / "bad.xlsx", edited(cell("Budget", 3, "Budget", "£1,000"))), {},
     "Budget", 3, "Budget", '"£1,000" is an amount in GBP (£), not in the workbook\'s currency EUR'),
    ("7 stray value at XFD1048576", with_cells("Experiences", {"XFD1048576": "x"}), {},
     "Experiences", None, None,
     "holds a value in row 1,048,576 (cell XFD1048576); at most 250,000 rows are read: delete the rows and columns"),
    ("7 stray value at A1048576 in Settings", with_cells("Settings", {"A1048576": "x"}), {},
     "Settings", None, None, "holds a value in row 1,048,576 (cell A1048576); at most 250,000 rows are read"),
    ("7 stray value at XFD2", with_cells("Teams", {"XFD2": 1}), {},
     "Teams", None, None, "holds a value in column XFD; at most 1,000 columns are read"),
    ("7 stray value far down an .ods", _ods_with({}, _ODS_STRAY), {},
     "Experiences", None, None, "holds a value in row 1,048,575 (cell A1048575); at most 250,000 rows are read"),
    ("7 a limit set lower", with_cells("Experiences", {"A300": "x"}), {"PLANNER_MAX_SHEET_ROWS": "100"},
     "Experiences", None, None, "holds a value in row 300 (cell A300); at most 100 rows are read"),
    ("8 sheet XML over the size limit", _padded_sheet, {"PLANNER_MAX_WORKBOOK_MIB": "1"},
     None, None, None, "unpacks to more than 1 MiB (the limit; the file is 0.0 MiB packed)"),
    ("11 text over 32,767 characters", lambda d: _long_name(d), {},
     "Experiences", 3, "Name", "is a text of 32,768 characters; at most 32,767 fit in an Excel cell: shorten it"),
    ("15 duplicate zip members", _duplicate_sheet_member, {},
     None, None, None, "holds two parts named xl/worksheets/sheet1.xml (a damaged or tampered file"),
]


@pytest.mark.parametrize(("make", "environment", "sheet", "row", "column", "message"),
                         [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_hostile_input_is_a_located_error_never_a_silent_default_or_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Callable[[Path], Path], environment: dict[str, str],
    sheet: str | None, row: int | None, column: str | None, message: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    path = make(tmp_path)
    before = path.read_bytes()
    portfolio, errors, _ = read_workbook(path)
    assert portfolio is None
    matches = [p for p in errors if message in p.message]
    assert matches, f"no error says {message!r}; got:\n" + "\n".join(map(str, errors))
    assert any(located(p, sheet, row, column) for p in matches), "\n".join(map(str, matches))
    assert all(p.where.startswith(path.name) for p in errors)

    validated = CliRunner().invoke(cli, ["validate", str(path)], env=environment)
    assert validated.exit_code == 2 and isinstance(validated.exception, SystemExit), validated.output
    assert "Traceback" not in validated.output and message in validated.output

    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(f"name: hostile\nworkbook: {path.name}\nsolver: highs\ntime_limit_seconds: 30\n")
    output = tmp_path / "out"
    planned = CliRunner().invoke(cli, ["plan", str(scenario), "-o", str(output)], env=environment)
    assert planned.exit_code == 2 and isinstance(planned.exception, SystemExit), planned.output
    assert "Traceback" not in planned.output and message in planned.output
    assert not output.exists() or not any(output.iterdir())
    assert path.read_bytes() == before


def test_finance_names_for_the_run_cost_are_recognised(tmp_path: Path) -> None:
    for header in ("Opex / qtr (EUR)", "Opex per qtr", "Running costs p.q.", "Running costs per quarter", "Quarterly opex"):
        sheets = edited()
        sheets["Options"][0][3] = header
        portfolio, errors, warnings = read_workbook(build(tmp_path / "opex.xlsx", sheets))
        assert errors == [] and warnings == [], header
        assert portfolio is not None and same(portfolio, base_portfolio(tmp_path)), header


def test_owner_and_journey_are_their_own_columns_not_a_second_team(tmp_path: Path) -> None:
    path = build(tmp_path / "owner.xlsx", edited(
        add_column("Experiences", "Owner", ["Ana Lopez", "Ben Okafor", None]),
        add_column("Experiences", "Journey", ["Returns", "Returns", "Onboarding"]),
    ))
    portfolio, errors, warnings = read_workbook(path)
    assert errors == [] and warnings == []
    assert portfolio is not None
    assert [(e.team, e.owner, e.journey) for e in portfolio.experiences] == [
        ("Data", "Ana Lopez", "Returns"), ("Digital", "Ben Okafor", "Returns"), ("Digital", "", "Onboarding")]
    written = tmp_path / "written.xlsx"
    write_portfolio(portfolio, written)
    assert same(read_portfolio(written), portfolio)


def test_control_characters_are_removed_and_listed(tmp_path: Path) -> None:
    source = build(tmp_path / "source.xlsx", BASE)
    path = rezip(source, tmp_path / "control.xlsx",
                 lambda name, data: [(name, data.replace(b"App returns", b"App_x0007_ returns").replace(b"Web returns", b"Web\x1b returns"))])
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert 'warning: control.xlsx, sheet Experiences, rows 3 and 4, column "Name": control characters (invisible in Excel) ' \
           "removed from the text" in result.output.splitlines()
    portfolio = read_portfolio(path)
    assert [e.name for e in portfolio.experiences] == ["Data platform", "App returns", "Web returns"]


def test_warnings_are_summarised_one_line_per_column_and_kind(tmp_path: Path) -> None:
    sheets = edited(add_column("Experiences", "Comments", ["ok", "ok", "ok"]))
    sheets["Experiences"] += [[None] * 13 + [f"note {n}"] for n in range(5, 2001)]
    path = build(tmp_path / "comments.xlsx", sheets)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == [
        'warning: comments.xlsx, sheet Experiences, row 1: column "Comments" not part of the format; ignored',
        "warning: comments.xlsx, sheet Experiences, rows 5, 6, 7, 8, 9 and 1,991 more: row without ID skipped",
    ]
    assert len(result.output.splitlines()) < 20


def test_validate_lists_every_value_a_default_stands_in_for(tmp_path: Path) -> None:
    path = build(tmp_path / "defaults.xlsx", edited(
        cell("Experiences", 3, "Uplift low", None), cell("Options", 2, "Uplift share", None), cell("Options", 4, "Uplift share", None),
        drop_column("Experiences", "Mandatory"),
    ))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    defaults = [line for line in result.output.splitlines() if line.startswith("default:")]
    assert defaults == [
        'default: defaults.xlsx, sheet Experiences, row 1: no column "Mandatory": no used for all 3 rows',
        'default: defaults.xlsx, sheet Experiences, rows 2 and 3, column "Earliest start": blank: the first quarter used',
        'default: defaults.xlsx, sheet Experiences, row 3, column "Uplift low": blank: the base uplift used',
        'default: defaults.xlsx, sheet Options, rows 2 and 4, column "Uplift share": blank: 1 used',
        *(f"default: defaults.xlsx, sheet Settings: {setting} not given: {value} used" for setting, value in (
            ("Currency", "EUR"), ("First quarter", "2027Q1"), ("Fiscal year starts", "1"), ("Annual discount rate", "0.08"),
            ("Ramp", "0"), ("Tail quarters", "0"), ("Start quarters", "free"), ("Time limit", "60.0"), ("Gap", "0.001"))),
    ]


def test_an_amount_in_the_workbook_s_own_currency_is_read(tmp_path: Path) -> None:
    sheets = edited(cell("Options", 2, "One-off cost", "£100,000"), cell("Budget", 2, "Budget", "100000 GBP"))
    sheets["Settings"].append(["Currency", "GBP"])
    portfolio = read_portfolio(build(tmp_path / "pounds.xlsx", sheets))
    assert portfolio.experience("A1").options[0].one_off_cost == 100_000.0 and portfolio.budget[0] == 100_000.0


def test_error_values_of_an_xls_are_flagged_and_a_clean_xls_reads(tmp_path: Path) -> None:
    portfolio, errors, _ = read_workbook(build_xls(tmp_path / "clean.xls", edited()))
    assert errors == [] and portfolio is not None and same(portfolio, base_portfolio(tmp_path))
    _, errors, _ = read_workbook(build_xls(tmp_path / "errors.xls", edited(), {("Experiences", 2, 6): "#REF!"}))
    # (xlwt 1.3 writes "#VALUE!" with #NUM!'s code and knows no "#N/A": #REF! is written as Excel writes it.)
    assert [(p.where, p.message.split(";")[0]) for p in errors] == [
        ('errors.xls, sheet Experiences, row 3, column "Uplift low"', "#REF! is an Excel error value (a formula that failed)")]


def test_a_clean_ods_reads_as_the_xlsx(tmp_path: Path) -> None:
    portfolio, errors, _ = read_workbook(build_ods(tmp_path / "clean.ods", edited()))
    assert errors == [] and portfolio is not None and same(portfolio, base_portfolio(tmp_path))


def test_a_bad_limit_setting_is_a_warning_and_the_default_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_MAX_SHEET_ROWS", "lots")
    portfolio, errors, warnings = read_workbook(build(tmp_path / "base.xlsx", BASE))
    assert errors == [] and portfolio is not None
    assert [str(w) for w in warnings] == [
        "base.xlsx: PLANNER_MAX_SHEET_ROWS='lots' is not a whole number above 0; the default 250000 is used"]


def test_a_settings_row_whose_setting_cell_does_not_read_is_reported_not_a_key_error(tmp_path: Path) -> None:
    # Found by the fuzz test: an error value where a setting's name goes raised KeyError: 'setting'.
    path = build_with_formulas(tmp_path / "settings.xlsx", BASE, {("Settings", "A3"): ("=#REF!", "#REF!")})
    _, errors, _ = read_workbook(path)
    assert [(p.where, p.message.split(";")[0]) for p in errors] == [
        ('settings.xlsx, sheet Settings, row 3, column "Setting"', "#REF! is an Excel error value (a formula that failed)")]


def test_a_sheet_the_format_does_not_know_is_listed_not_silently_skipped(tmp_path: Path) -> None:
    sheets = {**edited(), "Experiences (2)": BASE["Experiences"]}
    portfolio, errors, warnings = read_workbook(build(tmp_path / "copy.xlsx", sheets))
    assert errors == [] and portfolio is not None
    assert [str(w) for w in warnings] == ["copy.xlsx, sheet Experiences (2): sheet not part of the format; ignored"]
