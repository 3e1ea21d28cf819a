"""The `planner` command line: parse, call the library, print, and map errors to exit codes.

The group and what the commands share are in planner.cli_common; the plan, the quarterly
roll and the workbook commands are here; the what-if commands (frontier, compare, explain,
sensitivity, serve, risk) are in planner.cli_whatif, imported here so they register.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import click

from planner.core.errors import InputError, PlannerError, Problem
from planner.publish import written_together
from planner.core.resources import EXAMPLE_SCENARIO
from planner.inputs.scenario import load_scenario
from planner.inputs.workbook import examine_workbook, read_workbook
from planner.inputs.workbook_writer import write_template

if TYPE_CHECKING:
    from planner.optimise.plan import Plan

from planner import cli_whatif  # noqa: F401  (registers the what-if commands on the group)
from planner.cli_common import (check_output, cli, keep_inputs, moved_into, output_options, parse_formats, read_inputs,
                                report_names, scenario_inputs, shorten, summary, table)

__all__ = ["cli", "main", "summary"]


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite the example's files in FOLDER if they exist.")
def init(folder: Path, force: bool) -> None:
    """Copy the example workbook and scenarios into FOLDER, ready to edit and plan.

    FOLDER gets scenarios/ (the example workbook, the actuals of its second quarter and
    every scenario file) and a .gitignore for the output folders; the commands in the
    README then work from inside FOLDER, as they do in a clone.

    \b
    Example:
      planner init northgate && cd northgate && planner plan scenarios/base.yaml -o out/base
    """
    source = EXAMPLE_SCENARIO.parent
    files = sorted(p for p in source.iterdir() if p.suffix.lower() in (".yaml", ".xlsx"))
    if not folder.parent.is_dir():
        raise InputError(Problem(str(folder), f"the folder {folder.parent} does not exist; create it first or choose another place"))
    targets = [folder / "scenarios" / p.name for p in files] + [folder / ".gitignore"]
    taken = [t for t in targets if t.exists()]
    if taken and not force:
        raise InputError([Problem(str(t), "exists already; pass --force to overwrite it or choose another folder") for t in taken])
    try:
        (folder / "scenarios").mkdir(parents=True, exist_ok=True)
        for path in files:
            shutil.copyfile(path, folder / "scenarios" / path.name)
        (folder / ".gitignore").write_text("# planner's reports: one folder per command\nout/\nplanner-output/\n", encoding="utf-8")
    except OSError as error:
        raise PlannerError(f"cannot write into {folder}: {error.strerror or error}") from error
    click.echo(f"Wrote {folder / 'scenarios'} ({len(files)} files: the example workbook and its scenarios) and {folder / '.gitignore'}")
    click.echo(f"Next: cd {folder} && planner plan scenarios/base.yaml -o out/base")


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def template(path: Path, force: bool) -> None:
    """Write a blank input workbook to fill in.

    The workbook has a sheet per table (Experiences, Options, Shared attention, Teams,
    Budget, Settings), a note on every column, drop-down lists and two example rows.

    \b
    Example:
      planner template inputs.xlsx
    """
    if path.suffix.lower() != ".xlsx":
        raise InputError(Problem(str(path), "the template is an Excel workbook: give a name ending in .xlsx"))
    if not path.parent.is_dir():
        raise InputError(Problem(str(path), f"the folder {path.parent} does not exist; create it first or choose another place"))
    if path.exists() and not force:
        raise InputError(Problem(str(path), "exists already; choose another name or pass --force to overwrite it"))
    try:
        write_template(path)
    except OSError as error:
        raise PlannerError(f"cannot write {path}: {error.strerror or error}") from error
    click.echo(f"Wrote {path}: fill in the sheets, then run: planner validate {path}")


@cli.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate(path: Path) -> None:
    """Check an input workbook and list every problem with its sheet, row and column.

    Given a scenario .yaml, check it with its workbook and list where each value in effect
    comes from (a line of the scenario, the workbook, a default) and what was read in a way
    the file does not spell out.

    Exits with 2 when the workbook has errors, 0 when it is clean (warnings allowed). A clean
    workbook's report lists every value a default stands in for (blank cells, settings left out).

    \b
    Example:
      planner validate inputs.xlsx
    """
    if path.suffix.lower() in (".yaml", ".yml"):
        return validate_scenario(path)
    examination = examine_workbook(path)
    portfolio, errors, warnings = examination.portfolio, examination.errors, examination.warnings
    for warning in warnings:
        click.echo(f"warning: {warning}")
    if errors:
        raise InputError(errors, warnings)
    for default in examination.defaults:  # every value that did not come from a cell
        click.echo(f"default: {default}")
    click.echo(f"{path}: valid. {len(portfolio.experiences)} experiences, {len(portfolio.teams)} teams, "
               f"{portfolio.horizon} quarters from {portfolio.settings.first_quarter}"
               + (f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})" if warnings else "."))


def validate_scenario(path: Path) -> None:
    """`planner validate SCENARIO.yaml`: the scenario and its workbook checked, and every value's source listed."""
    from planner.inputs.scenario import applied_notes, apply_scenario, scenario_values

    scenario = load_scenario(path)
    portfolio = read_inputs(scenario.workbook)
    apply_scenario(portfolio, scenario)  # the problems that need the workbook: unknown ids, teams, quarters
    click.echo(f'{path}: valid. Scenario "{scenario.name}" on {Path(scenario.workbook).name}: {len(portfolio.experiences)} '
               f"experiences, {len(portfolio.teams)} teams.")
    click.echo("Where each value comes from:")
    click.echo("\n".join(table([(key, shorten(value, 60), source) for key, value, source in scenario_values(portfolio, scenario)])))
    for note in (*scenario.notes, *applied_notes(portfolio, scenario)):
        click.echo(f"note: {note}")


@cli.command()
@click.argument("scenario_path", metavar="SCENARIO.yaml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@output_options
@click.option("--solver", type=click.Choice(["cbc", "highs"]), help="Override the scenario's solver.")
@click.option("--time-limit", type=click.FloatRange(min=1), help="Override the time limit in seconds.")
@click.option("--certify", is_flag=True, help="Re-solve with the second solver and say whether the two agree.")
def plan(scenario_path: Path, output: Path, formats: str, solver: str | None, time_limit: float | None, certify: bool) -> None:
    """Plan a scenario: optimise, print a summary and write the reports.

    The scenario file names the input workbook (relative to the scenario file) and may
    change the budget, the solver and its time limit, and force experiences in or out.

    \b
    Example:
      planner plan scenarios/base.yaml -o out --format html,csv
    """
    formats = parse_formats(formats)
    check_output(output, report_names(formats))
    run_plan(scenario_path, output, formats, solver, time_limit, certify)


@cli.command()
@click.argument("previous_path", metavar="PREVIOUS_PLAN.json", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("scenario_path", metavar="SCENARIO.yaml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@output_options
@click.option("--solver", type=click.Choice(["cbc", "highs"]), help="Override the scenario's solver.")
@click.option("--time-limit", type=click.FloatRange(min=1), help="Override the time limit in seconds.")
def roll(previous_path: Path, scenario_path: Path, output: Path, formats: str, solver: str | None, time_limit: float | None) -> None:
    """Re-plan next quarter from a previous plan, keeping work in flight; report what changed.

    PREVIOUS_PLAN.json is the plan.json that `planner plan` (or an earlier roll) wrote. The
    scenario names the new workbook: revised estimates, budget, and an In flight sheet with
    actuals. Planning starts at the quarter after the previous plan's first quarter (or the
    workbook's first quarter, if later); experiences already started keep their option and
    start unless the scenario lists them under stop:. Writes the quarterly report and the
    new plan.json (docs/roll.md).

    \b
    Example (the first line makes q1/plan.json):
      planner plan scenarios/q1-plan.yaml -o q1
      planner roll q1/plan.json scenarios/q2-roll.yaml -o q2
    """
    from dataclasses import replace

    from planner.publish import write_quarterly_reports
    from planner.cycle.roll import read_plan_state, roll_forward

    check_output(output, report_names(parse_formats(formats)))
    previous = read_plan_state(previous_path)
    scenario = load_scenario(scenario_path)
    keep_inputs([("previous plan", previous_path)] + scenario_inputs(scenario), output, report_names(parse_formats(formats)))
    overrides = {k: v for k, v in (("solver", solver), ("time_limit_seconds", time_limit)) if v is not None}
    scenario = replace(scenario, **overrides)
    portfolio, errors, warnings = read_workbook(scenario.workbook)
    if errors:
        raise InputError(errors, warnings)
    result = roll_forward(previous, portfolio, scenario, tuple(warnings))
    for warning in result.warnings:
        click.echo(f"warning: {warning}")
    click.echo(summary(result.plan, "quarterly"))
    click.echo("\n" + "\n".join(bridge_text(result.bridge, result.plan.portfolio.settings.currency)))
    click.echo("\n" + "\n".join(changes_text(result)))
    with written_together(output) as staging:
        written = moved_into(output, write_quarterly_reports(result, staging, parse_formats(formats)))
    click.echo("\nWrote " + ", ".join(str(path) for path in written))


def bridge_text(bridge, currency: str) -> list[str]:
    """The NPV bridge of a roll: the previous plan's NPV, each cause in order, this plan's NPV."""
    from planner.core.formatting import money as format_money

    money = lambda value: format_money(value, currency)  # noqa: E731
    signed = lambda value: ("+" if value > 0.5 else "") + money(value)  # noqa: E731
    rows = [("Step", "How it was found", "NPV change", "NPV after"),
            (f"previous plan, from {bridge.previous_first_quarter}", "as planned", "", money(bridge.previous_npv))]
    rows += [(s.label, s.how, signed(s.change), money(s.npv_after)) for s in bridge.steps]
    rows.append((f"this plan, from {bridge.first_quarter}", "", signed(bridge.change), money(bridge.npv)))
    return [f"NPV bridge from the previous plan ({bridge.previous_scenario}) to this one: {signed(bridge.change)}"] + table(rows, right=(2, 3))


def changes_text(result) -> list[str]:
    """What changed since the previous plan, one line per experience with its reasons."""
    from planner.core.formatting import money as format_money

    lines = [f"Changes since the previous plan ({result.previous.scenario}, from {result.previous.first_quarter}): {len(result.changes)}; "
             f"NPV and spend against the previous plan restated to {result.plan.quarters[0]}; [cause]: the bridge step at which it changed"]
    for note in result.notes:
        lines.append(f"  note: {note}")
    currency = result.plan.portfolio.settings.currency
    for change in result.changes:
        cause = f"[{change.cause_label}] " if change.cause_label else ""
        lines.append(f"  {change.id:8} {change.kind:22} NPV {format_money(change.npv_delta, currency):>12}  "
                     f"spend {format_money(change.spend_delta, currency):>12}  {cause}{change.reason}")
    return lines


@cli.command()
@output_options
@click.option("--certify", is_flag=True, help="Re-solve with the second solver and say whether the two agree.")
def demo(output: Path, formats: str, certify: bool) -> None:
    """Plan the bundled example portfolio (scenarios/base.yaml) and write its reports.

    \b
    Example:
      planner demo -o planner-output
    """
    if not EXAMPLE_SCENARIO.is_file():
        raise PlannerError(f"the bundled example is missing ({EXAMPLE_SCENARIO}); reinstall planner")
    formats = parse_formats(formats)
    check_output(output, report_names(formats))
    run_plan(EXAMPLE_SCENARIO, output, formats, None, None, certify)


def run_plan(scenario_path: Path, output: Path, formats: tuple[str, ...], solver: str | None, time_limit: float | None,
             certify: bool = False) -> None:
    from dataclasses import replace

    from planner.optimise.optimiser import plan_portfolio
    from planner.publish import write_reports
    from planner.cycle.roll import FILE_NAME as PLAN_STATE
    from planner.cycle.roll import write_plan_state

    scenario = load_scenario(scenario_path)
    keep_inputs(scenario_inputs(scenario), output, report_names(formats))
    overrides = {k: v for k, v in (("solver", solver), ("time_limit_seconds", time_limit)) if v is not None}
    scenario = replace(scenario, **overrides, certify=scenario.certify or certify)
    portfolio = read_inputs(scenario.workbook)
    result = plan_portfolio(portfolio, scenario)
    click.echo(summary(result))
    bundles = value_enablers(result)
    with written_together(output) as staging:
        written = write_reports(result, staging, formats, bundles)
        # The plan state lets next quarter's `planner roll` start from this plan.
        written.append(write_plan_state(result, staging / PLAN_STATE))
    written = moved_into(output, written)
    click.echo("\nWrote " + ", ".join(str(path) for path in written))


# Valuing an enabler takes one re-solve; past this many the report lists the bundles without
# the with/without comparison (say so, rather than make a large portfolio's plan slow).
MAX_ENABLERS_VALUED = 40


def value_enablers(plan: Plan):
    """Each enabler's bundle valued by re-solving without it (or with it), or None when there are too many."""
    from planner.analysis.bundles import enabler_bundles, enabler_ids

    count = len(enabler_ids(plan.portfolio))
    if count > MAX_ENABLERS_VALUED:
        click.echo(f"\n{count} backstage experiences: the report lists their bundles without what each unlocks "
                   f"(that takes one re-solve each; at most {MAX_ENABLERS_VALUED} are valued).")
        return None
    if not count:
        return ()
    from planner.cli_whatif import progress_line
    from planner.core.executor import default_workers

    # One re-solve each, on every core (as the analysis commands do): seven took 17 s of the
    # example's 27 s `planner demo` one after the other, with nothing on the screen meanwhile.
    return enabler_bundles(plan, workers=min(default_workers(), count),
                           progress=progress_line("valuing each enabler (a re-solve without it)", "re-solves"))


def main() -> None:
    cli(prog_name="planner")
