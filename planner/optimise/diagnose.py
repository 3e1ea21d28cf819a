"""Infeasibility: name the rules in conflict, in the user's words, by re-solving with penalised slack."""

from __future__ import annotations

import numpy as np

from planner.core.domain import Portfolio
from planner.core.economics import Columns
from planner.optimise.model import build_model
from planner.optimise.solve import solve_model
from planner.rules import conflict_text
from planner.rules.base import Rules

def diagnose_infeasible(portfolio: Portfolio, rules: Rules, cols: Columns, keep: np.ndarray, solver: str,
                        wall_limit: float | None = None) -> list[str]:
    """Name the rules in conflict, in the user's words, by re-solving with penalised slack.

    Every rule of every family (planner.rules) gets a slack variable; minimising the scaled slack finds the smallest relaxation that makes
    the rules consistent, and the rules that needed slack are the ones in conflict. The
    solver is stopped after `wall_limit` seconds, if given.
    """
    model = build_model(portfolio, rules, cols, keep, elastic=True)
    limits = {spec.name: spec for spec in model.rule_specs}
    outcome = solve_model(model, solver, time_limit=60, gap=0.0, wall_limit=wall_limit)
    if outcome.stopped:
        return [f"the rules conflict, but finding which ones took longer than {wall_limit:g} s"]
    if outcome.status not in ("optimal", "feasible"):
        return ["the rules could not be relaxed into a feasible plan (solver: " + outcome.message + ")"]
    conflicts: list[str] = []
    for name in model.slacks:
        amount = outcome.slack.get(name, 0.0)
        if amount <= 1e-6:
            continue
        spec = limits.get(name)
        # A rule with a limit is worded by its family; a choice, dependency or exclusion by its meaning.
        conflicts.append(conflict_text(portfolio, spec, spec.limit + amount) if spec is not None else model.descriptions.get(name, name))
    return conflicts or ["the rules are inconsistent, but no single family of rules could be blamed"]
