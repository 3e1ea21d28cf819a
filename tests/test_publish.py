"""The publish step: file names, every format rendered before any file is touched, byte-identical
reruns, staging folders, and the cleanup of those a killed run left behind."""

from __future__ import annotations

import csv
import io
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SMALL_CHOICES, make_plan, small_portfolio
from planner import publish
from planner.errors import InputError
from planner.publish import write_reports
from planner.reports.plan_report import build_report


def test_write_reports_writes_the_three_files(small_plan, tmp_path):
    paths = write_reports(small_plan, tmp_path / "out")
    assert [p.name for p in paths] == ["report.html", "report.xlsx", "plan.csv"]
    assert all(p.stat().st_size > 0 for p in paths)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["plan.csv", "report.html", "report.xlsx"]


def test_same_plan_gives_byte_identical_files(tmp_path):
    first = write_reports(make_plan(small_portfolio(), SMALL_CHOICES), tmp_path / "a")
    second = write_reports(make_plan(small_portfolio(), SMALL_CHOICES), tmp_path / "b")
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_a_failing_renderer_leaves_the_directory_untouched(small_plan, tmp_path, monkeypatch):
    (tmp_path / "report.html").write_text("previous report")

    def broken(report, format, rows=None):
        if format == "xlsx":
            raise RuntimeError("disk full")
        return b"new"

    monkeypatch.setattr(publish, "render", broken)
    with pytest.raises(RuntimeError):
        write_reports(small_plan, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert (tmp_path / "report.html").read_text() == "previous report"


def test_selected_formats_only(small_plan, tmp_path):
    assert [p.name for p in write_reports(small_plan, tmp_path, ["csv"])] == ["plan.csv"]


def test_unknown_format_is_an_input_error(small_plan, tmp_path):
    with pytest.raises(InputError, match="pdf"):
        write_reports(small_plan, tmp_path, ["html", "pdf"])


def test_an_optimised_plan_renders_in_every_format(optimised_plan, tmp_path):
    paths = write_reports(optimised_plan, tmp_path)
    model = build_report(optimised_plan)
    assert len(model.section("funded")) + len(model.section("not_funded")) == len(optimised_plan.decisions)
    assert all(r.reason for r in model.section("not_funded"))
    rows = list(csv.DictReader(io.StringIO(paths[2].read_text(encoding="utf-8-sig"))))
    assert math.fsum(float(r["NPV"]) for r in rows) == pytest.approx(optimised_plan.npv, abs=1e-3)


