"""Input truth (issue 10): what finance or an attacker sends, and what the planner must do with it.

One table, one case (or more) for each of the issue's 15 points. Every case makes its files
in a folder of its own, runs the real command line on them (in this process through click's
runner, or in a child process where the case needs a process-wide limit or once crashed the
process), and checks what a user would notice:

- the exit code (2 bad input, 1 the machine's trouble, 0 handled and said so);
- the message, with its location (file, sheet, row, column; or file and line; or folder);
- no traceback;
- a refused command writes nothing: every file in the folder is as it was, byte for byte,
  and no output folder appears; a command that succeeds leaves its inputs unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from planner.cli import cli
from planner.core.resources import bundled_folder
from planner.core.scratch import OWNER_FILE, PREFIX, owner_of_this_process
from planner.inputs.workbook import read_portfolio
from planner.inputs.workbook_writer import write_portfolio
from planner.publish import STAGING_PREFIX
from conftest import small_portfolio
from workbooks import BASE, Sheets, add_column, build, build_ods, build_xls, cell, edited, rezip


@dataclass
class Run:
    """What a case runs: planner command lines (each must behave as the case says), and how."""

    commands: list[list[str]]
    inputs: list[Path]
    environment: dict[str, str] = field(default_factory=dict)
    # In a child process: for a process-wide limit (file size), or where the bug killed the process.
    child_process: bool = False
    file_size_limit: int | None = None
    # What else must hold afterwards, given the folder and the output of the last command.
    check: Callable[[Path, str], None] | None = None


@dataclass(frozen=True)
class Case:
    point: int
    name: str
    prepare: Callable[[Path], Run]
    exit_code: int
    where: str  # the location as the output gives it; {folder} is the case's folder
    message: str

    @property
    def id(self) -> str:
        return f"{self.point:02d} {self.name}"


# ---- workbooks ---------------------------------------------------------------------------------


def workbook_run(make: Callable[[Path], Path], environment: dict[str, str] | None = None, child_process: bool = False,
                 check: Callable[[Path, str], None] | None = None) -> Callable[[Path], Run]:
    """`planner validate` of the workbook, and `planner plan` of a scenario on it (a workbook that is read: validate only)."""
    def prepare(folder: Path) -> Run:
        path = make(folder)
        (folder / "scenario.yaml").write_text(f"name: hostile\nworkbook: {path.name}\nsolver: highs\ntime_limit_seconds: 30\n")
        commands = [["validate", path.name]] + ([] if check else [["plan", "scenario.yaml", "-o", "out"]])
        return Run(commands, [path, folder / "scenario.yaml"], environment or {}, child_process, check=check)
    return prepare


def with_cells(sheet: str, cells: dict[str, Any], sheets: Sheets | None = None, merge: str | None = None) -> Callable[[Path], Path]:
    """BASE (or `sheets`) written by openpyxl, then cells set by reference (openpyxl keeps formulas uncalculated)."""
    def make(folder: Path) -> Path:
        path = build(folder / "bad.xlsx", sheets or edited())
        book = openpyxl.load_workbook(path)
        for reference, value in cells.items():
            book[sheet][reference] = value
        if merge:
            book[sheet].merge_cells(merge)
        book.save(path)
        return path
    return make


def built(*edits: Callable[[Sheets], None]) -> Callable[[Path], Path]:
    return lambda folder: build(folder / "bad.xlsx", edited(*edits))


def merged_uplift(sheets: Sheets) -> None:
    sheets["Experiences"][0][6:9] = ["Uplift", None, None]


def zip_changed(change: Callable[[str, bytes], list[tuple[str, bytes]]]) -> Callable[[Path], Path]:
    """BASE written by openpyxl, then its zip members changed as no spreadsheet program would."""
    return lambda folder: rezip(build(folder / "source.xlsx", BASE), folder / "bad.xlsx", change)


def duplicate_sheet_member(name: str, data: bytes) -> list[tuple[str, bytes]]:
    if name == "xl/worksheets/sheet1.xml":
        return [(name, data), (name, data.replace(b"<v>1000</v>", b"<v>9999999</v>"))]
    return [(name, data)]


def padded_sheet(name: str, data: bytes) -> list[tuple[str, bytes]]:
    """The Experiences sheet unpacks to 2 MiB (the case sets a limit of 1 MiB)."""
    if name == "xl/worksheets/sheet1.xml":
        return [(name, data.replace(b"<sheetData>", b"<sheetData>" + b" " * (2 * 1024 * 1024)))]
    return [(name, data)]


def long_name(name: str, data: bytes) -> list[tuple[str, bytes]]:
    """Excel and openpyxl cut a text at 32,767 characters; another program may not."""
    return [(name, data.replace(b"App returns", b"x" * 32_768))]


def control_characters(name: str, data: bytes) -> list[tuple[str, bytes]]:
    return [(name, data.replace(b"App returns", b"App_x0007_ returns").replace(b"Web returns", b"Web\x1b returns"))]


def ods_with(cells: dict[tuple[str, int, int], str], tail: str = "") -> Callable[[Path], Path]:
    return lambda folder: build_ods(folder / "bad.ods", edited(), cells, tail)


ODS_ERROR = ('<table:table-cell table:formula="of:=1/0" office:value-type="float" office:value="0" '
             'calcext:value-type="error"><text:p>#DIV/0!</text:p></table:table-cell>')
ODS_UNCALCULATED = '<table:table-cell table:formula="of:=[.C2]*2"/>'
ODS_STRAY = ('<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="3"/>'
             '</table:table-row><table:table-row><table:table-cell office:value-type="string"><text:p>x</text:p>'
             '</table:table-cell></table:table-row>')


def owners_read(folder: Path, output: str) -> None:
    portfolio = read_portfolio(folder / "bad.xlsx")
    assert [(e.team, e.owner) for e in portfolio.experiences] == [
        ("Data", "Ana Lopez, Chief Data Officer"), ("Digital", "Ben Okafor"), ("Digital", "")]


def run_cost_read(folder: Path, output: str) -> None:
    assert read_portfolio(folder / "bad.xlsx").experience("A1").options[0].run_cost_per_quarter == 1000


def comments_to_row(rows: int) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        sheets = edited(add_column("Experiences", "Comments", ["ok", "ok", "ok"]))
        sheets["Experiences"] += [[None] * 13 + [f"note {n}"] for n in range(5, rows + 1)]
        return build(folder / "bad.xlsx", sheets)
    return make


def few_lines(folder: Path, output: str) -> None:
    assert len(output.splitlines()) < 20, output


# ---- scenario files, the temporary folder, outputs ---------------------------------------------------


def scenario_run(text: str, command: str = "both") -> Callable[[Path], Run]:
    """A scenario file bad.yaml over a small workbook: validated, and planned."""
    def prepare(folder: Path) -> Run:
        write_portfolio(small_portfolio(), folder / "inputs.xlsx")
        (folder / "bad.yaml").write_text(text, encoding="utf-8")
        commands = {"both": [["validate", "bad.yaml"], ["plan", "bad.yaml", "-o", "out"]], "validate": [["validate", "bad.yaml"]]}
        return Run(commands[command], [folder / "inputs.xlsx", folder / "bad.yaml"])
    return prepare


ALIAS_BOMB = "workbook: inputs.xlsx\n" + "".join(
    f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9) if level else ', '.join(['lol'] * 9)}]\n" for level in range(9))


def plan_with_files_of_at_most_16_kib(workbook: Path | None) -> Callable[[Path], Run]:
    """A real 'File too large': the planner may write files of at most 16 KiB. The bundled example's
    model file is larger, so its solve cannot start; the small portfolio solves, and its reports are larger."""
    def prepare(folder: Path) -> Run:
        if workbook is None:
            write_portfolio(small_portfolio(), folder / "inputs.xlsx")
        else:
            shutil.copy(workbook, folder / "inputs.xlsx")
        (folder / "base.yaml").write_text("name: Base\nworkbook: inputs.xlsx\n", encoding="utf-8")
        (folder / "tmp").mkdir()
        return Run([["plan", "base.yaml", "-o", "out"]], [folder / "inputs.xlsx", folder / "base.yaml"],
                   {"TMPDIR": str(folder / "tmp")}, child_process=True, file_size_limit=16 * 1024)
    return prepare


def scenario_and_first_plan(folder: Path) -> None:
    write_portfolio(small_portfolio(), folder / "inputs.xlsx")
    # The workbook by its full path, so a copy of the scenario in out/ reads the same.
    (folder / "base.yaml").write_text(f"name: Base\nworkbook: {folder / 'inputs.xlsx'}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["plan", str(folder / "base.yaml"), "-o", str(folder / "out"), "--format", "csv"])
    assert result.exit_code == 0, result.output


def roll_into_the_folder_of_the_previous_plan(folder: Path) -> Run:
    scenario_and_first_plan(folder)
    return Run([["roll", "out/plan.json", "base.yaml", "-o", "out"]], [folder / "out" / "plan.json", folder / "base.yaml"])


def plan_a_scenario_named_plan_json_in_the_output_folder(folder: Path) -> Run:
    scenario_and_first_plan(folder)
    (folder / "out" / "plan.json").write_bytes((folder / "base.yaml").read_bytes())
    return Run([["plan", "out/plan.json", "-o", "out"]], [folder / "out" / "plan.json"])


def kill_a_solving_run(folder: Path) -> Path:
    """`kill -9` a real `planner plan` (and its solver) while it solves the bundled example; its scratch folder stays behind."""
    shutil.copy(EXAMPLE_WORKBOOK, folder / "example.xlsx")
    (folder / "slow.yaml").write_text("workbook: example.xlsx\ngap: 0\nsolver: cbc\n", encoding="utf-8")
    run = subprocess.Popen([sys.executable, "-c", "from planner.cli import main; main()", "plan", "slow.yaml", "-o", "killed"],
                           cwd=folder, env={**os.environ, "TMPDIR": str(folder / "tmp")}, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 900  # generous: on a loaded machine the start alone took over 120 s
    try:
        while not list((folder / "tmp").glob(f"{PREFIX}*/model.mps")) and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert run.poll() is None, "the run ended before it could be killed while solving"
        assert list((folder / "tmp").glob(f"{PREFIX}*/model.mps")), "the run did not reach its solve in 900 s"
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    (left,) = (folder / "tmp").glob(f"{PREFIX}*")
    (folder / "example.xlsx").unlink()
    (folder / "slow.yaml").unlink()
    return left


def leftovers_of_killed_runs(folder: Path) -> Run:
    """What `kill -9` leaves: the solver's scratch folder in the temporary folder (a real killed run) and a
    staging folder in -o (a run killed while moving its reports in); beside them the same of a live run
    (this test's process), which must survive, and an unmarked folder two days old."""
    (folder / "tmp").mkdir()
    killed = kill_a_solving_run(folder)
    killed.rename(folder / "tmp" / f"{PREFIX}dead")  # a name the check can list; the owner is what counts
    write_portfolio(small_portfolio(), folder / "inputs.xlsx")
    (folder / "base.yaml").write_text("name: Base\nworkbook: inputs.xlsx\n", encoding="utf-8")
    dead, host, hour_ago = json.loads((folder / "tmp" / f"{PREFIX}dead" / OWNER_FILE).read_text())["pid"], socket.gethostname(), time.time() - 3600
    (folder / "tmp" / f"{PREFIX}live").mkdir()
    (folder / "tmp" / f"{PREFIX}live" / OWNER_FILE).write_text(json.dumps(owner_of_this_process()))
    unmarked = folder / "tmp" / f"{PREFIX}unmarked"
    unmarked.mkdir()
    os.utime(unmarked, (time.time() - 2 * 86400,) * 2)
    for name, pid in (("dead", dead), ("live", os.getpid())):
        staging = folder / "out" / f"{STAGING_PREFIX}{host}-{pid}-{name}"
        staging.mkdir(parents=True)
        (staging / "report.html").write_text("half a report")
        os.utime(staging, (hour_ago, hour_ago))

    def check(folder: Path, output: str) -> None:
        left = sorted(p.name for p in (folder / "tmp").iterdir())
        assert left == [f"{PREFIX}live"], left
        staging = sorted(p.name for p in (folder / "out").glob(f"{STAGING_PREFIX}*"))
        assert staging == [f"{STAGING_PREFIX}{host}-{os.getpid()}-live"], staging
        assert (folder / "out" / "report.html").read_text() != "half a report"

    return Run([["plan", "base.yaml", "-o", "out"]], [folder / "inputs.xlsx", folder / "base.yaml"],
               {"TMPDIR": str(folder / "tmp")}, child_process=True, check=check)


def names_cleaned_alike_in_every_report(folder: Path, output: str) -> None:
    html, csv = (folder / "out" / "report.html").read_text(), (folder / "out" / "plan.csv").read_text()
    texts = [cell.value for sheet in openpyxl.load_workbook(folder / "out" / "report.xlsx") for row in sheet.iter_rows()
             for cell in row if isinstance(cell.value, str)]
    for text in (html, csv, "\n".join(texts)):
        assert "App returns" in text and "\x07" not in text and "\x1b" not in text


def plan_cleaned(make: Callable[[Path], Path]) -> Callable[[Path], Run]:
    def prepare(folder: Path) -> Run:
        path = make(folder)
        (folder / "scenario.yaml").write_text(f"workbook: {path.name}\nsolver: highs\n")
        return Run([["plan", "scenario.yaml", "-o", "out", "--format", "html,xlsx,csv"]], [path, folder / "scenario.yaml"],
                   check=names_cleaned_alike_in_every_report)
    return prepare


# ---- the table ----------------------------------------------------------------------------------------

EXAMPLE_WORKBOOK = bundled_folder("scenarios") / "example-portfolio.xlsx"
OPTIONS_D = 'bad.xlsx, sheet Options, row 3, column "Run cost per quarter"'
NEW_OPTIONS = "Run cots per quarter"

CASES: list[Case] = [
    # 1. A formula with no cached value is not a blank (which would silently default, or say "is blank").
    Case(1, "formula without a cached value, optional column", workbook_run(with_cells("Options", {"D3": "=D2*2"})), 2, OPTIONS_D,
         "formula =D2*2 has no calculated value (the file was saved by a program that does not calculate formulas); "
         "open it in Excel or LibreOffice and save it, or type the value"),
    Case(1, "formula without a cached value, required column", workbook_run(with_cells("Options", {"C4": "=C3*1.6"})), 2,
         'bad.xlsx, sheet Options, row 4, column "One-off cost"', "formula =C3*1.6 has no calculated value"),
    Case(1, "formula without a cached value, low uplift", workbook_run(with_cells("Experiences", {"G3": "=H3/2"})), 2,
         'bad.xlsx, sheet Experiences, row 3, column "Uplift low"', "formula =H3/2 has no calculated value"),
    Case(1, "formula without a cached value in an ods", workbook_run(ods_with({("Options", 2, 3): ODS_UNCALCULATED})), 2,
         'bad.ods, sheet Options, row 3, column "Run cost per quarter"', "formula =[.C2]*2 has no calculated value"),
    Case(1, "header computed by a formula without a cached value",
         workbook_run(with_cells("Options", {"D1": '="Run cost per "&"quarter"'})), 2, "bad.xlsx, sheet Options, row 1",
         'the header of column D is formula ="Run cost per "&"quarter" with no calculated value'),
    # 2. Data under a merged or blank header was ignored: the low uplift was planned as the base.
    Case(2, "header merged over three columns", workbook_run(with_cells("Experiences", {}, edited(merged_uplift), merge="G1:I1")), 2,
         'bad.xlsx, sheet Experiences, row 1, column "Uplift"',
         'the header "Uplift" is merged over columns G to I, so only the first has a header'),
    Case(2, "blank header over a filled column", workbook_run(built(cell("Experiences", 1, "Uplift high", None))), 2,
         'bad.xlsx, sheet Experiences, row 1, column "I"', "column I has no header but holds values (rows 2, 3, 4)"),
    # 3. Excel error values in .xls and .ods read as blanks.
    Case(3, "error value in an xls",
         workbook_run(lambda folder: build_xls(folder / "bad.xls", edited(), {("Options", 2, 3): "#DIV/0!"})), 2,
         'bad.xls, sheet Options, row 3, column "Run cost per quarter"', "#DIV/0! is an Excel error value (a formula that failed)"),
    Case(3, "error value in an ods", workbook_run(ods_with({("Options", 1, 2): ODS_ERROR})), 2,
         'bad.ods, sheet Options, row 2, column "One-off cost"', "#DIV/0! is an Excel error value (a formula that failed)"),
    # 4. A header close to a known column was dropped with a warning (run costs became 0).
    Case(4, "misspelt optional column", workbook_run(built(lambda sheets: sheets["Options"][0].__setitem__(3, NEW_OPTIONS))), 2,
         f'bad.xlsx, sheet Options, row 1, column "{NEW_OPTIONS}"',
         f'"{NEW_OPTIONS}" is not a column of the format; did you mean "Run cost per quarter"? '
         "Rename the header (left unread, 0 would be used for every row)"),
    Case(4, "finance's name for the run cost is read, not dropped",
         workbook_run(built(lambda sheets: sheets["Options"][0].__setitem__(3, "Opex / qtr (EUR)")),
                      check=run_cost_read), 0,
         "bad.xlsx", "valid. 3 experiences, 2 teams, 4 quarters from 2027Q1."),
    # 5. Another currency's amount read as the workbook's.
    Case(5, "dollars in a EUR workbook", workbook_run(built(cell("Options", 2, "One-off cost", "$1,000"))), 2,
         'bad.xlsx, sheet Options, row 2, column "One-off cost"',
         '"$1,000" is an amount in USD ($), not in the workbook\'s currency EUR (Settings); convert it to EUR and type the number'),
    Case(5, "pounds in a EUR workbook", workbook_run(built(cell("Budget", 3, "Budget", "£1,000"))), 2,
         'bad.xlsx, sheet Budget, row 3, column "Budget"', '"£1,000" is an amount in GBP (£), not in the workbook\'s currency EUR'),
    # 6. An Owner column of people's names was refused as a second Team: it is the accountable executive.
    Case(6, "an owner column of people's names is read as the owner",
         workbook_run(built(add_column("Experiences", "Owner", ["Ana Lopez, Chief Data Officer", "Ben Okafor", None])),
                      check=owners_read), 0,
         "bad.xlsx", "valid. 3 experiences, 2 teams, 4 quarters from 2027Q1."),
    Case(6, "two columns that both mean the owner",
         workbook_run(built(add_column("Experiences", "Owner", ["Ana Lopez", "Ben Okafor", None]),
                            add_column("Experiences", "Accountable executive", ["Ana Lopez", "Ben Okafor", None]))), 2,
         'bad.xlsx, sheet Experiences, row 1, column "Accountable executive"',
         'columns "Owner" and "Accountable executive" both mean Owner; keep one'),
    # 7. A stray value far away aborted the process (a Rust allocation failure) or took seconds and gigabytes.
    Case(7, "stray value at XFD1048576", workbook_run(with_cells("Experiences", {"XFD1048576": "x"}), child_process=True), 2,
         "bad.xlsx, sheet Experiences",
         "holds a value in row 1,048,576 (cell XFD1048576); at most 250,000 rows are read: delete the rows and columns"),
    Case(7, "stray value at A1048576 in Settings", workbook_run(with_cells("Settings", {"A1048576": "x"})), 2,
         "bad.xlsx, sheet Settings", "holds a value in row 1,048,576 (cell A1048576); at most 250,000 rows are read"),
    Case(7, "stray value at XFD2", workbook_run(with_cells("Teams", {"XFD2": 1})), 2,
         "bad.xlsx, sheet Teams", "holds a value in column XFD; at most 1,000 columns are read"),
    Case(7, "stray value far down an ods", workbook_run(ods_with({}, ODS_STRAY)), 2,
         "bad.ods, sheet Experiences", "holds a value in row 1,048,575 (cell A1048575); at most 250,000 rows are read"),
    Case(7, "a limit set lower", workbook_run(with_cells("Experiences", {"A300": "x"}), {"PLANNER_MAX_SHEET_ROWS": "100"}), 2,
         "bad.xlsx, sheet Experiences", "holds a value in row 300 (cell A300); at most 100 rows are read"),
    # 8. A small file holding huge sheet XML was parsed.
    Case(8, "sheet XML over the size limit", workbook_run(zip_changed(padded_sheet), {"PLANNER_MAX_WORKBOOK_MIB": "1"}), 2,
         "bad.xlsx", "unpacks to more than 1 MiB (the limit; the file is 0.0 MiB packed)"),
    # 9. YAML: an alias bomb ran for minutes, tags gave tracebacks, YAML 1.1 coerced NO and 010.
    Case(9, "alias bomb", scenario_run(ALIAS_BOMB), 2, "bad.yaml, line 2", "&l0 is an anchor"),
    Case(9, "!!int tag", scenario_run("workbook: inputs.xlsx\nstart_quarters: !!int free\n"), 2, "bad.yaml, line 2",
         "!!int is a YAML tag"),
    Case(9, "!!bool tag", scenario_run("workbook: inputs.xlsx\nobjective: !!bool npv\n"), 2, "bad.yaml, line 2", "!!bool is a YAML tag"),
    Case(9, "!!map tag", scenario_run("workbook: inputs.xlsx\nobjective: !!map npv\n"), 2, "bad.yaml, line 2", "!!map is a YAML tag"),
    Case(9, "NO is a name, not False", scenario_run("name: NO\nworkbook: inputs.xlsx\n", "validate"), 0,
         "bad.yaml, line 1", "name NO"),
    Case(9, "010 is ten, not eight", scenario_run("workbook: inputs.xlsx\ntime_limit_seconds: 010\n", "validate"), 0,
         "bad.yaml, line 2", "time_limit_seconds 10"),
    # 10. A full temporary folder gave a traceback (OSError: File too large).
    Case(10, "file too large in the temporary folder", plan_with_files_of_at_most_16_kib(EXAMPLE_WORKBOOK), 1,
         "Error: cannot write the solver's model files in the temporary folder {folder}/tmp",
         "(File too large): free space there, or set TMPDIR to a folder with room"),
    Case(10, "file too large in the output folder", plan_with_files_of_at_most_16_kib(None), 1,
         "Error: cannot write the reports into out", "File too large; nothing was written"),
    # 11. Control characters passed into HTML and CSV and were dropped from the xlsx; an over-long text went into report.xlsx.
    Case(11, "text over 32,767 characters", workbook_run(zip_changed(long_name)), 2, 'bad.xlsx, sheet Experiences, row 3, column "Name"',
         "is a text of 32,768 characters; at most 32,767 fit in an Excel cell: shorten it"),
    Case(11, "control characters are removed alike everywhere, and said where", plan_cleaned(zip_changed(control_characters)), 0,
         'warning: bad.xlsx, sheet Experiences, rows 3 and 4, column "Name"', "control characters (invisible in Excel) removed from the text"),
    # 12. A comments column filled far down printed a warning per row.
    Case(12, "warnings summarised", workbook_run(comments_to_row(20_000), check=few_lines), 0,
         "warning: bad.xlsx, sheet Experiences, rows 5, 6, 7, 8, 9 and 19,991 more", "row without ID skipped"),
    # 13. An input is never an output.
    Case(13, "roll into the folder of the plan it reads", roll_into_the_folder_of_the_previous_plan, 2,
         "out/plan.json", "is the previous plan: the new plan.json would overwrite it; choose another -o"),
    Case(13, "a scenario named plan.json in the output folder", plan_a_scenario_named_plan_json_in_the_output_folder, 2,
         "out/plan.json", "is the scenario file: the new plan.json would overwrite it; choose another -o"),
    # 14. kill -9 left scratch and staging folders behind: the next run removes stale ones, never a live one's.
    Case(14, "leftovers of killed runs are cleaned, a live run's kept", leftovers_of_killed_runs, 0,
         "Wrote out/report.html", "out/plan.json"),
    # 15. Duplicate zip members were accepted (the last one won).
    Case(15, "duplicate zip members", workbook_run(zip_changed(duplicate_sheet_member)), 2,
         "bad.xlsx", "holds two parts named xl/worksheets/sheet1.xml (a damaged or tampered file"),
]


def test_the_table_covers_every_point_of_the_issue() -> None:
    assert {case.point for case in CASES} == set(range(1, 16))


# ---- running a case ------------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def invoke(command: list[str], run: Run, folder: Path) -> tuple[int, str]:
    """The command's exit code and everything it printed (stdout and stderr)."""
    if not run.child_process:
        result = CliRunner().invoke(cli, command, env=run.environment)
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        return result.exit_code, result.output

    def limit() -> None:
        if run.file_size_limit is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_FSIZE, (run.file_size_limit, run.file_size_limit))

    done = subprocess.run([sys.executable, "-c", "from planner.cli import main; main()", *command], cwd=folder,
                          env={**os.environ, **run.environment}, capture_output=True, text=True, timeout=300, preexec_fn=limit)
    assert done.returncode >= 0, f"killed by signal {-done.returncode}: {done.stderr}"
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_where_it_is_or_handled_and_said(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "case"
    folder.mkdir()
    monkeypatch.chdir(folder)
    run = case.prepare(folder)
    inputs = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in run.inputs}
    where, message = case.where.format(folder=folder), case.message.format(folder=folder)
    for command in run.commands:
        before = snapshot(folder)
        code, output = invoke(command, run, folder)
        shown = f"planner {' '.join(command)} exited {code}:\n{output}"
        assert code == case.exit_code, shown
        assert "Traceback" not in output, shown
        lines = [" ".join(line.split()) for line in output.splitlines()]
        assert any(where in line and message in line for line in lines), f"no line says {where!r} and {message!r}; {shown}"
        if code != 0:
            # Nothing written, nothing changed: the folder is byte for byte as it was.
            assert snapshot(folder) == before, shown
            assert not (folder / "out").exists() or "out" in {Path(p).parts[0] for p in before}, shown
        assert {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in run.inputs} == inputs
        if run.check is not None:
            run.check(folder, output)
