"""The finance calendar: quarter labels and arithmetic for calendar and fiscal years, in workbooks and scenarios."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from planner.core.domain import (
    FiscalCalendar, Settings, next_quarter, normalise_quarter, quarter_first_day, quarter_index, quarter_label,
    quarter_labels, tidy_quarter,
)
from planner.core.errors import InputError
from planner.inputs.scenario import Amount, Scenario, apply_scenario
from planner.inputs.workbook import read_portfolio, read_workbook
from planner.inputs.workbook_format import example_portfolio
from planner.inputs.workbook_writer import write_portfolio

APRIL = Settings(first_quarter="FY28 Q1", fiscal_year_start=4, horizon_quarters=6)
OCTOBER = Settings(first_quarter="FY28 Q1", fiscal_year_start=10, horizon_quarters=6)


def test_calendar_years_keep_the_calendar_labels():
    assert quarter_labels(Settings(first_quarter="2027Q3", horizon_quarters=3)) == ["2027Q3", "2027Q4", "2028Q1"]
    assert quarter_label(Settings(), -1) == "2026Q4"


@pytest.mark.parametrize("settings, labels, first_days", [
    (APRIL, ["FY28 Q1", "FY28 Q2", "FY28 Q3", "FY28 Q4", "FY29 Q1", "FY29 Q2"],
     [date(2027, 4, 1), date(2027, 7, 1), date(2027, 10, 1), date(2028, 1, 1), date(2028, 4, 1), date(2028, 7, 1)]),
    (OCTOBER, ["FY28 Q1", "FY28 Q2", "FY28 Q3", "FY28 Q4", "FY29 Q1", "FY29 Q2"],
     [date(2027, 10, 1), date(2028, 1, 1), date(2028, 4, 1), date(2028, 7, 1), date(2028, 10, 1), date(2029, 1, 1)]),
])
def test_fiscal_years_are_named_after_the_calendar_year_they_end_in(settings, labels, first_days):
    assert quarter_labels(settings) == labels
    assert [quarter_first_day(settings, q) for q in range(6)] == first_days


@pytest.mark.parametrize("settings, calendar_label, fiscal_label", [
    (APRIL, "2027Q2", "FY28 Q1"), (APRIL, "2028Q1", "FY28 Q4"), (APRIL, "2027Q1", "FY27 Q4"),
    (OCTOBER, "2027Q4", "FY28 Q1"), (OCTOBER, "2028Q3", "FY28 Q4"), (OCTOBER, "2027Q3", "FY27 Q4"),
])
def test_a_calendar_label_means_the_calendar_quarter_in_a_fiscal_calendar(settings, calendar_label, fiscal_label):
    assert normalise_quarter(settings, calendar_label) == fiscal_label
    assert normalise_quarter(settings, fiscal_label) == fiscal_label


@pytest.mark.parametrize("settings", [APRIL, OCTOBER])
def test_quarter_arithmetic_in_a_fiscal_calendar(settings):
    assert next_quarter(settings, "FY28 Q4") == "FY29 Q1"
    assert next_quarter(settings, "fy2028-q2") == "FY28 Q3"
    assert quarter_index(settings, "FY29 Q2") == 5
    assert quarter_index(settings, "FY27 Q3") == -2
    assert quarter_label(settings, -2) == "FY27 Q3"
    for q in range(-5, 10):
        assert quarter_index(settings, quarter_label(settings, q)) == q


@pytest.mark.parametrize("text, tidy", [("2027q1", "2027Q1"), ("2027 - Q3", "2027Q3"), ("FY2028 Q1", "FY28 Q1"),
                                        ("fy28q4", "FY28 Q4"), ("FY 28-Q2", "FY28 Q2"), ("FY'29 Q1", "FY29 Q1")])
def test_either_form_is_read_in_any_spelling(text, tidy):
    assert tidy_quarter(text) == tidy


@pytest.mark.parametrize("text", ["2027Q5", "Q1 2027", "FY28", "28Q1", ""])
def test_what_is_not_a_quarter(text):
    with pytest.raises(ValueError, match="is not a quarter"):
        tidy_quarter(text)


def test_a_calendar_label_that_splits_a_fiscal_quarter_is_refused():
    with pytest.raises(ValueError, match="fiscal quarters start in February: write it like FY28 Q1"):
        FiscalCalendar(2).ordinal("2027Q2")


def fiscal_portfolio():
    portfolio = example_portfolio()
    settings = replace(portfolio.settings, first_quarter="FY28 Q1", fiscal_year_start=4)
    return replace(portfolio, settings=settings)


def test_a_fiscal_workbook_round_trips_with_fiscal_labels(tmp_path: Path):
    portfolio = fiscal_portfolio()
    write_portfolio(portfolio, tmp_path / "fiscal.xlsx")
    read = read_portfolio(tmp_path / "fiscal.xlsx")
    assert read.settings.fiscal_year_start == 4 and read.settings.first_quarter == "FY28 Q1"
    assert read.experiences == portfolio.experiences
    assert quarter_labels(read.settings)[:2] == ["FY28 Q1", "FY28 Q2"]


def test_a_fiscal_workbook_reads_calendar_labels_and_month_names(tmp_path: Path):
    import openpyxl

    path = tmp_path / "fiscal.xlsx"
    write_portfolio(fiscal_portfolio(), path)
    book = openpyxl.load_workbook(path)
    settings = {row[0].value: row[1] for row in book["Settings"].iter_rows(min_row=2)}
    settings["Fiscal year starts"].value = "April"
    settings["First quarter"].value = "2027Q2"
    budget = book["Budget"]
    budget["A2"].value, budget["A3"].value = "2027Q2", "FY2028-Q2"
    experiences = book["Experiences"]
    start = [c.column for c in experiences[1] if c.value == "Earliest start (quarter)"][0]
    experiences.cell(3, start).value = "2027Q4"
    book.save(path)
    read = read_portfolio(path)
    assert read.settings.first_quarter == "FY28 Q1"
    assert read.experiences[1].earliest_start == 2


def test_a_quarter_outside_the_fiscal_calendar_is_located(tmp_path: Path):
    import openpyxl

    path = tmp_path / "fiscal.xlsx"
    portfolio = fiscal_portfolio()
    write_portfolio(replace(portfolio, settings=replace(portfolio.settings, fiscal_year_start=5, first_quarter="FY28 Q1")), path)
    book = openpyxl.load_workbook(path)
    book["Budget"]["A3"].value = "2027Q3"
    book.save(path)
    _, errors, _ = read_workbook(path)
    assert [str(e) for e in errors] == [
        'fiscal.xlsx, sheet Budget, row 3, column "Quarter": "2027Q3" is a calendar quarter, but fiscal quarters start in May: write it like FY28 Q1'
    ]


def test_scenario_quarters_in_either_form():
    portfolio = fiscal_portfolio()
    by_quarter = (("2027Q3", Amount(1.0)), ("FY28 Q3", Amount(2.0)))
    applied = apply_scenario(portfolio, Scenario(budget_by_quarter=by_quarter))
    assert applied.budget[:3] == (500_000.0, 1.0, 2.0)
    with pytest.raises(InputError, match="is not a quarter of the horizon"):
        apply_scenario(portfolio, Scenario(budget_by_quarter=(("2026Q1", Amount(1.0)),)))
