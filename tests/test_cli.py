"""The command line as finance uses it: exit codes, messages without tracebacks, the -o folder, printed numbers.

Each test is named after what broke when the tool was used as a finance analyst would.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner import cli as cli_module
from planner.cli import cli
from planner.inputs.workbook_writer import write_portfolio
from planner.core.formatting import money as format_money
from conftest import small_portfolio

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A folder with a small workbook and scenarios over it."""
    folder = tmp_path_factory.mktemp("cli")
    write_portfolio(small_portfolio(), folder / "inputs.xlsx")
    (folder / "base.yaml").write_text("name: Base\nworkbook: inputs.xlsx\ngap: 0\n", encoding="utf-8")
    # CX-103 and CX-202 exclude each other in small_portfolio().
    (folder / "alternatives.yaml").write_text("extends: base.yaml\nforced_in: [CX-103, CX-202]\n", encoding="utf-8")
    return folder


def run(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in arguments])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------
# template


def test_template_into_a_missing_folder_is_a_message_not_a_traceback(tmp_path):
    code, output = run("template", tmp_path / "no-such-folder" / "inputs.xlsx")
    assert code == 2 and "the folder" in output and "does not exist" in output


def test_template_with_a_name_that_is_not_xlsx_is_refused(tmp_path):
    code, output = run("template", tmp_path / "inputs.csv")
    assert code == 2 and "give a name ending in .xlsx" in output
    assert not (tmp_path / "inputs.csv").exists()


def test_template_over_an_existing_file_names_the_file(tmp_path):
    (tmp_path / "inputs.xlsx").write_bytes(b"finance's work")
    code, output = run("template", tmp_path / "inputs.xlsx")
    assert code == 2 and f"{tmp_path / 'inputs.xlsx'}: exists already" in output
    assert (tmp_path / "inputs.xlsx").read_bytes() == b"finance's work"


# ---------------------------------------------------------------------------------------
# The -o folder and --format, checked before any solving


def test_output_folder_inside_a_file_is_refused_before_planning(inputs, tmp_path):
    (tmp_path / "afile").write_text("x")
    code, output = run("plan", inputs / "base.yaml", "-o", tmp_path / "afile" / "reports")
    assert code == 2 and "is inside" in output and "which is a file" in output
    assert "Plan:" not in output  # refused before the solve, not after it


def test_output_folder_holding_a_folder_where_a_report_goes_is_refused(inputs, tmp_path):
    (tmp_path / "report.xlsx").mkdir()
    code, output = run("plan", inputs / "base.yaml", "-o", tmp_path)
    assert code == 2 and "holds a folder named report.xlsx" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx"]


def test_output_folder_that_cannot_be_written_is_refused(inputs, tmp_path, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: Path(path) != tmp_path and real_access(path, mode, **kw))
    code, output = run("frontier", inputs / "base.yaml", "--points", "2", "-o", tmp_path / "out")
    assert code == 2 and "permission denied" in output
    assert not (tmp_path / "out").exists()


def test_format_pdf_names_the_option_it_came_from(inputs, tmp_path):
    code, output = run("plan", inputs / "base.yaml", "--format", "pdf", "-o", tmp_path)
    assert code == 2 and "Invalid value for '--format'" in output and "choose from html, xlsx, csv" in output
    assert not any(tmp_path.iterdir())


def test_failure_while_writing_leaves_the_output_folder_as_it_was(inputs, tmp_path, monkeypatch):
    code, _ = run("plan", inputs / "base.yaml", "-o", tmp_path)
    assert code == 0
    before = {p.name: digest(p) for p in tmp_path.iterdir()}
    assert set(before) == {"report.html", "report.xlsx", "plan.csv", "plan.json"}

    def disk_full(plan, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("planner.cycle.roll.write_plan_state", disk_full)
    (inputs / "cut.yaml").write_text("extends: base.yaml\nname: Cut\nbudget: {change: -50%}\n", encoding="utf-8")
    code, output = run("plan", inputs / "cut.yaml", "-o", tmp_path)
    assert code == 1 and "No space left on device" in output and "nothing was written" in output
    # The new report.html and report.xlsx were written, but not moved in beside the old plan.json.
    assert {p.name: digest(p) for p in tmp_path.iterdir()} == before


def test_infeasible_scenario_exits_3_names_the_rules_and_writes_nothing(inputs, tmp_path):
    code, output = run("plan", inputs / "alternatives.yaml", "-o", tmp_path / "out")
    assert code == 3
    assert "CX-202 and CX-103 are alternatives" in output and "CX-103 is forced in by the scenario" in output
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------
# Files given in the wrong place


def test_plan_given_the_workbook_instead_of_a_scenario_says_what_to_give(inputs):
    code, output = run("plan", inputs / "inputs.xlsx")
    assert code == 2 and "is an Excel workbook, not a scenario file" in output


def test_roll_given_a_binary_file_as_the_previous_plan_is_bad_input(inputs, tmp_path):
    code, output = run("roll", inputs / "inputs.xlsx", inputs / "base.yaml", "-o", tmp_path)
    assert code == 2 and "is not a saved plan" in output


def test_explain_of_a_mistyped_experience_suggests_the_id(inputs, tmp_path):
    code, output = run("explain", inputs / "base.yaml", "--experience", "cx-1O1", "--no-search", "-o", tmp_path)
    assert code == 2 and '--experience: not an experience of the portfolio: cx-1O1 (did you mean "CX-101"?)' in output


# ---------------------------------------------------------------------------------------
# What is printed agrees with what is written; the input is never written


def test_printed_summary_agrees_with_plan_csv_and_the_workbook_is_untouched(inputs, tmp_path):
    before = digest(inputs / "inputs.xlsx")
    code, output = run("plan", inputs / "base.yaml", "-o", tmp_path)
    assert code == 0
    assert digest(inputs / "inputs.xlsx") == before
    with open(tmp_path / "plan.csv", encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    funded = [r for r in rows if r["funded"] == "yes"]
    assert f"Funded: {len(funded)} of {len(rows)} experiences" in output
    npv = sum(float(r["NPV"]) for r in funded)
    spend = sum(float(r["total spend"]) for r in funded)
    printed = re.search(r"^NPV (\S+) .*\nSpend (\S+)", output, re.MULTILINE)
    assert printed, output
    assert printed.group(1) == format_money(npv, "EUR") and printed.group(2) == format_money(spend, "EUR")
    for row in funded:
        assert re.search(rf"^  {re.escape(row['id'])} .* {re.escape(row['option'])} +{row['start quarter']} ", output, re.MULTILINE)


# ---------------------------------------------------------------------------------------
# --help reads well, and its example works as typed from the repository root


COMMANDS = ["template", "validate", "plan", "demo", "roll", "frontier", "compare", "explain", "sensitivity"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_an_example_whose_files_exist_from_the_repository_root(command):
    code, output = run(command, "--help")
    assert code == 0
    block = output.split("Example")[1].split(":", 1)[1].split("\n\n")[0]
    examples = [line.split() for line in block.strip().splitlines()]
    assert examples and all(example[0] == "planner" for example in examples), block
    assert any(example[1] == command for example in examples)
    made = {Path(argument) for example in examples for option, argument in zip(example, example[1:]) if option == "-o"}
    for argument in (a for example in examples for a in example[2:]):
        if argument.endswith((".yaml", ".json")) and not any(folder in Path(argument).parents for folder in made):
            assert (REPO / argument).is_file(), f"{command} --help names {argument}, which is not in the repository"


def test_top_level_help_start_here_commands_name_real_files():
    _, output = run("--help")
    for line in output.split("Start here:")[1].split("Options:")[0].strip().splitlines():
        for argument in line.split()[2:3]:
            if argument.endswith(".yaml"):
                assert (REPO / argument).is_file(), line


def test_explain_help_example_names_experiences_of_the_bundled_example():
    from planner.inputs.workbook import read_portfolio

    _, output = run("explain", "--help")
    example = output.split("Example")[1].split(":", 1)[1].strip().splitlines()[0]
    ids = {e.id for e in read_portfolio(REPO / "scenarios" / "example-portfolio.xlsx").experiences}
    assert set(re.findall(r"--experience (\S+)", example)) <= ids


def test_plan_prints_the_workbook_warnings_that_validate_prints(inputs, tmp_path):
    import shutil

    import openpyxl

    shutil.copy(inputs / "inputs.xlsx", tmp_path / "inputs.xlsx")
    book = openpyxl.load_workbook(tmp_path / "inputs.xlsx")
    sheet = book["Experiences"]
    sheet.cell(row=1, column=sheet.max_column + 1, value="Owner email")
    book.save(tmp_path / "inputs.xlsx")
    (tmp_path / "base.yaml").write_text("workbook: inputs.xlsx\n", encoding="utf-8")
    code, output = run("plan", tmp_path / "base.yaml", "-o", tmp_path / "out")
    assert code == 0 and 'warning: inputs.xlsx, sheet Experiences, row 1: column "Owner email" not part of the format; ignored' in output


def test_compare_lists_the_problems_of_every_scenario_not_only_the_first(inputs, tmp_path):
    (tmp_path / "a.yaml").write_text(f"workbook: {inputs / 'inputs.xlsx'}\nsolver: gurobi\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text(f"workbook: {inputs / 'inputs.xlsx'}\nbudgt: 5\n", encoding="utf-8")
    code, output = run("compare", tmp_path / "a.yaml", tmp_path / "b.yaml", "-o", tmp_path / "out")
    assert code == 2 and "2 problems in the inputs" in output
    assert "a.yaml, line 2, key solver" in output and "b.yaml, line 2, key budgt" in output


def test_binding_roi_hurdle_and_balance_rules_are_not_printed_in_team_weeks(small_plan):
    from dataclasses import replace

    from planner.optimise.plan import RuleUse

    plan = small_plan
    hurdle = RuleUse("roi_hurdle", "roi_hurdle", "Portfolio ROI hurdle", None, None, 1.0, 1.0, "ROI", 3.61, "at least")
    share = RuleUse("balance_get_help_min", "balance", "Share of spend on journey stage get help", None, None, 0.3, 0.3,
                    "share of spend", 0.8, "at least")
    text = cli_module.summary(replace(plan, rules=plan.rules + (hurdle, share)))
    lines = {line.split("  ")[1]: line for line in text.splitlines() if line.startswith("  Portfolio ROI") or line.startswith("  Share of")}
    assert "team-week" not in lines["Portfolio ROI hurdle"] and "at least 1.00" in lines["Portfolio ROI hurdle"]
    assert "30.0%" in lines["Share of spend on journey stage get help"]
    assert "team-week" not in lines["Share of spend on journey stage get help"]


def test_report_that_would_overwrite_the_input_workbook_is_refused(inputs, tmp_path):
    import shutil

    shutil.copy(inputs / "inputs.xlsx", tmp_path / "report.xlsx")
    (tmp_path / "s.yaml").write_text("workbook: report.xlsx\n", encoding="utf-8")
    before = digest(tmp_path / "report.xlsx")
    code, output = run("plan", tmp_path / "s.yaml", "-o", tmp_path)
    assert code == 2 and "is the input workbook: the new report.xlsx would overwrite it" in output
    assert digest(tmp_path / "report.xlsx") == before


# ---------------------------------------------------------------------------------------
# Input truth (issue 10): bad scenario YAML, a full temporary folder, an input as an output


def snapshot(*folders: Path) -> dict[str, str]:
    """Every file below the folders with its digest: what a refused command must leave exactly as it was."""
    return {str(p): digest(p) for folder in folders if folder.exists() for p in sorted(folder.rglob("*")) if p.is_file()}


BAD_SCENARIOS = [
    # (what broke, scenario text, the message with its place)
    ("alias bomb", "workbook: inputs.xlsx\na: &a [x, x]\nb: [*a, *a]\n", "bad.yaml, line 2: &a is an anchor"),
    ("!!int tag traceback", "workbook: inputs.xlsx\nstart_quarters: !!int free\n", "bad.yaml, line 2: !!int is a YAML tag"),
    ("!!bool tag traceback", "workbook: inputs.xlsx\nobjective: !!bool npv\n", "bad.yaml, line 2: !!bool is a YAML tag"),
    ("!!map tag traceback", "workbook: inputs.xlsx\nobjective: !!map npv\n", "bad.yaml, line 2: !!map is a YAML tag"),
    ("deep nesting", "workbook: inputs.xlsx\nforced_in: " + "[" * 2000 + "]" * 2000 + "\n", "bad.yaml, line 2: nests deeper"),
    ("duplicate key", "workbook: inputs.xlsx\ngap: 0\ngap: 0.1\n", "bad.yaml, line 3, key gap: appears twice"),
    ("decimal comma", "workbook: inputs.xlsx\ndiscount_rate: 6,5%\n", "bad.yaml, line 2, key discount_rate: '6,5%'"),
]


@pytest.mark.parametrize("text, message", [case[1:] for case in BAD_SCENARIOS], ids=[case[0] for case in BAD_SCENARIOS])
def test_bad_scenario_yaml_exits_2_with_file_and_line_and_writes_nothing(inputs, tmp_path, text, message):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(text, encoding="utf-8")
    (tmp_path / "inputs.xlsx").write_bytes((inputs / "inputs.xlsx").read_bytes())
    before = snapshot(tmp_path)
    code, output = run("plan", scenario, "-o", tmp_path / "out")
    assert code == 2 and message in output, output
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()


def test_a_full_temporary_folder_exits_with_a_message_not_a_traceback(inputs, tmp_path, monkeypatch):
    # Was: OSError: [Errno 27] File too large, a traceback from writing the model file.
    import errno

    def file_too_large(model, folder, negate_objective=False):
        raise OSError(errno.EFBIG, "File too large")

    monkeypatch.setattr("planner.optimise.optimiser.write_model", file_too_large)
    monkeypatch.setattr("planner.optimise.solve.write_model", file_too_large)
    before = snapshot(inputs)
    code, output = run("plan", inputs / "base.yaml", "-o", tmp_path / "out")
    assert code == 1
    assert "Error: cannot write the solver's model files in the temporary folder" in output
    assert "(File too large): free space there, or set TMPDIR to a folder with room" in output
    assert not (tmp_path / "out").exists() and snapshot(inputs) == before


@pytest.fixture(scope="module")
def first_plan(inputs, tmp_path_factory) -> Path:
    """plan.json of the base scenario, for roll."""
    folder = tmp_path_factory.mktemp("q1")
    code, output = run("plan", inputs / "base.yaml", "-o", folder, "--format", "csv")
    assert code == 0, output
    return folder / "plan.json"


def never_solve(monkeypatch) -> None:
    """Make any solve fail the test: an input that is an output must be refused before solving."""
    def solved(*args, **kwargs):
        raise AssertionError("solved before refusing to overwrite an input")

    monkeypatch.setattr("planner.optimise.optimiser.start_solve", solved)
    monkeypatch.setattr("planner.optimise.solve.start_solve", solved)


def same_name(source: Path, target: Path) -> None:
    target.write_bytes(source.read_bytes())


# (command, the input the output folder holds as (kind of input, file name in -o, how it got there), message)
INPUT_AS_OUTPUT = [
    ("roll", "previous plan", "plan.json", "copy", "is the previous plan: the new plan.json would overwrite it"),
    ("plan", "scenario file", "plan.json", "copy", "is the scenario file: the new plan.json would overwrite it"),
    ("plan", "scenario file", "report.html", "hard link", "is the scenario file: the new report.html would overwrite it"),
    ("plan", "input workbook", "report.xlsx", "symlink", "is the input workbook: the new report.xlsx would overwrite it"),
    ("plan", "scenario file it extends", "plan.json", "copy", "is the scenario file it extends: the new plan.json would overwrite it"),
    ("demo", "scenario file", "plan.json", "hard link", "is the scenario file: the new plan.json would overwrite it"),
    ("frontier", "scenario file", "frontier.csv", "hard link", "is the scenario file: the new frontier.csv would overwrite it"),
    ("compare", "input workbook", "compare.xlsx", "symlink", "is the input workbook: the new compare.xlsx would overwrite it"),
    ("explain", "scenario file", "explanations.html", "copy", "is the scenario file: the new explanations.html would overwrite it"),
    ("sensitivity", "input workbook", "tornado.xlsx", "hard link", "is the input workbook: the new tornado.xlsx would overwrite it"),
]


@pytest.mark.parametrize("command, kind, name, how, message", INPUT_AS_OUTPUT, ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in INPUT_AS_OUTPUT])
def test_an_input_is_never_an_output(inputs, first_plan, tmp_path, monkeypatch, command, kind, name, how, message):
    # `planner roll OUT/plan.json q2.yaml -o OUT` overwrote the plan it read; so did a scenario named plan.json in -o.
    import shutil

    from planner.core.resources import EXAMPLE_SCENARIO

    never_solve(monkeypatch)
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(inputs / "inputs.xlsx", tmp_path / "inputs.xlsx")
    # The workbook by its full path, so the scenario reads the same when it sits in -o.
    (tmp_path / "base.yaml").write_text(f"name: Base\nworkbook: {tmp_path / 'inputs.xlsx'}\ngap: 0\n", encoding="utf-8")
    (tmp_path / "other.yaml").write_text("extends: base.yaml\nname: Other\n", encoding="utf-8")
    scenario = tmp_path / "base.yaml"
    source = {"previous plan": first_plan, "scenario file": scenario, "input workbook": tmp_path / "inputs.xlsx",
              "scenario file it extends": scenario}[kind]
    if command == "demo":
        source = EXAMPLE_SCENARIO
    target = out / name
    if how == "copy":
        # The very file, read from -o: the input is target itself.
        same_name(source, target)
        source = target
    elif how == "hard link":
        try:
            os.link(source, target)
        except OSError:  # the bundled example on another file system: a symlink is the next best thing
            target.symlink_to(source)
    else:
        target.symlink_to(source)
    if kind == "scenario file it extends":
        (tmp_path / "child.yaml").write_text(f"extends: {target}\nname: Child\n", encoding="utf-8")
        scenario = tmp_path / "child.yaml"
    elif kind == "scenario file" and how == "copy":
        scenario = target
    arguments = {
        "roll": ["roll", target if kind == "previous plan" else first_plan, scenario],
        "plan": ["plan", scenario],
        "demo": ["demo"],
        "frontier": ["frontier", scenario, "--points", "2"],
        "compare": ["compare", scenario, tmp_path / "other.yaml"],
        "explain": ["explain", scenario, "--no-search"],
        "sensitivity": ["sensitivity", scenario, "--top", "0"],
    }[command]
    before = snapshot(tmp_path, EXAMPLE_SCENARIO.parent if command == "demo" else tmp_path)
    code, output = run(*arguments, "-o", out)
    assert code == 2 and f"Error: 1 problem in the inputs:\n  {target}: {message}; choose another -o" in output, output
    assert snapshot(tmp_path, EXAMPLE_SCENARIO.parent if command == "demo" else tmp_path) == before


def test_validate_a_scenario_lists_where_every_value_comes_from_and_what_was_read_for_the_user(inputs, tmp_path):
    # Every value the scenario loader defaults or coerces is visible: from the file and line, the workbook, or a default.
    (tmp_path / "inputs.xlsx").write_bytes((inputs / "inputs.xlsx").read_bytes())
    (tmp_path / "base.yaml").write_text("workbook: inputs.xlsx\ngap: 0\n", encoding="utf-8")
    (tmp_path / "cut.yaml").write_text("extends: base.yaml\nbudget:\n  per_quarter: -10%\n  total: 1,500,000\n"
                                       "forced_in: CX-101, CX-102\nhorizon_quarters: 10\n", encoding="utf-8")
    before = snapshot(tmp_path)
    code, output = run("validate", tmp_path / "cut.yaml")
    assert code == 0, output
    rows = {line.split()[0]: line for line in output.splitlines() if line.startswith("  ")}
    assert rows["name"].split()[1:] == ["cut", "default:", "the", "file's", "name"]
    assert "-10.0% of the workbook's" in rows["budget.per_quarter"] and "cut.yaml, line 3" in rows["budget.per_quarter"]
    assert "1,500,000" in rows["budget.total"] and "cut.yaml, line 4" in rows["budget.total"]
    assert "base.yaml, line 2" in rows["gap"]
    assert "the workbook (inputs.xlsx), sheet Settings" in rows["solver"] and "the workbook (inputs.xlsx)" in rows["capacity"]
    assert rows["objective"].split()[1:] == ["npv", "default"]
    assert 'note: cut.yaml, line 4, key budget.total: "1,500,000" read as 1500000 (commas as thousands separators' in output
    assert 'note: cut.yaml, line 5, key forced_in: "CX-101, CX-102" read as 2 ids: CX-101, CX-102' in output
    assert ("note: cut.yaml, line 6, key horizon_quarters: 10 quarters, the workbook budgets 8: the last quarter's budget "
            "and team capacities carry on to the end") in output
    assert 'note: cut.yaml, key name: not given: the scenario is named "cut" after its file' in output
    assert snapshot(tmp_path) == before


def test_validate_a_scenario_that_names_an_unknown_experience_exits_2_with_its_line(inputs, tmp_path):
    (tmp_path / "inputs.xlsx").write_bytes((inputs / "inputs.xlsx").read_bytes())
    (tmp_path / "s.yaml").write_text("workbook: inputs.xlsx\nforced_in: [CX-10]\n", encoding="utf-8")
    code, output = run("validate", tmp_path / "s.yaml")
    assert code == 2 and 's.yaml, line 2, key forced_in: "CX-10" is not an experience in inputs.xlsx' in output


def test_init_copies_the_example_to_plan_from_outside_the_clone(tmp_path):
    """A user who installed with pip gets the example's files and plans them from their own folder."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    planner_exe = Path(sys.executable).with_name("planner")
    work = tmp_path / "northgate"
    first = subprocess.run([str(planner_exe), "init", str(work)], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert {p.name for p in (work / "scenarios").iterdir()} >= {"base.yaml", "example-portfolio.xlsx", "q2-roll.yaml", "q2-actuals.xlsx"}
    assert "out/" in (work / ".gitignore").read_text()
    planned = subprocess.run([str(planner_exe), "plan", "scenarios/base.yaml", "-o", "out/base", "--format", "csv"],
                             cwd=work, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert planned.returncode == 0, planned.stderr
    assert "proven optimal" in planned.stdout and (work / "out" / "base" / "plan.csv").is_file()
    # A second init overwrites nothing: every file in the way is named, exit 2.
    edited = (work / "scenarios" / "base.yaml").read_text() + "\n# my edit\n"
    (work / "scenarios" / "base.yaml").write_text(edited)
    again = subprocess.run([str(planner_exe), "init", str(work)], capture_output=True, text=True)
    assert again.returncode == 2 and "base.yaml: exists already" in again.stderr and "Traceback" not in again.stderr
    assert (work / "scenarios" / "base.yaml").read_text() == edited
    forced = subprocess.run([str(planner_exe), "init", str(work), "--force"], capture_output=True, text=True)
    assert forced.returncode == 0 and "# my edit" not in (work / "scenarios" / "base.yaml").read_text()
