"""Tests of the input workbook (planner.inputs.workbook and its format, cells, tables and writer modules):
the template, the writer, the reader and its one-pass validation.

Workbooks are built here with openpyxl (or xlsxwriter, where a formula needs a cached value)
from small tables of rows; nothing is fetched.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import stat
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from planner.cli import cli
from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team
from planner.core.errors import InputError
from planner.inputs.workbook import examine_workbook, read_portfolio, read_workbook
from planner.inputs.workbook_file import format_limits
from planner.inputs.workbook_format import SHEETS, example_portfolio, format_reference
from planner.inputs.workbook_writer import write_portfolio, write_template
from workbooks import (
    BASE,
    Edit,
    add_column,
    base_portfolio,
    build,
    build_ods,
    build_with_formulas,
    build_xls,
    cell,
    drop_column,
    drop_row,
    drop_sheet,
    edited,
    located,
    rezip,
    same,
    setting,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "workbook.md"

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
    # Every sheet, column, accepted header name (alias) and default, and the size limits, as the code has them.
    assert format_reference() in DOCS.read_text()
    assert format_limits() in DOCS.read_text()
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
    ("stage outside the journey stage order", [add_column("Experiences", "Journey stage", ["use", "Buy", "get hlep"]),
                                               setting("Journey stage order", "discover, choose, buy, use, get help")],
     "Experiences", 4, "Journey stage",
     '"get hlep" is not a stage of the Journey stage order (Settings): discover, choose, buy, use, get help; '
     "use one of them or add it to the order"),
    ("stage named twice in the journey stage order", [setting("Journey stage order", "discover; buy; Get  Help; get help")],
     "Settings", 4, "Value", 'Journey stage order: "get help" is named twice (as "Get  Help" before); name each stage once'),
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
            ("Ramp", "0"), ("Tail quarters", "0"), ("Start quarters", "free"), ("Time limit", "60.0"), ("Gap", "0.001"),
                ("Journey stage order", "the default order (discover, choose, buy, use, get help, renew or leave)"))),
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
    # Data's blank 2027Q4 cell is a default, and validate says so; the quarters without a column are not.
    assert [str(d) for d in examine_workbook(path).defaults if "Teams" in d.where] == [
        'quarters.xlsx, sheet Teams, row 3, column "2027Q4": blank: Capacity per quarter used, 50']


def test_only_a_total_budget(tmp_path: Path) -> None:
    sheets = edited(drop_sheet("Budget"))
    sheets["Settings"].append(["Total budget (EUR)", "300,000"])
    portfolio = read_portfolio(build(tmp_path / "total.xlsx", sheets))
    assert portfolio.total_budget == 300000.0 and portfolio.budget == (300000.0,) * 4
    assert "total.xlsx: no sheet Budget: each quarter may spend up to the Total budget (Settings), 300,000; the total caps the horizon" in [
        str(d) for d in examine_workbook(tmp_path / "total.xlsx").defaults]


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



def test_finance_names_for_the_run_cost_are_recognised(tmp_path: Path) -> None:
    for header in ("Opex / qtr (EUR)", "Opex per qtr", "Running costs p.q.", "Running costs per quarter", "Quarterly opex"):
        sheets = edited()
        sheets["Options"][0][3] = header
        portfolio, errors, warnings = read_workbook(build(tmp_path / "opex.xlsx", sheets))
        assert errors == [] and warnings == [], header
        assert portfolio is not None and same(portfolio, base_portfolio(tmp_path)), header


def test_overlap_group_and_the_journey_stage_order_are_read_and_written_back(tmp_path: Path) -> None:
    path = build(tmp_path / "journeys.xlsx", edited(
        add_column("Experiences", "Journey stage", ["use", "Get help", "get  help"]),
        add_column("Experiences", "Overlap", [None, "Returns, get help", "Returns, get help"]),
        setting("Stage order", "discover, buy; use\nget help"),
    ))
    portfolio, errors, warnings = read_workbook(path)
    assert errors == [] and warnings == [] and portfolio is not None
    assert portfolio.settings.journey_stages == ("discover", "buy", "use", "get help")
    assert [e.overlap_group for e in portfolio.experiences] == ["", "Returns, get help", "Returns, get help"]
    written = tmp_path / "written.xlsx"
    write_portfolio(portfolio, written)
    assert same(read_portfolio(written), portfolio)
    assert openpyxl.load_workbook(written)["Experiences"]["U1"].value == "Overlap group"


def test_a_journey_or_overlap_group_spelt_two_ways_is_one_and_a_group_across_stages_is_a_warning(tmp_path: Path) -> None:
    path = build(tmp_path / "groups.xlsx", edited(
        add_column("Experiences", "Journey stage", ["get help", "get help", "buy"]),
        add_column("Experiences", "Journey", ["Returns", "RETURNS", "returns"]),
        add_column("Experiences", "Overlap group", [None, "Return calls", "return calls"]),
    ))
    portfolio, errors, warnings = read_workbook(path)
    assert errors == [] and portfolio is not None
    assert {e.journey for e in portfolio.experiences} == {"Returns"}
    assert [e.overlap_group for e in portfolio.experiences] == ["", "Return calls", "Return calls"]
    assert [str(w) for w in warnings] == [
        'groups.xlsx, sheet Experiences, row 4, column "Overlap group": overlap group "return calls" is at stage "get help" (row 3) '
        'and here at "buy": its experiences should reach the same customers at the same stage']


def test_the_template_offers_the_journey_columns_and_the_stage_order(tmp_path: Path) -> None:
    write_template(tmp_path / "template.xlsx")
    book = openpyxl.load_workbook(tmp_path / "template.xlsx")
    header = [c.value for c in book["Experiences"][1]]
    assert header[-3:] == ["Owner", "Journey", "Overlap group"]
    settings = {row[0].value: row[1].value for row in book["Settings"].iter_rows(min_row=2)}
    assert "Journey stage order" in settings and settings["Journey stage order"] is None
    template = read_portfolio(tmp_path / "template.xlsx")
    assert {(e.owner, e.journey) for e in template.experiences} == {("Maria Keller, Head of Returns", "Return an item")}


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
            ("Ramp", "0"), ("Tail quarters", "0"), ("Start quarters", "free"), ("Time limit", "60.0"), ("Gap", "0.001"),
                ("Journey stage order", "the default order (discover, choose, buy, use, get help, renew or leave)"))),
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
