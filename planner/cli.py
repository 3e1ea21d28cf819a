"""The `planner` command line: parse, call the library, print, and map errors to exit codes.

Exit codes (one place, `PlannerGroup.invoke`): 0 success, 1 unexpected planner error,
2 invalid input (workbook or scenario), 3 infeasible scenario, 4 solver failure or a plan
that failed the independent check.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import click

from planner.core.domain import quarter_label
from planner.core.errors import InputError, PlannerError, Problem
from planner.publish import FORMATS, written_together
from planner.core.resources import EXAMPLE_SCENARIO
from planner.inputs.scenario import load_scenario
from planner.inputs.workbook import examine_workbook, read_workbook
from planner.inputs.workbook_writer import write_template

if TYPE_CHECKING:
    from planner.optimise.plan import Plan

# The optimiser (PuLP, numpy) is imported by the commands that plan, so `validate` and
# `template` start in a fraction of the time.

class PlannerGroup(click.Group):
    """Turns the project's own errors into a clear message on stderr and their exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PlannerError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(error.exit_code)


@click.group(cls=PlannerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="planner")
def cli() -> None:
    """Plan where customer-experience money goes: an optimiser over finance's workbook.

    \b
    Start here:
      planner demo                      plan the bundled example
      planner init DIR                  copy the example into DIR to edit
      planner template inputs.xlsx      a blank input workbook to fill in
      planner validate inputs.xlsx      list every problem in a workbook
      planner plan scenarios/base.yaml  plan a scenario and write the reports
    """


def parse_formats(value: str) -> tuple[str, ...]:
    formats = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise click.BadParameter(f"choose from {', '.join(FORMATS)} (comma-separated), not {value!r}", param_hint="'--format'")
    return formats


def report_names(formats: tuple[str, ...], kind: str | None = None) -> list[str]:
    """The files a command writes into -o: a plan's reports and plan.json, or an analysis's <kind>.<format>."""
    if kind is not None:
        return [f"{kind}.{f}" for f in formats]
    from planner.publish import PLAN_FILE_NAMES as FILE_NAMES
    from planner.cycle.roll import FILE_NAME as PLAN_STATE

    return [FILE_NAMES[f] for f in formats] + [PLAN_STATE]


def check_output(output: Path, names: list[str]) -> None:
    """Before any solving: the -o folder must be one the reports can be written into.

    A folder that is a file, sits under a file, cannot be written, or holds a folder where a
    report goes is a usage error (exit 2) now, not a traceback after minutes of solving.
    """
    existing = output
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        found = "is a file" if existing == output else f"is inside {existing}, which is a file"
        raise click.BadParameter(f"{output} {found}; give a folder for the reports", param_hint="'-o' / '--output'")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise click.BadParameter(f"{output}: cannot write in {existing} (permission denied); give a folder you can write to",
                                 param_hint="'-o' / '--output'")
    blocked = [name for name in names if (output / name).is_dir()]
    if blocked:
        raise click.BadParameter(f"{output} holds a folder named {', '.join(blocked)} where a report goes; move it or choose another -o",
                                 param_hint="'-o' / '--output'")


def keep_inputs(inputs: list[tuple[str, str | Path]], output: Path, names: list[str]) -> None:
    """Refuse, before any solving, to write a report over an input: an input is never an output.

    `inputs` are (what it is, path): the scenario file, the files it extends, the workbook,
    the previous plan. Compared as files, not names (os.path.samefile), so a symlink or a
    hard link to an input in the -o folder is caught too.
    """
    problems = []
    for name in names:
        target = output / name
        if not target.exists():
            continue  # a file that does not exist yet is no input
        for what, path in inputs:
            if Path(path).exists() and os.path.samefile(target, path):
                problems.append(Problem(str(target), f"is the {what}: the new {name} would overwrite it; choose another -o"))
    if problems:
        raise InputError(problems)


def scenario_inputs(scenario) -> list[tuple[str, str | Path]]:
    """The files a loaded scenario was read from: the scenario, what it extends, its workbook."""
    return ([("scenario file", scenario.source)] + [("scenario file it extends", path) for path in scenario.extends]
            + [("input workbook", scenario.workbook)])


def moved_into(output: Path, written: list[Path]) -> list[Path]:
    """The paths the staged files have in `output`."""
    return [output / path.name for path in written]


def output_options(function):
    function = click.option("-o", "--output", "output", type=click.Path(file_okay=False, path_type=Path),
                            default=Path("planner-output"), show_default=True, help="Folder for the reports.")(function)
    function = click.option("--format", "formats", default="html,xlsx,csv", show_default=True,
                            help="Which reports to write: html, xlsx, csv, comma-separated.")(function)
    return function


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


def read_inputs(workbook: str | Path):
    """The scenario's workbook, its warnings printed (as `validate` prints them), or InputError with every problem."""
    portfolio, errors, warnings = read_workbook(workbook)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if errors:
        raise InputError(errors, warnings)
    return portfolio


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
    return enabler_bundles(plan) if count else ()


def summary(plan: Plan, kind: str = "report") -> str:
    """The plan in a page of text: status, totals, greedy comparison, funded items, binding rules.

    `kind` "quarterly" (a rolled-forward plan) names ROI and spend as on what remains (planner.core.glossary).
    """
    from planner.core.formatting import marginal_value, money as format_money, percent
    from planner.core.glossary import glossary, name
    from planner.reports.plan_report import plan_budget

    currency = plan.portfolio.settings.currency
    settings = plan.portfolio.settings
    money = lambda value: format_money(value, currency)  # noqa: E731
    solve = plan.solve
    lines = [f"Plan: {plan.scenario.name} (workbook {Path(plan.portfolio.source).name or 'in memory'})", status_line(plan)]
    budget = plan_budget(plan.portfolio)
    words = glossary(kind)
    roi = percent(plan.roi) if plan.roi is not None else "n/a"
    payback = quarter_label(settings, plan.payback_quarter) if plan.payback_quarter is not None else "not within the horizon"
    lines += [
        f"NPV {money(plan.npv)}   PV benefit {money(plan.pv_benefit)}   PV cost {money(plan.pv_cost)}   {words.roi.name} {roi}   payback {payback}",
        (f"{words.spend.name} {money(plan.total_spend)} of a {money(budget)} budget ({plan.total_spend / budget:.0%})" if budget
         else f"{words.spend.name} {money(plan.total_spend)}"),
        greedy_line(plan),
        "",
        f"Funded: {len(plan.funded)} of {len(plan.decisions)} experiences",
    ]
    rows = [("ID", "Name", "Option", "Start", "Live", words.spend.name, "NPV", words.roi.name)]
    for d in sorted(plan.funded, key=lambda d: (d.start_quarter, -d.npv)):
        rows.append((d.experience.id, shorten(d.experience.name, 40), d.option, quarter_label(settings, d.start_quarter),
                     quarter_label(settings, d.go_live_quarter), money(d.total_spend), money(d.npv),
                     percent(d.roi) if d.roi is not None else "n/a"))
    lines += table(rows, right=(5, 6, 7))
    binding = plan.binding_rules
    lines += ["", f"Binding constraints: {len(binding)}" if binding else "Binding constraints: none"]
    rule_rows = [("Rule", "Used", "Limit", name("shadow_value"))]
    for rule in binding:
        rule_rows.append((rule.label,) + rule_use_cells(rule, currency))
    if binding:
        lines += table(rule_rows, right=(1, 2))
    lines += ["", f"Not funded: {len(plan.not_funded)} (each with its reason in the reports)"]
    return "\n".join(lines)


def rule_use_cells(rule, currency: str) -> tuple[str, str, str]:
    """(used, limit, what one more unit is worth) of a binding rule, in the rule's own unit.

    A balance share or the ROI hurdle has no "one more unit": its shadow price is per unit of
    a weighted sum, not per point of share or ROI, so no figure is printed for it.
    """
    from planner.core.formatting import marginal_value, money as format_money

    if rule.unit == currency:
        return format_money(rule.used, currency), format_money(rule.limit, currency), marginal_value(rule.marginal_value, currency, currency)
    if rule.unit == "team-weeks":  # a team's capacity, or what may be bought of it (hiring)
        return f"{rule.used:,.1f}", f"{rule.limit:,.1f} team-weeks", marginal_value(rule.marginal_value, "team-weeks", currency)
    shown = (lambda value: f"{value:.1%}") if rule.kind == "balance" else (lambda value: f"{value:.2f}")
    return shown(rule.used), f"{rule.sense} {shown(rule.limit)}", "easing it would raise NPV"


def status_line(plan: Plan) -> str:
    solve = plan.solve
    timing = f"{solve.solver.upper()}, {solve.build_seconds + solve.solve_seconds + solve.check_seconds:.1f} s"
    gap = f"{solve.gap:.2%}" if solve.gap is not None else "unknown"
    if solve.certificate is not None and not solve.certificate.agree:
        return f"Status: NOT proven optimal: {solve.certificate.message} ({timing})"
    certified = f"; {solve.certificate.message}" if solve.certificate is not None else ""
    if solve.status == "optimal" and solve.gap_target > 0:
        return (f"Status: proven optimal within the {solve.gap_target:.2%} gap target: no plan is more than {gap} "
                f"better ({timing}){certified}")
    if solve.status == "optimal":
        return f"Status: proven optimal (gap {gap}; {timing}){certified}"
    if solve.status == "feasible":
        return f"Status: NOT proven optimal: stopped at the {solve.time_limit_seconds:g} s time limit with a gap of {gap} ({timing})"
    return (f"Status: NOT proven optimal: the solver gave no plan within {solve.time_limit_seconds:g} s; this is "
            f"{solve.heuristic or 'the greedy ROI ranking'}, {gap} below the LP bound ({timing})")


def greedy_line(plan: Plan) -> str:
    from planner.core.formatting import money as format_money

    currency = plan.portfolio.settings.currency
    greedy = plan.greedy
    if not greedy.feasible:
        return f"Greedy ROI ranking: no valid plan ({greedy.message})"
    gain = plan.gain_over_greedy
    share = f" (+{gain / abs(greedy.npv):.0%})" if greedy.npv > 0 else ""
    return f"Greedy ROI ranking: NPV {format_money(greedy.npv, currency)}; the optimum gains {format_money(gain, currency)}{share}"


def shorten(text: str, width: int) -> str:
    """Text cut to `width` characters, with an ellipsis where it was cut."""
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def table(rows: list[tuple], right: tuple[int, ...] = ()) -> list[str]:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [str(v).rjust(w) if i in right else str(v).ljust(w) for i, (v, w) in enumerate(zip(row, widths))]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def main() -> None:
    cli(prog_name="planner")


# ---------------------------------------------------------------------------------------
# What-if analysis: frontier, compare, explain, sensitivity


def analysis_options(function):
    """Options every analysis command shares: output folder and formats, workers, solver overrides."""
    function = click.option("--gap", type=click.FloatRange(min=0, max=1),
                            help="Override the scenario's optimality gap for every solve (0.005 = 0.5%).")(function)
    function = click.option("--time-limit", type=click.FloatRange(min=1), help="Override the time limit of every solve, in seconds.")(function)
    function = click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
                            help="Worker processes for the re-solves (each solve also uses a second process for its LP bound).")(function)
    return output_options(function)


def write_analysis(report, rows, output: Path, formats: str) -> None:
    """Write the what-if report's files (<kind>.html, .xlsx, .csv) and say where."""
    from planner.publish import write_report as write_analysis_reports

    with written_together(output) as staging:
        written = moved_into(output, write_analysis_reports(report, rows, staging, parse_formats(formats)))
    click.echo("\nWrote " + ", ".join(str(path) for path in written))


def load_for_analysis(scenario_path: Path, time_limit: float | None, gap: float | None, output: Path, names: list[str]):
    """(portfolio, scenario) with the command line's solver overrides; the reports (`names` in `output`) must not be the input."""
    from dataclasses import replace

    scenario = load_scenario(scenario_path)
    keep_inputs(scenario_inputs(scenario), output, names)
    overrides = {k: v for k, v in (("time_limit_seconds", time_limit), ("gap", gap)) if v is not None}
    scenario = replace(scenario, **overrides)
    return read_inputs(scenario.workbook), scenario


def progress_line(what: str):
    """A one-line progress counter on stderr ("frontier: 12/30 solves, 41 s"), redrawn in place."""
    import time

    started = time.monotonic()

    def show(done: int, total: int) -> None:
        click.echo(f"\r{what}: {done}/{total} solves, {time.monotonic() - started:.0f} s", err=True, nl=done >= total)

    return show


def ratio(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def short_list(ids, limit: int = 4) -> str:
    ids = list(ids)
    return " ".join(ids[:limit]) + (f" +{len(ids) - limit}" if len(ids) > limit else "")


@cli.command()
@click.argument("scenario_path", metavar="SCENARIO.yaml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--points", type=click.IntRange(min=2, max=200), default=30, show_default=True, help="How many budgets to solve.")
@analysis_options
def frontier(scenario_path: Path, points: int, workers: int, output: Path, formats: str, time_limit: float | None, gap: float | None) -> None:
    """The efficient frontier: the best NPV at each total budget, and what the next million buys.

    Solves the scenario from the cost of what must be funded to the budget where NPV stops
    rising, scaling every quarter's budget (and the total) by the same factor, with more
    points where the curve bends; the scenario's own budget is planned too (the chosen
    point). Writes frontier.html (with a budget slider), frontier.xlsx and frontier.csv.

    \b
    Example:
      planner frontier scenarios/base.yaml --points 30 --workers 2 -o out
    """
    from planner.core.formatting import money as format_money
    from planner.analysis.variants import Solve, as_seen_by, solve
    from planner.reports.analysis_reports import build_frontier_report
    from planner.analysis.frontier import efficient_frontier
    from planner.core.formatting import percent
    from planner.core.glossary import name, term

    names = report_names(parse_formats(formats), "frontier")
    check_output(output, names)  # a typo should not cost a frontier
    portfolio, scenario = load_for_analysis(scenario_path, time_limit, gap, output, names)
    result = efficient_frontier(portfolio, scenario, points=points, workers=workers, progress=progress_line("frontier"))
    applied, rules = as_seen_by(portfolio, scenario)
    # The scenario's own plan: the chosen point. A budget too small for the rules still has a frontier.
    chosen = solve(Solve(applied, rules))
    currency = result.currency
    money = lambda value: format_money(value, currency) if value is not None else "n/a"  # noqa: E731
    rows = [("Budget", "NPV", "ROI", name("frontier_slope"), name("scaled_budget_shadow_value"), "Funded", "Entered", "Left", "")]
    for p in result.points:
        mark = " ".join(m for m, on in (("knee", p.budget == result.knee_budget), ("scenario", abs(p.scale - 1) < 1e-9)) if on)
        rows.append((money(p.budget), money(p.npv) if p.feasible else p.status, percent(p.roi), ratio(p.marginal_npv), ratio(p.budget_marginal_value),
                     str(len(p.funded)), short_list(p.entered), short_list(p.left), mark))
    click.echo(f"Efficient frontier: {result.scenario} ({len(result.points)} budgets from {money(result.lowest_budget)} "
               f"to {money(result.saturation_budget)}, where NPV stops rising; the scenario's budget is {money(result.scenario_budget)})")
    click.echo("\n".join(table(rows, right=(0, 1, 2, 3, 4, 5))))
    for key in ("frontier_slope", "scaled_budget_shadow_value"):
        click.echo(f"{name(key)}: {term(key).definition}")
    if result.knee is not None:
        click.echo(f"Knee: {money(result.knee.budget)} (NPV {money(result.knee.npv)}): past it each extra {currency} buys less and less.")
    report = build_frontier_report(result, applied, chosen.plan, "no plan in time" if chosen.error else "infeasible")
    summary = report.section("frontier_summary")
    if chosen.feasible:
        click.echo(f"At the scenario's budget of {money(summary.chosen_budget)}: NPV {money(summary.chosen_npv)}; "
                   f"{name('scaled_budget_shadow_value').lower()} {ratio(summary.chosen_lp_marginal)} NPV per extra {currency}.")
    else:
        click.echo(f"At the scenario's budget of {money(summary.chosen_budget)}: no plan ({summary.chosen_status}).")
    write_analysis(report, result.to_rows(), output, formats)


@cli.command()
@click.argument("scenario_paths", metavar="A.yaml B.yaml [C.yaml ...]", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@analysis_options
def compare(scenario_paths: tuple[Path, ...], workers: int, output: Path, formats: str, time_limit: float | None, gap: float | None) -> None:
    """Compare scenarios: totals, experiences funded in one and not another (with the reason), spend shifts.

    The first scenario is the reference. Writes compare.html, compare.xlsx and compare.csv.

    \b
    Example:
      planner compare scenarios/base.yaml scenarios/budget-cut-10.yaml scenarios/pessimistic-uplift.yaml
    """
    from planner.analysis.compare import compare_plans, plan_scenarios
    from planner.reports.analysis_reports import build_comparison_report

    if len(scenario_paths) < 2:
        raise click.UsageError("give at least two scenario files to compare")
    names = report_names(parse_formats(formats), "compare")
    check_output(output, names)
    loaded, problems, warnings = [], [], []
    for path in scenario_paths:  # every scenario's problems in one pass, not the first file's alone
        try:
            loaded.append(load_for_analysis(path, time_limit, gap, output, names))
        except InputError as error:
            problems += error.problems
            warnings += error.warnings
    if problems:  # scenarios that share a workbook or a parent would say its problems once each
        raise InputError(list(dict.fromkeys(problems)), list(dict.fromkeys(warnings)))
    plans = plan_scenarios([p for p, _ in loaded], [s for _, s in loaded], workers, progress_line("compare"))
    names = unique_names([s.name for _, s in loaded])
    result = compare_plans(plans, names)
    click.echo("\n".join(comparison_text(result)))
    write_analysis(build_comparison_report(result, plans[0]), result.to_rows(), output, formats)


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def comparison_text(result) -> list[str]:
    from planner.core.formatting import money as format_money, percent

    money = lambda value: format_money(value, result.currency)  # noqa: E731
    rows = [("",) + tuple(result.scenarios)]
    rows.append(("NPV",) + tuple(money(t.npv) for t in result.totals))
    rows.append(("ROI",) + tuple(percent(t.roi) for t in result.totals))
    rows.append(("Spend",) + tuple(money(t.spend) for t in result.totals))
    rows.append(("Budget",) + tuple(money(t.budget) for t in result.totals))
    rows.append(("Funded",) + tuple(str(t.funded) for t in result.totals))
    rows.append(("Like for like",) + tuple("reference" if n == 0 else "yes" if t.like_for_like else "NO" for n, t in enumerate(result.totals)))
    lines = ["Totals"] + table(rows, right=tuple(range(1, len(rows[0]))))
    lines += [f"  not like for like: {t.name} assumes {'; '.join(t.assumptions)}: its NPV rests on other estimates"
              for t in result.totals if not t.like_for_like]
    signed = lambda value: ("+" if value > 0.5 else "") + money(value)  # noqa: E731
    lines += ["", f"Differences from {result.scenarios[0]}: {len(result.differences)} entered or left, "
                  f"{len(result.choice_changes)} with another option or start"]
    for d in result.differences:
        lines.append(f"  {d.change:7} in {d.other}: {d.experience_id} {d.name[:40]} ({d.reference_choice} -> {d.other_choice}); "
                     f"spend {signed(d.spend_change)}, NPV {signed(d.npv_change)}")
        lines.append(f"           because {d.reason}")
    for c in result.choice_changes:
        lines.append(f"  {c.kind} in {c.other}: {c.experience_id} {c.name[:40]} ({c.reference_choice} -> {c.other_choice}); "
                     f"spend {signed(c.spend_change)}, NPV {signed(c.npv_change)}")
        lines.append(f"           because {c.reason}")
    moved = [s for s in result.shifts if s.dimension != "quarter" and max(s.spend) - min(s.spend) > 1e-6]
    if moved:
        lines += ["", "Spend that moved"]
        lines += table([("Where",) + tuple(result.scenarios)]
                       + [(f"{s.dimension.replace('_', ' ')}: {s.value}",) + tuple(money(v) for v in s.spend) for s in moved],
                       right=tuple(range(1, len(result.scenarios) + 1)))
    return lines


@cli.command()
@click.argument("scenario_path", metavar="SCENARIO.yaml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--experience", "experience_ids", multiple=True, metavar="ID", help="Explain only this experience (repeatable).")
@click.option("--steps", type=click.IntRange(min=0, max=8), default=2, show_default=True,
              help="Halvings of each what-it-takes search (each one re-solve).")
@click.option("--no-search", is_flag=True, help="Only the reasons from the plan: no re-solves.")
@analysis_options
def explain(scenario_path: Path, experience_ids: tuple[str, ...], steps: int, no_search: bool, workers: int, output: Path,
            formats: str, time_limit: float | None, gap: float | None) -> None:
    """Why each experience is in or out, and what it would take to change that.

    For each experience not funded: the reason in plain words and the uplift or cost
    multiplier at which it enters; for each funded one: the NPV the plan loses without it.
    The searches re-solve the plan a few times per experience: use --experience to explain
    a few, or --no-search for the reasons alone. Writes explanations.html, explanations.xlsx
    and explanations.csv.

    \b
    Example:
      planner explain scenarios/base.yaml --experience CX-404 --experience CX-301
    """
    from planner.core.formatting import money as format_money
    from planner.optimise.optimiser import plan_portfolio
    from planner.analysis.variants import as_seen_by
    from planner.reports.analysis_reports import build_explanations_report
    from planner.analysis.explain import _check_ids, explain as explain_plan
    from planner.core.glossary import name

    names = report_names(parse_formats(formats), "explanations")
    check_output(output, names)
    portfolio, scenario = load_for_analysis(scenario_path, time_limit, gap, output, names)
    _check_ids(portfolio, experience_ids)  # before the solve: a typo should not cost a plan
    plan_now = plan_portfolio(*as_seen_by(portfolio, scenario))
    result = explain_plan(portfolio, scenario, experience_ids or None, search=not no_search, steps=steps, workers=workers,
                          plan=plan_now, progress=progress_line("explain"))
    money = lambda value: format_money(value, result.currency)  # noqa: E731
    click.echo(f"Explanations: {result.scenario} (plan NPV {money(result.plan_npv)})")
    for e in result.items:
        state = f"funded ({e.choice})" if e.funded else "not funded"
        click.echo(f"\n{e.experience_id} {e.name}: {state}\n  why: {e.reason}")
        if e.npv_loss is not None:
            extra = f"; {' '.join(e.leave_with_it)} would leave with it" if e.leave_with_it else ""
            click.echo(f"  {name('npv_lost_without_it')}: {money(e.npv_loss)}{extra}")
        if e.to_enter:
            click.echo(f"  {e.to_enter}")
    write_analysis(build_explanations_report(result, plan_now), result.to_rows(), output, formats)


@cli.command()
@click.argument("scenario_path", metavar="SCENARIO.yaml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--top", type=click.IntRange(min=0, max=50), default=8, show_default=True,
              help="Vary the uplift of this many funded experiences (most NPV first).")
@analysis_options
def sensitivity(scenario_path: Path, top: int, workers: int, output: Path, formats: str, time_limit: float | None, gap: float | None) -> None:
    """Which inputs move the plan most: a tornado of NPV with each input at its low and high value.

    Uplift low/high of the top funded experiences, and budget +-10%, discount rate +-2
    points, costs +-20%, capacity +-10%, every uplift low/high; each end is a re-solve.
    Writes tornado.html, tornado.xlsx and tornado.csv.

    \b
    Example:
      planner sensitivity scenarios/base.yaml --top 8 -o out
    """
    from planner.core.formatting import money as format_money
    from planner.optimise.optimiser import plan_portfolio
    from planner.analysis.variants import as_seen_by, sensitivity as tornado
    from planner.reports.analysis_reports import build_tornado_report

    names = report_names(parse_formats(formats), "tornado")
    check_output(output, names)
    portfolio, scenario = load_for_analysis(scenario_path, time_limit, gap, output, names)
    plan_now = plan_portfolio(*as_seen_by(portfolio, scenario))
    result = tornado(portfolio, scenario, top=top, workers=workers, progress=progress_line("sensitivity"), base=plan_now)
    money = lambda value: format_money(value, result.currency) if value is not None else "infeasible"  # noqa: E731
    rows = [("Input", "Low", "High", "NPV at low", "NPV at high", "Swing")]
    for b in result.bars:
        rows.append((b.input, b.low, b.high, money(b.npv_low), money(b.npv_high), money(b.swing) if b.swing != float("inf") else "n/a"))
    click.echo(f"Sensitivity: {result.scenario} (plan NPV {money(result.base_npv)}), widest swing first")
    click.echo("\n".join(table(rows, right=(3, 4, 5))))
    write_analysis(build_tornado_report(result, plan_now), result.to_rows(), output, formats)


# ---------------------------------------------------------------------------------------
# The leadership workspace


@cli.command()
@click.argument("scenario_path", metavar="SCENARIO.yaml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to answer on. Any address but loopback needs the token.")
@click.option("--port", type=click.IntRange(min=1, max=65535), default=8765, show_default=True)
@click.option("--token", help="The token a browser or script must present (made up and printed if a non-loopback host is given without one).")
@click.option("--time-limit", type=click.FloatRange(min=1), default=30.0, show_default=True, help="Longest any one solve may run, in seconds.")
@click.option("--workers", type=click.IntRange(min=1, max=8), default=2, show_default=True, help="Solves run at once; more wait in a queue.")
def serve(scenario_path: Path, host: str, port: int, token: str | None, time_limit: float, workers: int) -> None:
    """The leadership workspace: move budgets, capacity and rules in the browser; each change re-plans.

    Plans the scenario (the plan of record), then serves a page where every change is
    re-optimised and compared with it, and a JSON API (GET/POST /api/plan) behind it. Stop
    with Ctrl+C. Nothing is saved except what you download.

    \b
    Example:
      planner serve scenarios/base.yaml
    """
    from planner.serve import serve as run
    from planner.serve.guard import is_loopback, new_token

    if token is None and not is_loopback(host):
        token = new_token()
        click.echo(f"Serving on {host}: every request needs this token (it is in the URL below): {token}")
    click.echo(f"Planning {scenario_path} (the plan of record)...")
    try:
        run(scenario_path, host, port, token, time_limit, workers,
            announce=lambda address: click.echo(f"Leadership workspace: {address}\nStop with Ctrl+C."))
    except KeyboardInterrupt:  # uvicorn passes Ctrl+C on once it has shut down
        click.echo("Stopped.")


@cli.command("risk")
@click.argument("scenario_path", metavar="SCENARIO.yaml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--draws", type=click.IntRange(min=20), help="Monte Carlo draws (default: the scenario's risk.draws, else 2,000).")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed (default: the scenario's risk.seed, else 0).")
@click.option("--scheduler", metavar="ADDRESS", help="Run the re-solves on this Dask scheduler (tcp://HOST:PORT; or PLANNER_SCHEDULER).")
@analysis_options
def risk_command(scenario_path: Path, draws: int | None, seed: int | None, scheduler: str | None, workers: int, output: Path,
                 formats: str, time_limit: float | None, gap: float | None) -> None:
    """How sure the plan is, which experiences are sure to be in it, what to research first, and a robust plan.

    The plan's NPV as a distribution (seeded Monte Carlo on the low/base/high estimates),
    the optimizer's curse, core/borderline/exterior from re-solves, the value of
    information, a plan with a CVaR floor beside the base plan, and the contingency
    reserve. Scenario keys risk: and robust: set the details. Writes risk.html, risk.xlsx
    and risk.csv; the same seed gives the same files.

    \b
    Example:
      planner risk scenarios/base.yaml --draws 5000 --seed 1 -o out
    """
    from planner.analysis.uncertainty import analyse_risk
    from planner.render.risk_text import risk_text
    from planner.reports.risk_report import build_risk_report, risk_rows

    names = report_names(parse_formats(formats), "risk")
    check_output(output, names)
    portfolio, scenario = load_for_analysis(scenario_path, time_limit, gap, output, names)
    analysis = analyse_risk(portfolio, scenario, draws, seed, workers, scheduler, progress_line)
    report = build_risk_report(analysis)
    click.echo("\n".join(risk_text(report)))
    write_analysis(report, risk_rows(report), output, formats)
