"""`planner risk` as one library call: every uncertainty analysis of a scenario's plan, in order.

`analyse_risk(portfolio, scenario)` plans the scenario, then

1. the robust plan and the risk/return frontier (planner.analysis.robust);
2. one seeded Monte Carlo sample of both plans' experiences: each plan's NPV distribution,
   cumulative NPV by quarter and spend by quarter (planner.analysis.risk.simulate), the
   CVaR of each on the same draws, the optimizer's curse and the contingency reserve;
3. stability: re-solves on sampled inputs (core, borderline, exterior);
4. value of information of the experiences where knowing more could change the plan:
   the borderline ones first (nearest a coin toss), then the funded ones that drive the
   spread, at most `information_experiences`.

Settings come from the scenario's `risk:` and `robust:` keys (planner.inputs.risk_keys),
the command line's --draws and --seed over them. The re-solves run through the shared
executor; the answer depends on the seed and the inputs, never on the number of workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace

from planner.analysis import information as value_of_information, risk, robust
from planner.core.domain import Portfolio
from planner.core.errors import InputError, Problem
from planner.core.executor import Progress
from planner.inputs.scenario import Scenario, key_place
from planner.optimise.optimiser import plan_portfolio
from planner.optimise.plan import Plan

# Defaults of `planner risk` (each a scenario key under risk: or robust:), sized so the
# bundled example runs within a minute on two cores (docs/benchmarks.md).
RESOLVES = 30
INFORMATION_EXPERIENCES = 6
INFORMATION_SAMPLES = 4


@dataclass(frozen=True)
class RiskAnalysis:
    plan: Plan
    settings: risk.RiskSettings
    simulation: risk.Simulation
    cvar: risk.Figure  # the base plan's CVaR on the Monte Carlo draws
    disappointment: risk.Disappointment
    contingency: risk.Contingency
    stability: risk.Stability
    information: tuple[value_of_information.Information, ...]
    robust: robust.Robust
    robust_simulation: risk.Simulation
    robust_cvar: risk.Figure
    robust_contingency: risk.Contingency


def settings_of(scenario: Scenario, draws: int | None = None, seed: int | None = None) -> tuple[risk.RiskSettings, int, robust.RobustSettings]:
    """(Monte Carlo settings, stability re-solves, robust settings) from the scenario's keys and the command line."""
    keys = dict(scenario.risk)
    resolves = int(keys.pop("resolves", RESOLVES))
    known = {f.name for f in fields(risk.RiskSettings)}
    settings = risk.RiskSettings(**{k: v for k, v in keys.items() if k in known})
    settings = replace(settings, **{k: v for k, v in (("draws", draws), ("seed", seed)) if v is not None})
    problems = [Problem(key_place(scenario, p.where) if draws is None or "draws" not in p.where else "--draws", p.message)
                for p in settings.problems()]
    if problems:
        raise InputError(problems)
    return settings, resolves, robust.RobustSettings(**dict(scenario.robust))


def analyse_risk(portfolio: Portfolio, scenario: Scenario, draws: int | None = None, seed: int | None = None, workers: int = 2,
                 scheduler: str | None = None, progress: Callable[[str], Progress] | None = None) -> RiskAnalysis:
    """Every uncertainty analysis of the scenario's plan (see the module docstring)."""
    from planner.analysis.variants import as_seen_by

    settings, resolves, robust_settings = settings_of(scenario, draws, seed)
    step = progress or (lambda _: None)
    plan = plan_portfolio(*as_seen_by(portfolio, scenario))
    robust_result = robust.robust_analysis(plan, settings, robust_settings, workers, scheduler, step("robust plan"))
    sample = risk.sample_for([plan, robust_result.plan], settings)
    simulation = risk.simulate(plan, sample)
    robust_simulation = risk.simulate(robust_result.plan, sample)
    level = robust_settings.cvar_level
    stability = risk.stability(plan, settings, resolves, workers, scheduler, step("stability"))
    information = value_of_information.value_of_information(
        plan, settings, INFORMATION_SAMPLES, _worth_researching(plan, simulation, stability), workers, scheduler,
        step("value of information"), evaluations=settings.draws)
    return RiskAnalysis(
        plan=plan, settings=settings, simulation=simulation, cvar=risk._batched(simulation.npv, lambda x: robust.cvar(x, level)),
        disappointment=risk.disappointment(plan, simulation, sample),
        contingency=risk.contingency(simulation, settings.confidence), stability=stability, information=information,
        robust=robust_result, robust_simulation=robust_simulation,
        robust_cvar=risk._batched(robust_simulation.npv, lambda x: robust.cvar(x, level)),
        robust_contingency=risk.contingency(robust_simulation, settings.confidence),
    )


def _worth_researching(plan: Plan, simulation: risk.Simulation, stability: risk.Stability) -> list[str]:
    """The experiences whose value of information is computed: borderline ones nearest a coin toss, then the
    funded drivers of the spread, at most INFORMATION_EXPERIENCES (each costs a few re-solves)."""
    uncertain = {e.id for e in plan.portfolio.experiences if _uncertain_benefit(e)}
    borderline = sorted((m for m in stability.members if m.label == "borderline" and m.experience_id in uncertain),
                        key=lambda m: (abs(m.share - 0.5), m.experience_id))
    chosen = [m.experience_id for m in borderline]
    chosen += [d.experience_id for d in simulation.drivers if d.experience_id in uncertain and d.experience_id not in chosen]
    return chosen[:INFORMATION_EXPERIENCES]


def _uncertain_benefit(experience) -> bool:
    points = risk.three_points(experience)
    return points["reach"][0] * points["uplift"][0] < points["reach"][2] * points["uplift"][2]
