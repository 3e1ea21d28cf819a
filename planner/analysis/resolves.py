"""Lean re-solves for the risk analyses: the MIP alone, its plan checked, a small answer back.

Stability and value of information re-solve one portfolio dozens of times with a few
inputs moved, and use only which experiences each optimal plan funds and what it is
worth. `planner.optimise.optimiser.plan_portfolio` does more per solve than they need: it
runs the LP relaxation beside the MIP (for the bound and the marginal values a plan report
shows) and returns a whole Plan, portfolio included, that a worker sends back. Here

- the base portfolio, the rules and the plan to start from go to each worker once (the
  executor's `shared`); a task carries only the inputs it changes (`SampledInputs`,
  `KnownBenefit`);
- the MIP is solved alone, in a solver process of its own, started from the base plan's
  choices where they still fit, otherwise from the greedy plan (the better of the two);
- what the answer rests on is what a plan's rests on: the status is the solver's own
  (read from its log, `planner.optimise.solve`), the plan is checked against every rule
  and its objective recomputed from the inputs, and an "optimal" claim is checked against
  the solver's bound (`check_claim`); only the LP relaxation's bound is not computed;
- a solve that gives no plan in time is an answer ("no_solution", counted apart), not a
  greedy stand-in;
- the answer is small: status, the funded experiences' keys and PV of benefits, NPV, objective and bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from planner.core.domain import Portfolio
from planner.core.economics import columns
from planner.core.errors import SolverError
from planner.core.executor import Progress, run_tasks
from planner.inputs.scenario import Scenario, apply_scenario
from planner.optimise.check import check_objective, make_decisions, plan_objective, plan_problems, plan_usage
from planner.optimise.greedy import greedy_baseline
from planner.optimise.model import Rules, build_model, objective_of
from planner.optimise.optimiser import check_claim, columns_on_offer, previous_choices, time_allowed
from planner.optimise.plan import Plan
from planner.optimise.solve import solve_model


@dataclass(frozen=True)
class Base:
    """What every re-solve shares: the portfolio the changes apply to, the rules, the plan to start from."""

    portfolio: Portfolio
    scenario: Scenario
    start_from: Plan | None = None


@dataclass(frozen=True)
class Resolved:
    """One re-solve's answer. `funded`: the keys of the experiences its plan funds, in portfolio order."""

    status: str  # optimal (proven within the gap target), feasible (a plan, not proven), infeasible, no_solution
    funded: tuple[str, ...] = ()
    npv: float | None = None
    objective: float | None = None
    bound: float | None = None
    pv_benefits: tuple[float, ...] = ()  # each funded experience's PV of benefits, as `funded`

    @property
    def feasible(self) -> bool:
        return self.status in ("optimal", "feasible")


@dataclass(frozen=True)
class SampledInputs:
    """One draw of every experience's uncertain inputs (arrays in portfolio order)."""

    reach: np.ndarray
    uplift: np.ndarray
    cost_factor: np.ndarray
    slip: np.ndarray

    def apply(self, portfolio: Portfolio) -> Portfolio:
        """The portfolio with the estimates made certain at the drawn values."""
        experiences = []
        for i, e in enumerate(portfolio.experiences):
            uplift = float(self.uplift[i])
            factor, slip = float(self.cost_factor[i]), int(self.slip[i])
            options = tuple(replace(o, one_off_cost=o.one_off_cost * factor, delivery_quarters=o.delivery_quarters + slip)
                            for o in e.options) if (factor != 1.0 or slip) else e.options
            experiences.append(replace(e, reach_per_quarter=float(self.reach[i]), uplift_low=uplift, uplift_base=uplift,
                                       uplift_high=uplift, options=options, estimates=type(e.estimates)()))
        return replace(portfolio, experiences=tuple(experiences))


@dataclass(frozen=True)
class KnownBenefit:
    """One experience's reach and uplift known (made certain at these values), the others unchanged."""

    index: int
    reach: float
    uplift: float

    def apply(self, portfolio: Portfolio) -> Portfolio:
        changed = list(portfolio.experiences)
        changed[self.index] = replace(changed[self.index], reach_per_quarter=self.reach, uplift_low=self.uplift,
                                      uplift_base=self.uplift, uplift_high=self.uplift)
        return replace(portfolio, experiences=tuple(changed))


def run_resolves(base: Base, changes: Sequence[SampledInputs | KnownBenefit], workers: int = 1,
                 progress: Progress | None = None, scheduler: str | None = None) -> list[Resolved]:
    """Re-solve the base with each change, through the shared executor; answers in the order asked."""
    return run_tasks(resolve_change, changes, workers, progress, scheduler, shared=base)


def resolve_change(base: Base, change: SampledInputs | KnownBenefit) -> Resolved:
    """One task on a worker: apply the change, re-solve."""
    return resolve(change.apply(base.portfolio), base.scenario, base.start_from)


def resolve(portfolio: Portfolio, scenario: Scenario, start_from: Plan | None = None) -> Resolved:
    """The optimal funded set of the portfolio under the scenario's rules, from the MIP alone (see the module doc)."""
    portfolio = apply_scenario(portfolio, scenario)
    settings = portfolio.settings
    rules = Rules.of(scenario)
    cols = columns(portfolio)
    offered = set(cols.experience.tolist())
    if any(rules.must_fund(e) and i not in offered for i, e in enumerate(portfolio.experiences)):
        return Resolved("infeasible")  # a must-fund experience cannot be delivered within the horizon
    keep = columns_on_offer(portfolio, rules, cols)
    greedy_columns, greedy = greedy_baseline(portfolio, rules, cols, keep)
    previous = previous_choices(start_from, portfolio, scenario, rules, cols, keep) if start_from is not None else None
    starts = [s for s in (previous, greedy_columns if greedy.feasible else None) if s is not None]
    # The start that scores best (the first on a tie).
    warm = max(starts, key=lambda s: objective_of(portfolio, rules, cols, s), default=None)
    model = build_model(portfolio, rules, cols, keep)
    outcome = solve_model(model, settings.solver, settings.time_limit_seconds, settings.gap, warm_start=warm,
                          wall_limit=time_allowed(settings))
    if outcome.status not in ("optimal", "feasible"):
        return Resolved(outcome.status, bound=outcome.best_bound)
    chosen, objective = outcome.chosen, outcome.objective
    if previous is not None and objective_of(portfolio, rules, cols, previous) >= objective - 1e-9 * max(1.0, abs(objective)):
        # As plan_portfolio does: an equally good start plan is kept (no churn without cause).
        chosen, objective = tuple(previous.tolist()), objective_of(portfolio, rules, cols, previous)
    check_claim(outcome.status, objective, outcome.best_bound, None, settings.gap)
    decisions = make_decisions(portfolio, rules, cols, chosen)
    usage, found = plan_usage(portfolio, rules, decisions)  # recomputed from the inputs alone
    violations = plan_problems(portfolio, decisions, usage, found)
    if violations:
        raise SolverError("the solver's plan breaks the rules; it is not reported:\n" + "\n".join(f"  - {v}" for v in violations))
    costs = tuple(usage.costs)
    check_objective(portfolio, rules.objective, decisions, objective, costs)
    funded = [d for d in decisions if d.funded]
    return Resolved(outcome.status, tuple(d.experience.key for d in funded), plan_objective(portfolio, "npv", decisions, costs),
                    objective, outcome.best_bound, tuple(d.pv_benefit for d in funded))
