"""What every `planner` command shares: the command group (errors to exit codes), output
folders that are written whole and never over an input, and the plan summary as printed.

Exit codes (one place, `PlannerGroup.invoke`): 0 success, 1 unexpected planner error,
2 invalid input (workbook or scenario), 3 infeasible scenario, 4 solver failure or a plan
that failed the independent check.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from planner.core.domain import quarter_label
from planner.core.errors import InputError, PlannerError, Problem
from planner.publish import FORMATS
from planner.inputs.workbook import read_workbook

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



def read_inputs(workbook: str | Path):
    """The scenario's workbook, its warnings printed (as `validate` prints them), or InputError with every problem."""
    portfolio, errors, warnings = read_workbook(workbook)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if errors:
        raise InputError(errors, warnings)
    return portfolio


def summary(plan: Plan, kind: str = "report") -> str:
    """The plan in a page of text: status, totals, greedy comparison, funded items, binding rules.

    `kind` "quarterly" (a rolled-forward plan) names ROI and spend as on what remains (planner.core.glossary).
    """
    from planner.core.formatting import money as format_money, percent
    from planner.core.glossary import glossary, name
    from planner.reports.plan_report import plan_budget

    currency = plan.portfolio.settings.currency
    settings = plan.portfolio.settings
    money = lambda value: format_money(value, currency)  # noqa: E731
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
