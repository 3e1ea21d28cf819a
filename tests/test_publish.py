"""The publish step: file names, every format rendered before any file is touched, byte-identical
reruns, staging folders, and the cleanup of those a killed run left behind."""

from __future__ import annotations

import csv
import io
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SMALL_CHOICES, make_plan, small_portfolio
from planner import publish
from planner.core.errors import InputError
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




def test_a_what_if_report_is_named_after_its_kind_and_its_csv_is_its_rows(small_plan, tmp_path):
    report = build_report(small_plan)
    frontier = type(report)(report.title, report.currency, report.sections, report.inputs, kind="frontier")
    written = publish.write_report(frontier, [{"budget": 1.5, "name": "=1+1"}], tmp_path, ["csv"])
    assert [p.name for p in written] == ["frontier.csv"]
    assert written[0].read_bytes() == b"budget,name\r\n1.5,'=1+1\r\n"


# ---------------------------------------------------------------------------------------
# Staging folders: written together, and cleaned up after a kill -9

STAGING_CHILD = """
import sys, time
from pathlib import Path
from planner.publish import written_together
with written_together(Path(sys.argv[1])) as staging:
    (staging / "report.html").write_text("half a report")
    print(staging, flush=True)
    time.sleep(600)
"""


def start_writer(output: Path) -> tuple[subprocess.Popen, Path]:
    """A `planner` run caught while writing its reports: its staging folder is in `output`."""
    child = subprocess.Popen([sys.executable, "-c", STAGING_CHILD, str(output)], stdout=subprocess.PIPE, text=True)
    return child, Path(child.stdout.readline().strip())


def test_the_staging_folder_names_its_owner_and_its_files_move_in_together(tmp_path):
    with publish.written_together(tmp_path / "out") as staging:
        assert publish.staging_owner(staging.name)[1] == os.getpid()
        (staging / "report.html").write_text("new")
        assert not (tmp_path / "out" / "report.html").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["report.html"]


def test_a_killed_runs_staging_folder_is_removed_by_the_next_run_once_it_is_old(tmp_path):
    child, staging = start_writer(tmp_path)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert (staging / "report.html").is_file()
    # Just killed: a run on another host could not be told apart yet, so it stays for now.
    assert publish.remove_abandoned_staging(tmp_path) == []
    old = time.time() - publish.ABANDONED_AFTER - 60
    os.utime(staging, (old, old))
    with publish.written_together(tmp_path) as own:
        (own / "report.html").write_text("new")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert (tmp_path / "report.html").read_text() == "new"


def test_a_live_runs_staging_folder_is_never_removed_however_old(tmp_path):
    child, staging = start_writer(tmp_path)
    try:
        long_ago = time.time() - 365 * 24 * 3600
        os.utime(staging, (long_ago, long_ago))
        assert publish.remove_abandoned_staging(tmp_path) == []
        with publish.written_together(tmp_path) as own:
            (own / "plan.csv").write_text("new")
        assert (staging / "report.html").read_text() == "half a report"
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("name", [".planner-writing-abc123_x", ".planner-writing-otherhost-4242-abc123_x"])
def test_a_staging_folder_whose_owner_cannot_be_checked_waits_a_day(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    hours_ago = time.time() - 2 * 3600
    os.utime(folder, (hours_ago, hours_ago))
    assert publish.remove_abandoned_staging(tmp_path) == []
    assert publish.remove_abandoned_staging(tmp_path, now=time.time() + publish.UNKNOWN_OWNER_AFTER) == [folder]
    assert not folder.exists()


# ---------------------------------------------------------------------------------------
# Reruns give the same bytes


def test_two_runs_of_planner_plan_give_byte_identical_reports(tmp_path):
    """The solve times differ between runs; they go to the terminal, never into the reports."""
    root = Path(__file__).resolve().parent.parent
    outputs = []
    for run in ("first", "second"):
        command = ["-c", "from planner.cli import main; main()", "plan", str(root / "scenarios" / "base.yaml"), "-o", str(tmp_path / run)]
        result = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        assert re.search(r"(CBC|HIGHS), \d+\.\d s", result.stdout)  # the time is told, on the terminal
        outputs.append({p.name: p.read_bytes() for p in (tmp_path / run).iterdir()})
    assert sorted(outputs[0]) == ["plan.csv", "plan.json", "report.html", "report.xlsx"]
    for name in outputs[0]:
        assert outputs[0][name] == outputs[1][name], name
