"""Applying a scenario to a portfolio: the problems that need both, the portfolio as the scenario
sees it, and where each value in effect comes from (planner validate SCENARIO.yaml).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import replace
from pathlib import Path

from planner.core.domain import Experience, Portfolio, Team, normalise_id, normalise_quarter, quarter_label
from planner.core.errors import InputError, Problem
from planner.inputs.scenario_types import ADJUST_FACTORS, ALL_TEAMS, FILTER_KEYS, Amount, Filter, Scenario, key_place
from planner.rules import FAMILIES
from planner.rules.base import did_you_mean

# ---------------------------------------------------------------------------------------
# Applying a scenario to a portfolio


def scenario_problems(portfolio: Portfolio, scenario: Scenario) -> list[Problem]:
    """Problems that need both the scenario and the portfolio: unknown ids, teams, quarters, values."""
    workbook = Path(portfolio.source).name or "the portfolio"
    known = {e.key for e in portfolio.experiences}
    in_flight = {e.key for e in portfolio.experiences if e.commitment is not None}
    stopped = {normalise_id(ref) for ref in scenario.stop}
    problems = [
        Problem(key_place(scenario, key), f'"{ref}" is not an experience in {workbook}{did_you_mean(ref, [e.id for e in portfolio.experiences])}')
        for key in ("forced_in", "forced_out", "stop")
        # A stopped experience is listed in forced_out too (load_scenario): report it once, under stop.
        for ref in getattr(scenario, key)
        if normalise_id(ref) not in known and not (key == "forced_out" and normalise_id(ref) in stopped)
    ]
    problems += [Problem(key_place(scenario, "stop"), f'"{ref}" is not in flight in {workbook}: to leave out work that has not started, use forced_out')
                 for ref in scenario.stop if normalise_id(ref) in known and normalise_id(ref) not in in_flight]
    horizon = scenario.horizon_quarters or portfolio.horizon
    settings = replace(portfolio.settings, horizon_quarters=horizon)
    labels = {quarter_label(settings, q) for q in range(horizon)}

    def check_amounts(key: str, per_quarter, by_quarter) -> None:
        if per_quarter is not None and len(per_quarter) not in (1, horizon):
            problems.append(Problem(key_place(scenario, key), f"has {len(per_quarter)} values; give one, or one per quarter ({horizon})"))
        for label, _ in by_quarter:
            if _quarter_key(settings, label) not in labels:
                problems.append(Problem(key_place(scenario, f"{key}.{label}"), f"is not a quarter of the horizon ({quarter_label(settings, 0)} to {quarter_label(settings, horizon - 1)})"))

    check_amounts("budget.per_quarter", scenario.budget_per_quarter, scenario.budget_by_quarter)
    team_names = {team.name.casefold() for team in portfolio.teams}
    for team, per_quarter, by_quarter in scenario.capacity:
        if team.casefold() not in team_names and team.casefold() != ALL_TEAMS:
            problems.append(Problem(key_place(scenario, f"capacity.{team}"), f'"{team}" is not a team in {workbook}{did_you_mean(team, [t.name for t in portfolio.teams])}'))
        check_amounts(f"capacity.{team}", per_quarter, by_quarter)
    for n, adjustment in enumerate(scenario.adjustments):
        problems += _filter_problems(portfolio, adjustment.where, scenario, f"adjust[{n}].where")
    for family in FAMILIES:
        if family.problems is not None:
            problems += family.problems(portfolio, scenario, lambda key_path: key_place(scenario, key_path))
    return problems



def _filter_problems(portfolio: Portfolio, where_filter: Filter, scenario: Scenario, key_path: str) -> list[Problem]:
    problems = []
    for key in FILTER_KEYS:
        known = sorted({e.id if key == "id" else getattr(e, key) for e in portfolio.experiences})
        known_keys = {normalise_id(k) for k in known}
        for value in getattr(where_filter, key):
            if normalise_id(value) not in known_keys:
                listing = "" if key == "id" else f'; known: {", ".join(known)}'
                problems.append(Problem(key_place(scenario, f"{key_path}.{key}"), f'"{value}" matches no experience{did_you_mean(value, known)}{listing}'))
    return problems


def _quarter_key(settings, label: str) -> str | None:
    """A scenario's quarter (2027Q3 or FY28 Q2) as the portfolio's calendar labels it; None if not in that calendar."""
    try:
        return normalise_quarter(settings, str(label))
    except ValueError:
        return None


def _resize(values: tuple[float, ...], horizon: int) -> tuple[float, ...]:
    """Cut to the horizon, or carry the last quarter's value forward."""
    if len(values) >= horizon:
        return tuple(values[:horizon])
    return tuple(values) + (values[-1] if values else 0.0,) * (horizon - len(values))


def _apply_amounts(base: tuple[float, ...], per_quarter, by_quarter, settings) -> tuple[float, ...]:
    values = list(base)
    if per_quarter is not None:
        amounts = per_quarter * len(values) if len(per_quarter) == 1 else per_quarter
        values = [amount.apply(v) for amount, v in zip(amounts, values)]
    labels = [quarter_label(settings, q) for q in range(len(values))]
    for label, amount in by_quarter:
        q = labels.index(_quarter_key(settings, label))
        values[q] = amount.apply(values[q])
    return tuple(values)


def _below_zero(scenario: Scenario, key: str, what: str, values: tuple[float, ...], settings) -> list[Problem]:
    """A signed amount (-250000) that takes a quarter below zero is a mistake, not a zero budget."""
    negative = [quarter_label(settings, q) for q, value in enumerate(values) if value < 0]
    if not negative:
        return []
    return [Problem(key_place(scenario, key), f"takes {what} below zero in {', '.join(negative)} "
                                              f"(lowest {min(values):,.0f}); give a smaller cut or a new amount without a sign")]


def _adjusted(experience: Experience, scenario: Scenario) -> Experience:
    cost = uplift = reach = value = 1.0
    for adjustment in scenario.adjustments:
        if adjustment.where.matches(experience):
            cost *= adjustment.cost
            uplift *= adjustment.uplift
            reach *= adjustment.reach
            value *= adjustment.value
    low, base, high = experience.uplift_low, experience.uplift_base, experience.uplift_high
    base = {"low": low, "base": base, "high": high}[scenario.uplift_estimate]
    if (cost, uplift, reach, value) == (1.0, 1.0, 1.0, 1.0) and base == experience.uplift_base:
        return experience
    options = tuple(replace(o, one_off_cost=o.one_off_cost * cost, run_cost_per_quarter=o.run_cost_per_quarter * cost) for o in experience.options)
    # Uplift is a fraction of customers: a multiplier never takes it past 1.
    return replace(
        experience, options=options, reach_per_quarter=experience.reach_per_quarter * reach,
        value_per_outcome=experience.value_per_outcome * value, uplift_low=min(1.0, low * uplift),
        uplift_base=min(1.0, base * uplift), uplift_high=min(1.0, max(high, base) * uplift),
    )


# The scenario shapes already checked against each portfolio (by the portfolio's identity,
# forgotten with it). What scenario_problems finds does not depend on the amounts, only on
# ids, teams, quarters and how many values a key has: a frontier's 30 budgets are one shape.
_CHECKED: dict[int, set[Scenario]] = {}


def _shape(scenario: Scenario) -> Scenario:
    """The scenario with every budget and capacity amount zeroed: what scenario_problems reads of it."""
    def zeroed(values):
        return None if values is None else tuple(Amount(0.0) for _ in values)

    return replace(scenario, budget_per_quarter=zeroed(scenario.budget_per_quarter), total_budget=None,
                   budget_by_quarter=tuple((label, Amount(0.0)) for label, _ in scenario.budget_by_quarter),
                   capacity=tuple((team, zeroed(per), tuple((q, Amount(0.0)) for q, _ in by)) for team, per, by in scenario.capacity))


def check_once(portfolio: Portfolio, scenario: Scenario) -> None:
    """Raise InputError with every problem of the scenario against the portfolio, unless this
    portfolio has passed a scenario of the same shape already."""
    shape = _shape(scenario)
    checked = _CHECKED.get(id(portfolio))
    if checked is not None and shape in checked:
        return
    problems = scenario_problems(portfolio, scenario)
    if problems:
        raise InputError(problems)
    if checked is None:
        checked = _CHECKED[id(portfolio)] = set()
        weakref.finalize(portfolio, _CHECKED.pop, id(portfolio), None)
    checked.add(shape)


def apply_scenario(portfolio: Portfolio, scenario: Scenario) -> Portfolio:
    """The portfolio as the scenario sees it: budget, capacity, estimates and settings changed.

    Never mutates; raises InputError when the scenario refers to what the portfolio lacks
    (checked once per portfolio and scenario shape: see `check_once`).
    """
    check_once(portfolio, scenario)
    overrides = {
        key: getattr(scenario, key)
        for key in ("solver", "time_limit_seconds", "gap", "start_quarters", "horizon_quarters")
        if getattr(scenario, key) is not None
    }
    if scenario.discount_rate is not None:
        overrides["annual_discount_rate"] = scenario.discount_rate
    settings = replace(portfolio.settings, **overrides)
    horizon = settings.horizon_quarters
    below_zero: list[Problem] = []
    budget = _apply_amounts(_resize(portfolio.budget, horizon), scenario.budget_per_quarter, scenario.budget_by_quarter, settings)
    below_zero += _below_zero(scenario, "budget.per_quarter", "the budget", budget, settings)
    total = portfolio.total_budget
    if scenario.total_budget is not None:
        base_total = total if total is not None else sum(_resize(portfolio.budget, horizon))
        total = scenario.total_budget.apply(base_total)
        if total < 0:
            below_zero.append(Problem(key_place(scenario, "budget.total"), f"takes the total budget below zero ({total:,.0f})"))
    teams = []
    for team in portfolio.teams:
        capacity = _resize(team.capacity, horizon)
        # "all teams" first, so a team named on its own gets exactly what its entry says.
        for name, per_quarter, by_quarter in sorted(scenario.capacity, key=lambda entry: entry[0].casefold() != ALL_TEAMS):
            if name.casefold() in (team.name.casefold(), ALL_TEAMS):
                capacity = _apply_amounts(capacity, per_quarter, by_quarter, settings)
                below_zero += _below_zero(scenario, f"capacity.{name}", f"{team.name}'s capacity", capacity, settings)
        teams.append(Team(team.name, capacity))
    if below_zero:
        raise InputError(below_zero)
    experiences = tuple(_adjusted(e, scenario) for e in portfolio.experiences)
    return replace(portfolio, experiences=experiences, teams=tuple(teams), budget=budget, total_budget=total, settings=settings)



# ---------------------------------------------------------------------------------------
# What the scenario leaves to the workbook or the defaults (planner validate SCENARIO.yaml)


def scenario_values(portfolio: Portfolio, scenario: Scenario) -> list[tuple[str, str, str]]:
    """(key, value in effect, where it comes from) for every scenario key: a file and line, the workbook, or a default.

    The portfolio is the workbook as read (before the scenario); nothing is left unsaid, so a
    user sees every value that did not come from their scenario file.
    """
    settings = portfolio.settings
    workbook = f"the workbook ({Path(portfolio.source).name or 'in memory'})"
    given = {"solver": scenario.solver, "time_limit_seconds": scenario.time_limit_seconds, "gap": scenario.gap,
             "start_quarters": scenario.start_quarters, "horizon_quarters": scenario.horizon_quarters,
             "discount_rate": scenario.discount_rate}
    from_settings = {"solver": settings.solver, "time_limit_seconds": settings.time_limit_seconds, "gap": settings.gap,
                     "start_quarters": settings.start_quarters, "horizon_quarters": settings.horizon_quarters,
                     "discount_rate": settings.annual_discount_rate}
    rows = [("name", scenario.name, _set_at(scenario, "name") or "default: the file's name"),
            ("workbook", Path(scenario.workbook).name, _set_at(scenario, "workbook") or "not given")]
    per_quarter = scenario.budget_per_quarter or ()
    budget = ", ".join([_shown(a) for a in per_quarter] + [f"{label}: {_shown(a)}" for label, a in scenario.budget_by_quarter])
    rows.append(("budget.per_quarter", budget or "as in the workbook", _set_at(scenario, "budget.per_quarter", "budget") or workbook))
    total = _shown(scenario.total_budget) if scenario.total_budget else (
        f"{portfolio.total_budget:,.0f}" if portfolio.total_budget is not None else "none (the quarters' budgets only)")
    rows.append(("budget.total", total, _set_at(scenario, "budget.total", "budget.change", "budget") or workbook))
    teams = "; ".join(f"{team}: " + ", ".join([_shown(a) for a in per or ()] + [f"{q}: {_shown(a)}" for q, a in by])
                      for team, per, by in scenario.capacity)
    rows.append(("capacity", teams or "as in the workbook", _set_at(scenario, "capacity") or workbook))
    for key in ("horizon_quarters", "discount_rate", "solver", "time_limit_seconds", "gap", "start_quarters"):
        value = given[key] if given[key] is not None else from_settings[key]
        shown = f"{value:.2%}" if key == "discount_rate" else f"{value:g}" if isinstance(value, float) else str(value)
        rows.append((key, shown, (_set_at(scenario, key) if given[key] is not None else None) or f"{workbook}, sheet Settings"))
    listed = {
        "uplift_estimate": scenario.uplift_estimate, "objective": scenario.objective,
        "forced_in": ", ".join(scenario.forced_in) or "none", "forced_out": ", ".join(scenario.forced_out) or "none",
        "stop": ", ".join(scenario.stop) or "none",
        "adjust": "; ".join(f"{a.where.describe()}: " + ", ".join(f"{f} x{getattr(a, f):g}" for f in ADJUST_FACTORS if getattr(a, f) != 1)
                            for a in scenario.adjustments) or "none",
        "balance": "; ".join(f"{r.label} " + " ".join(f"{k} {v:.0%}" for k, v in (("min", r.min_share), ("max", r.max_share)) if v is not None)
                             for r in scenario.balance) or "none",
        "roi_hurdle": f"{scenario.roi_hurdle:.0%}" if scenario.roi_hurdle is not None else "none",
    }
    rows += [(key, value, _set_at(scenario, key) or "default") for key, value in listed.items()]
    settings = dict(scenario.rule_settings)
    rows += [(key, family.shown(settings.get(key)), _set_at(scenario, key) or "default")
             for family in FAMILIES if family.shown is not None for key in family.keys]
    if scenario.stop and not _set_at(scenario, "forced_out"):
        rows = [(key, value, f"stop: {_set_at(scenario, 'stop')}" if key == "forced_out" else source) for key, value, source in rows]
    return rows


def _set_at(scenario: Scenario, *keys: str) -> str | None:
    places = dict(scenario.places)
    return next((places[key] for key in keys if key in places), None)


def _shown(amount: Amount) -> str:
    if amount.relative:
        return f"{(amount.value - 1):+.1%} of the workbook's"
    return f"{amount.value:+,.0f} on the workbook's" if amount.added else f"{amount.value:,.0f}"


def applied_notes(portfolio: Portfolio, scenario: Scenario) -> list[Problem]:
    """What applying the scenario fills in or caps without a key saying so: quarters past the workbook's, uplifts capped at 100%."""
    notes = []
    horizon = scenario.horizon_quarters or portfolio.horizon
    if horizon > len(portfolio.budget):
        notes.append(Problem(key_place(scenario, "horizon_quarters"),
                             f"{horizon} quarters, the workbook budgets {len(portfolio.budget)}: the last quarter's budget "
                             f"and team capacities carry on to the end", "warning"))
    capped = [e.id for e in portfolio.experiences if max(e.uplift_high, getattr(e, f"uplift_{scenario.uplift_estimate}"))
              * math.prod(a.uplift for a in scenario.adjustments if a.where.matches(e)) > 1.0]
    if capped:
        notes.append(Problem(key_place(scenario, "adjust"), f"uplift capped at 100% of customers for {len(capped)} experience"
                                                            f"{'s' if len(capped) != 1 else ''}: {', '.join(capped[:5])}"
                                                            f"{' ...' if len(capped) > 5 else ''}", "warning"))
    return notes
