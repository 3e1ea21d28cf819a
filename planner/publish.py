"""The publish step: which files a report kind writes, rendering them, and writing them all together.

Every report kind goes through here: a plan's report (report.html, report.xlsx, plan.csv),
the quarterly report (the same names, plus plan.json) and the what-if reports
(<kind>.html, <kind>.xlsx, <kind>.csv). Each format is rendered in memory before any file
is touched, each file is written whole or not at all (`planner.core.files`), and
`written_together` stages a command's files in a hidden folder inside the output folder and
moves them in only when all are written, so a reader never finds a new report.html beside
an old report.xlsx.

A run killed while writing (kill -9, a power cut) leaves its staging folder behind. The next
run in that folder removes it once it is provably abandoned: the staging folder names its
host and process, and is removed only when that process is gone and the folder has not
changed for `ABANDONED_AFTER`; a live run's folder is never touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.core.files import write_atomically
from planner.core.errors import InputError, PlannerError, Problem

# The renderers and report models are imported where they are used: `planner validate` and
# `planner template` import this module for the formats and start without numpy or Jinja2.
if TYPE_CHECKING:
    from planner.analysis.bundles import Bundle
    from planner.optimise.plan import Plan
    from planner.reports.plan_report import Report
    from planner.cycle.roll import Roll

FORMATS: tuple[str, ...] = ("html", "xlsx", "csv")
# A plan's report keeps the names its readers know; other kinds are named after the kind.
PLAN_FILE_NAMES: dict[str, str] = {"html": "report.html", "xlsx": "report.xlsx", "csv": "plan.csv"}
PLAN_KINDS = ("report", "quarterly")

STAGING_PREFIX = ".planner-writing-"
# A staging folder lives for the seconds it takes to move the files in. One untouched for
# this long whose process is gone was abandoned; one whose owner cannot be checked (another
# host sharing the folder, a name from an older version) waits a day.
ABANDONED_AFTER = 10 * 60.0
UNKNOWN_OWNER_AFTER = 24 * 3600.0


def file_name(kind: str, format: str) -> str:
    """The file a report of `kind` is written to in `format`: report.html, plan.csv, frontier.xlsx."""
    return PLAN_FILE_NAMES[format] if kind in PLAN_KINDS else f"{kind}.{format}"


def check_formats(formats: Sequence[str]) -> None:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InputError(Problem("report formats", f'{", ".join(unknown)} unknown; choose from {", ".join(FORMATS)}'))


def render(report: Report, format: str, rows: Sequence[dict[str, Any]] | None = None) -> bytes:
    """The bytes of one report file; a what-if report's CSV is its analysis's own `rows`."""
    from planner.core.csv_safe import csv_rows
    from planner.render.csv import render_csv
    from planner.render.html import render_html
    from planner.render.xlsx import render_xlsx

    if format == "html":
        return render_html(report).encode("utf-8")
    if format == "xlsx":
        return render_xlsx(report)
    if format == "csv":
        return render_csv(report) if rows is None else csv_rows(rows)
    raise ValueError(f'"{format}" is not a report format; choose from {", ".join(FORMATS)}')


def write_report(report: Report, rows: Sequence[dict[str, Any]] | None, out_dir: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write a report in each format into out_dir (created if missing); return the paths written.

    Every format is rendered in memory before any file is touched, so a failure leaves
    out_dir as it was. `rows` is a what-if analysis's CSV; None for a plan, whose CSV is plan.csv.
    """
    check_formats(formats)
    contents = {f: render(report, f, rows) for f in dict.fromkeys(formats)}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [write_atomically(out_dir / file_name(report.kind, f), data) for f, data in contents.items()]


def write_reports(plan: Plan, out_dir: Path, formats: Sequence[str] = FORMATS, bundles: Sequence[Bundle] | None = None) -> list[Path]:
    """Write a plan's reports (report.html, report.xlsx, plan.csv) into out_dir; return the paths written.

    `bundles` (planner.analysis.bundles.enabler_bundles(plan)) adds what each enabler unlocks.
    """
    from planner.reports.plan_report import build_report

    return write_report(build_report(plan, bundles), None, out_dir, formats)


def write_quarterly_reports(roll: Roll, out_dir: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write the quarterly report (report.html, report.xlsx, plan.csv) and the new plan.json into out_dir."""
    from planner.reports.quarterly import build_quarterly_report
    from planner.cycle.roll import FILE_NAME, write_plan_state

    written = write_report(build_quarterly_report(roll), None, out_dir, formats)
    return written + [write_plan_state(roll.plan, Path(out_dir) / FILE_NAME)]


# ---------------------------------------------------------------------------------------
# Writing a command's files together


@contextmanager
def written_together(output: Path) -> Iterator[Path]:
    """A staging folder inside `output`: what is written there moves into `output` only when all of it is written.

    So a failure while writing leaves `output` as it was (and removes it if it was made for
    this run): never a new report.html beside an old report.xlsx. Staging folders abandoned
    by killed runs are removed first (`remove_abandoned_staging`).
    """
    created = not output.exists()
    try:
        output.mkdir(parents=True, exist_ok=True)
        remove_abandoned_staging(output)
        staging = Path(tempfile.mkdtemp(prefix=staging_prefix(), dir=output))
    except OSError as error:
        raise PlannerError(f"cannot write the reports into {output}: {error.strerror or error}") from error
    try:
        yield staging
        for path in sorted(staging.iterdir()):
            os.replace(path, output / path.name)
    except OSError as error:
        raise PlannerError(f"cannot write the reports into {output}: {error.strerror or error}; "
                           f"nothing was written") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and output.is_dir() and not any(output.iterdir()):
            output.rmdir()


def staging_prefix() -> str:
    """.planner-writing-<host>-<process id>-: the owner of a staging folder, readable from its name."""
    return f"{STAGING_PREFIX}{socket.gethostname()}-{os.getpid()}-"


def staging_owner(name: str) -> tuple[str, int] | None:
    """(host, process id) from a staging folder's name; None for a name that carries none (an older version's)."""
    parts = name[len(STAGING_PREFIX):].rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists on this host (one of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def abandoned(folder: Path, now: float) -> bool:
    """Whether a staging folder was left by a run that is gone: never true for a live run's folder."""
    try:
        age = now - folder.stat().st_mtime
    except FileNotFoundError:  # its run just finished and removed it
        return False
    owner = staging_owner(folder.name)
    if owner is None or owner[0] != socket.gethostname():
        return age > UNKNOWN_OWNER_AFTER
    return age > ABANDONED_AFTER and not process_alive(owner[1])


def remove_abandoned_staging(output: Path, now: float | None = None) -> list[Path]:
    """Remove the staging folders in `output` that killed runs left behind; return those removed."""
    now = time.time() if now is None else now
    removed = []
    for folder in sorted(output.glob(f"{STAGING_PREFIX}*")):
        if folder.is_dir() and not folder.is_symlink() and abandoned(folder, now):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
