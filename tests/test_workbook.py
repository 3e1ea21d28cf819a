"""Tests of planner.workbook: template, writer, reader and the validation of finance's workbooks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from planner.domain import Portfolio
from planner.errors import InputError
from planner.workbook import example_portfolio, read_portfolio, read_workbook, write_portfolio, write_template


def _same(read: Portfolio, expected: Portfolio) -> bool:
    return replace(read, source="", source_sha256="") == replace(expected, source="", source_sha256="")


def test_template_reads_back_as_the_two_example_experiences(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_template(path)
    portfolio = read_portfolio(path)
    assert [e.id for e in portfolio.experiences] == ["CX-001", "CX-002"]
    assert _same(portfolio, example_portfolio())


def test_write_then_read_gives_the_same_portfolio(tmp_path: Path) -> None:
    path = tmp_path / "portfolio.xlsx"
    write_portfolio(example_portfolio(), path)
    portfolio, errors, warnings = read_workbook(path)
    assert errors == [] and warnings == []
    assert portfolio is not None and _same(portfolio, example_portfolio())
    assert portfolio.source == str(path) and len(portfolio.source_sha256) == 64


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        read_portfolio(tmp_path / "absent.xlsx")
