"""What-if analysis shared by the frontier, comparison, explanations and sensitivity: re-solves.

Every analysis asks the same question many times with one input moved: plan the portfolio
as a scenario sees it, changed a little. This module owns how that is done once:

- `as_seen_by` splits a scenario into the portfolio it describes (budget, capacity and
  estimates applied) and its rules alone (forced in/out, balance, hurdle, objective,
  solver settings), so a variant changes the applied portfolio and keeps the rules, and
  no multiplier is ever applied twice.
- `Solve` is one re-solve to run; `run_solves` runs many through the shared executor
  (`planner.core.executor`: in this process, on an embedded Dask cluster, or on a named one)
  and returns the results in the order asked, whatever the number of workers.
- `Tornado` (`sensitivity`) lives here; the comparison is `planner.analysis.compare`, the frontier
  `planner.analysis.frontier`, the explanations `planner.analysis.explain`.

Results are frozen dataclasses with `to_rows()` (a list of flat dicts, one per CSV row)
for the CSV files and for the report model. Library code never prints: progress goes to
an optional callback `progress(done, total)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from planner.core.domain import Portfolio, normalise_id, quarter_label
from planner.core.errors import InfeasibleError, SolverError
from planner.core.executor import Progress, run_tasks
from planner.optimise.optimiser import plan_portfolio
from planner.optimise.plan import Decision, Plan
from planner.core.csv_safe import csv_rows
from planner.core.files import write_atomically
from planner.inputs.scenario import Adjustment, Filter, Scenario, apply_scenario

T = TypeVar("T")
R = TypeVar("R")

# ---------------------------------------------------------------------------------------
# Scenario variants


def as_seen_by(portfolio: Portfolio, scenario: Scenario | None) -> tuple[Portfolio, Scenario]:
    """The portfolio with the scenario's input changes applied, and the scenario's rules alone.

    `plan_portfolio(*as_seen_by(p, s))` plans exactly what `plan_portfolio(p, s)` plans; a
    variant changes the first and keeps the second.
    """
    scenario = scenario or Scenario()
    applied = apply_scenario(portfolio, scenario)
    rules = replace(
        scenario, budget_per_quarter=None, budget_by_quarter=(), total_budget=None, capacity=(), adjustments=(),
        uplift_estimate="base", discount_rate=None, horizon_quarters=None,
    )
    return applied, rules


def effective_budget(portfolio: Portfolio) -> float:
    """The money the plan may spend over the horizon: the quarters' sum, capped by the total."""
    total = sum(portfolio.budget)
    return min(total, portfolio.total_budget) if portfolio.total_budget is not None else total


def scaled_budget(portfolio: Portfolio, factor: float) -> Portfolio:
    """The portfolio with every quarter's budget, and the total cap, times `factor`.

    Scaling keeps the budget's shape over the quarters: a frontier point or a "budget -10%"
    asks for more or less money on the same profile finance gave.
    """
    total = portfolio.total_budget * factor if portfolio.total_budget is not None else None
    return replace(portfolio, budget=tuple(b * factor for b in portfolio.budget), total_budget=total)


def with_adjustment(rules: Scenario, experience_id: str | None = None, **factors: float) -> Scenario:
    """The rules plus multipliers (uplift, cost, reach, value) on one experience, or on all."""
    where = Filter(id=(experience_id,)) if experience_id is not None else Filter()
    return replace(rules, adjustments=rules.adjustments + (Adjustment(where, **factors),))


def forcing(rules: Scenario, experience_id: str, funded: bool) -> Scenario:
    """The rules with one experience forced in (funded=True) or out, whatever they said of it."""
    key = normalise_id(experience_id)
    forced_in = tuple(i for i in rules.forced_in if normalise_id(i) != key)
    forced_out = tuple(i for i in rules.forced_out if normalise_id(i) != key)
    if funded:
        return replace(rules, forced_in=forced_in + (experience_id,), forced_out=forced_out)
    return replace(rules, forced_in=forced_in, forced_out=forced_out + (experience_id,))


# ---------------------------------------------------------------------------------------
# Re-solves in parallel


@dataclass(frozen=True)
class Solve:
    """One re-solve: a portfolio, the rules, and optionally a plan to start from."""

    portfolio: Portfolio
    scenario: Scenario
    start_from: Plan | None = None


@dataclass(frozen=True)
class Solved:
    """A re-solve's answer: the plan, or the rules in conflict when no plan satisfies them."""

    plan: Plan | None
    conflicts: tuple[str, ...] = ()
    error: str = ""  # the solver gave no plan in time (the scenario may still be feasible)

    @property
    def feasible(self) -> bool:
        return self.plan is not None


def solve(task: Solve) -> Solved:
    """Plan one variant; an infeasible variant, or one the solver found no plan for in time,
    is an answer ("no plan"), not an error: the other variants still count."""
    try:
        return Solved(plan_portfolio(task.portfolio, task.scenario, start_from=task.start_from))
    except InfeasibleError as error:
        return Solved(None, tuple(error.conflicts))
    except SolverError as error:
        if "found no plan" not in str(error):
            raise  # a plan that broke the rules is a bug to report, not an answer
        return Solved(None, error=str(error))


def run_parallel(function: Callable[[T], R], tasks: Sequence[T], workers: int = 1, progress: Progress | None = None,
                 scheduler: str | None = None) -> list[R]:
    """`[function(t) for t in tasks]` through the shared executor (`planner.core.executor`); same order either way."""
    return run_tasks(function, tasks, workers, progress, scheduler)


def run_solves(tasks: Sequence[Solve], workers: int = 1, progress: Progress | None = None,
               scheduler: str | None = None) -> list[Solved]:
    return run_tasks(solve, tasks, workers, progress, scheduler)


# ---------------------------------------------------------------------------------------
# Small helpers for the result tables


def decision_of(plan: Plan, experience_id: str) -> Decision:
    key = normalise_id(experience_id)
    return next(d for d in plan.decisions if d.experience.key == key)


def funded_ids(plan: Plan) -> tuple[str, ...]:
    return tuple(d.experience.id for d in plan.funded)


def choice_text(plan: Plan, decision: Decision) -> str:
    """'standard from 2027Q3' or 'not funded'."""
    if not decision.funded:
        return "not funded"
    return f"{decision.option} from {quarter_label(plan.portfolio.settings, decision.start_quarter)}"


def quarter_span(portfolio: Portfolio, quarters: Iterable[int]) -> str:
    """Quarters as labels, runs joined: [1, 2, 4] -> '2027Q2-2027Q3, 2028Q1'."""
    ordered = sorted(set(quarters))
    runs: list[list[int]] = []
    for q in ordered:
        if runs and q == runs[-1][-1] + 1:
            runs[-1].append(q)
        else:
            runs.append([q])
    settings = portfolio.settings
    return ", ".join(
        quarter_label(settings, run[0]) if len(run) == 1 else f"{quarter_label(settings, run[0])}-{quarter_label(settings, run[-1])}"
        for run in runs
    )


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write rows (flat dicts with the same keys) as a CSV with a header, whole or not at all.

    Floats are kept exact; text that a spreadsheet would run as a formula is neutralised
    (`planner.report.csv_text`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(path, csv_rows(rows))


# ---------------------------------------------------------------------------------------
# Sensitivity: the tornado


@dataclass(frozen=True)
class TornadoBar:
    """The plan's NPV with one input at its low and at its high value (each a re-solve)."""

    input: str
    kind: str  # "uplift", "budget", "discount rate", "costs", "capacity", "all uplifts"
    low: str
    high: str
    npv_low: float | None
    npv_high: float | None
    base_npv: float
    funded_changes_low: int
    funded_changes_high: int
    # The ends whose re-solve stopped short of a proof ("low", "high"), each with its gap:
    # their NPV is the best plan found, not the optimum.
    unproven: tuple[tuple[str, float | None], ...] = ()

    @property
    def unproven_values(self) -> tuple[tuple[str, float | None], ...]:
        """The input's value at each end not proven optimal ("-20%"), with that end's gap."""
        return tuple((self.low if end == "low" else self.high, gap) for end, gap in self.unproven)

    @property
    def proof(self) -> str:
        """How far each end's NPV is proven: "proven" (optimal, or no plan meets the rules: both on
        the solver's proof), or the ends that stopped short of a proof, each with its gap."""
        if not self.unproven:
            return "proven"
        return "; ".join(f"{end} end NOT proven optimal" + ("" if gap is None else f" (gap {gap:.2%})") for end, gap in self.unproven)

    @property
    def change_low(self) -> float | None:
        return None if self.npv_low is None else self.npv_low - self.base_npv

    @property
    def change_high(self) -> float | None:
        return None if self.npv_high is None else self.npv_high - self.base_npv

    @property
    def swing(self) -> float:
        """The bar's width; an input whose low or high makes the scenario infeasible sorts first."""
        if self.npv_low is None or self.npv_high is None:
            return float("inf")
        return abs(self.npv_high - self.npv_low)


@dataclass(frozen=True)
class Tornado:
    """Which inputs move the plan most: bars sorted by swing, widest first."""

    scenario: str
    currency: str
    base_npv: float
    bars: tuple[TornadoBar, ...]

    def to_rows(self) -> list[dict[str, Any]]:
        return [
            {"input": b.input, "kind": b.kind, "low": b.low, "high": b.high, "npv_low": b.npv_low, "npv_high": b.npv_high,
             "change_low": b.change_low, "change_high": b.change_high, "swing": b.swing, "base_npv": b.base_npv,
             "funded_changes_low": b.funded_changes_low, "funded_changes_high": b.funded_changes_high, "proof": b.proof}
            for b in self.bars
        ]


@dataclass(frozen=True)
class _Input:
    """One input to move: a label and how the low and high variants are made."""

    label: str
    kind: str
    low: str
    high: str
    variants: tuple[Solve, Solve] = field(repr=False)


def sensitivity(portfolio: Portfolio, scenario: Scenario | None = None, top: int = 8, budget_change: float = 0.10,
                rate_change: float = 0.02, cost_change: float = 0.20, capacity_change: float = 0.10, workers: int = 1,
                progress: Progress | None = None, base: Plan | None = None, scheduler: str | None = None) -> Tornado:
    """Re-solve with each key input at its low and high value; sort by the NPV swing.

    Inputs: the uplift of the `top` funded experiences with the most NPV, at their low and
    high estimates; and portfolio-wide, the budget (+-10%), the discount rate (+-2 points,
    never below 0), all costs (+-20%), all teams' capacity (+-10%) and every uplift at its
    low or high estimate. Each is one re-solve per end, started from the base plan where it
    still fits.
    """
    applied, rules = as_seen_by(portfolio, scenario)
    base = base or plan_portfolio(applied, rules)
    inputs = _sensitivity_inputs(applied, rules, base, top, budget_change, rate_change, cost_change, capacity_change)
    solved = run_solves([v for i in inputs for v in i.variants], workers, progress, scheduler)
    base_funded = set(funded_ids(base))
    bars = []
    for n, item in enumerate(inputs):
        low, high = solved[2 * n], solved[2 * n + 1]
        changes = lambda s: len(set(funded_ids(s.plan)) ^ base_funded) if s.feasible else 0  # noqa: E731
        unproven = tuple((end, solve.plan.solve.gap) for end, solve in (("low", low), ("high", high))
                         if solve.feasible and solve.plan.solve.status != "optimal")
        bars.append(TornadoBar(item.label, item.kind, item.low, item.high, low.plan.npv if low.feasible else None,
                               high.plan.npv if high.feasible else None, base.npv, changes(low), changes(high), unproven))
    bars.sort(key=lambda b: (-b.swing, b.input))
    return Tornado(rules.name, applied.settings.currency, base.npv, tuple(bars))


def _sensitivity_inputs(applied: Portfolio, rules: Scenario, base: Plan, top: int, budget_change: float, rate_change: float,
                        cost_change: float, capacity_change: float) -> list[_Input]:
    def pair(portfolio_low: Portfolio, rules_low: Scenario, portfolio_high: Portfolio, rules_high: Scenario,
             fits: tuple[bool, bool] = (False, True)) -> tuple[Solve, Solve]:
        # The base plan is a first incumbent only where it still fits: more money or time,
        # or other estimates under the same constraints (a hurdle could break with them).
        return (Solve(portfolio_low, rules_low, base if fits[0] else None),
                Solve(portfolio_high, rules_high, base if fits[1] else None))

    same_constraints = (rules.roi_hurdle is None,) * 2

    inputs = []
    ranked = sorted(base.funded, key=lambda d: (-d.npv, d.experience.id))
    for decision in [d for d in ranked if d.experience.uplift_base > 0][:top]:
        e = decision.experience
        low, high = e.uplift_low / e.uplift_base, e.uplift_high / e.uplift_base
        if low == high == 1.0:
            continue
        inputs.append(_Input(f"{e.id} uplift", "uplift", f"{e.uplift_low:.2%}", f"{e.uplift_high:.2%}",
                             pair(applied, with_adjustment(rules, e.id, uplift=low), applied, with_adjustment(rules, e.id, uplift=high),
                                  same_constraints)))
    inputs.append(_Input("budget", "budget", f"-{budget_change:.0%}", f"+{budget_change:.0%}",
                         pair(scaled_budget(applied, 1 - budget_change), rules, scaled_budget(applied, 1 + budget_change), rules)))
    rate = applied.settings.annual_discount_rate
    # A lower rate makes future benefits worth more: the "low" end of the bar is the lower rate.
    rate_low, rate_high = max(0.0, rate - rate_change), rate + rate_change
    inputs.append(_Input("discount rate", "discount rate", f"{rate_low:.1%}", f"{rate_high:.1%}",
                         pair(_with_rate(applied, rate_low), rules, _with_rate(applied, rate_high), rules, same_constraints)))
    inputs.append(_Input("all costs", "costs", f"-{cost_change:.0%}", f"+{cost_change:.0%}",
                         pair(applied, with_adjustment(rules, cost=1 - cost_change), applied, with_adjustment(rules, cost=1 + cost_change),
                              (False, False))))
    inputs.append(_Input("all teams' capacity", "capacity", f"-{capacity_change:.0%}", f"+{capacity_change:.0%}",
                         pair(_with_capacity(applied, 1 - capacity_change), rules, _with_capacity(applied, 1 + capacity_change), rules)))
    inputs.append(_Input("every uplift", "all uplifts", "low estimates", "high estimates",
                         pair(applied, replace(rules, uplift_estimate="low"), applied, replace(rules, uplift_estimate="high"), same_constraints)))
    return inputs


def _with_rate(portfolio: Portfolio, rate: float) -> Portfolio:
    return replace(portfolio, settings=replace(portfolio.settings, annual_discount_rate=rate))


def _with_capacity(portfolio: Portfolio, factor: float) -> Portfolio:
    return replace(portfolio, teams=tuple(replace(t, capacity=tuple(c * factor for c in t.capacity)) for t in portfolio.teams))
