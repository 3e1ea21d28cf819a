"""Tests of the input workbook's format and writer (planner.inputs.workbook_format, workbook_writer):
the template an analyst fills, a portfolio written and read back, and docs/workbook.md kept to the format.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import replace
from pathlib import Path

import openpyxl

from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team
from planner.inputs.workbook import read_portfolio, read_workbook
from planner.inputs.workbook_file import format_limits
from planner.inputs.workbook_format import SHEETS, example_portfolio, format_reference
from planner.inputs.workbook_writer import write_portfolio, write_template
from workbooks import add_column, build, edited, same, setting

DOCS = Path(__file__).resolve().parent.parent / "docs" / "workbook.md"


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


def test_docs_show_the_format_as_the_code_defines_it() -> None:
    # Every sheet, column, accepted header name (alias) and default, and the size limits, as the code has them.
    assert format_reference() in DOCS.read_text()
    assert format_limits() in DOCS.read_text()
    for spec in SHEETS:
        assert f"### {spec.name}" in format_reference()


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
    # Each stage as the order spells it, so every report places it in the journey.
    assert [e.journey_stage for e in portfolio.experiences] == ["use", "get help", "get help"]
    written = tmp_path / "written.xlsx"
    write_portfolio(portfolio, written)
    assert same(read_portfolio(written), portfolio)
    assert openpyxl.load_workbook(written)["Experiences"]["U1"].value == "Overlap group"


def test_the_template_offers_the_journey_columns_and_the_stage_order(tmp_path: Path) -> None:
    write_template(tmp_path / "template.xlsx")
    book = openpyxl.load_workbook(tmp_path / "template.xlsx")
    header = [c.value for c in book["Experiences"][1]]
    assert header[-3:] == ["Owner", "Journey", "Overlap group"]
    settings = {row[0].value: row[1].value for row in book["Settings"].iter_rows(min_row=2)}
    assert "Journey stage order" in settings and settings["Journey stage order"] is None
    template = read_portfolio(tmp_path / "template.xlsx")
    assert {(e.owner, e.journey) for e in template.experiences} == {("Maria Keller, Head of Returns", "Return an item")}
