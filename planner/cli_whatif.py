"""The what-if commands: frontier, compare, explain, sensitivity, the leadership workspace
(serve) and planning under uncertainty (risk). They register on planner.cli_common's group."""

from __future__ import annotations

from pathlib import Path

import click

from planner.core.errors import InputError
from planner.core.executor import MAX_DEFAULT_WORKERS, default_workers
from planner.publish import written_together
from planner.inputs.scenario import load_scenario


from planner.cli_common import (check_output, cli, keep_inputs, moved_into, output_options, parse_formats, read_inputs,
                                report_names, scenario_inputs, table)

# ---------------------------------------------------------------------------------------
# What-if analysis: frontier, compare, explain, sensitivity


def analysis_options(function):
    """Options every analysis command shares: output folder and formats, workers, solver overrides."""
    function = click.option("--gap", type=click.FloatRange(min=0, max=1),
                            help="Override the scenario's optimality gap for every solve (0.005 = 0.5%).")(function)
    function = click.option("--time-limit", type=click.FloatRange(min=1), help="Override the time limit of every solve, in seconds.")(function)
    function = click.option("--workers", type=click.IntRange(min=1), default=default_workers,
                            show_default=f"the cores this process may use, at most {MAX_DEFAULT_WORKERS}: {default_workers()} here",
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


def progress_line(what: str, unit: str = "solves"):
    """A one-line progress counter on stderr ("frontier: 12/30 solves, 41 s"), redrawn in place."""
    import time

    started = time.monotonic()

    def show(done: int, total: int) -> None:
        click.echo(f"\r{what}: {done}/{total} {unit}, {time.monotonic() - started:.0f} s", err=True, nl=done >= total)

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
    from planner.core.formatting import duration, money as format_money
    from planner.optimise.optimiser import plan_portfolio
    from planner.analysis.variants import as_seen_by
    from planner.reports.analysis_reports import build_explanations_report
    from planner.analysis.explain import _check_ids, expected_re_solves, explain as explain_plan
    from planner.core.glossary import name

    names = report_names(parse_formats(formats), "explanations")
    check_output(output, names)
    portfolio, scenario = load_for_analysis(scenario_path, time_limit, gap, output, names)
    _check_ids(portfolio, experience_ids)  # before the solve: a typo should not cost a plan
    plan_now = plan_portfolio(*as_seen_by(portfolio, scenario))
    if not no_search:
        which = f"{len(experience_ids)} experience{'' if len(experience_ids) == 1 else 's'}" if experience_ids else "every experience"
        count = expected_re_solves(plan_now, experience_ids or None, steps)
        each = plan_now.solve.solve_seconds
        click.echo(f"explain: searching {which}: about {count} re-solves of about {each:.1f} s each (the plan's own solve) on "
                   f"{workers} worker{'' if workers == 1 else 's'}, about {duration(count * each / min(workers, max(1, count)))} "
                   "(--experience ID for fewer, --no-search for the reasons alone)", err=True)
    result = explain_plan(portfolio, scenario, experience_ids or None, search=not no_search, steps=steps, workers=workers,
                          plan=plan_now, progress=progress_line("explain", "experiences searched"))
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
    for b in result.bars:
        for value, gap in b.unproven_values:
            click.echo(f"NOT proven optimal: {b.input} at {value} stopped on its time limit"
                       f"{'' if gap is None else f' with a gap of {gap:.2%}'}; its NPV is the best plan found, not the optimum")
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
