"""The optimisation model: built from (portfolio, rules, columns) as a pure function, in matrix form.

`build_model` returns the model as arrays (objective, row senses and right-hand sides,
coefficients); the rows come from the rule families (planner.rules), each adding its
block of rows in registry order. Rules keep names that read like the business rule
(budget_2027Q1, capacity_Digital_2027Q2, requires_CX_7_CX_3_2027Q3), unique by
construction, for people; the solver sees index names only (X0000000, C0000000: see
planner.optimise.solve), so no id ever becomes a solver name ("A_1_2", "A 1" and "A_1" once
collided in PuLP's names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from planner.core.domain import Portfolio
from planner.core.economics import Columns
from planner.rules import add_rows, adds_anything, rule_specs, usage_of_columns
from planner.rules.base import Build, Rows, RuleSpec, Rules, free_name

__all__ = ["Model", "Rules", "RuleSpec", "build_model", "columns_by_experience", "experience_labels", "objective_of", "objective_values", "rule_specs"]


@dataclass(frozen=True)
class Model:
    """A built model in matrix form: the objective, the rows and their coefficients as arrays.

    Variable v (a binary: fund that choice or not) is column `column_ids[v]` of the
    economics. Row r is the rule `constraints[r]` (a name that reads like the rule, unique
    by construction); it reads sum of coefficient x variable `sense[r]` ("L" at most,
    "G" at least, "E" equal) `rhs[r]`, over the entries (row, variable, coefficient) in
    `entries`, sorted by variable then row. Solvers never see these names: the MPS file
    names variables and rows by index (see `write_model`).

    A family may add continuous variables (`extra_names`, numbered len(variables) + k, each
    >= 0 and bounded by the family's rows). An elastic model (see
    planner.optimise.diagnose) gives row r a slack variable, number len(variables) + len(extra_names) + r, weighted `slack_weight[r]` in an objective that minimises slack;
    `slacks` maps each rule name to (that number, its weight).
    """

    column_ids: np.ndarray
    rule_specs: list[RuleSpec]
    objective: np.ndarray
    constraints: tuple[str, ...]
    sense: np.ndarray
    rhs: np.ndarray
    entries: tuple[np.ndarray, np.ndarray, np.ndarray]
    slack_weight: np.ndarray
    elastic: bool = False
    slacks: dict[str, tuple[int, float]] = field(default_factory=dict)
    # Continuous variables a family adds (capacity bought), numbered after the binaries, with their objective.
    extra_names: tuple[str, ...] = ()
    extra_objective: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # The meaning in words of the rules a conflict message may name (choice, requires, excludes, balance, hurdle).
    descriptions: dict[str, str] = field(default_factory=dict)

    @property
    def variables(self) -> range:
        """The model's binary variables by number, one per kept column."""
        return range(len(self.column_ids))

    @property
    def cost(self) -> np.ndarray:
        """The objective of every variable: the binaries', then the extras'."""
        return np.concatenate([self.objective, self.extra_objective])


def experience_labels(portfolio: Portfolio) -> list[str]:
    """A readable label for each experience in rule names (its id, unsafe characters replaced), unique by construction.

    Labels only name rules for people (LP dumps, conflict messages): the solver sees index
    names. A label already taken (ids "A 1" and "A_1" both read "A_1") gets the first free
    numbered suffix, checked against every label taken so far.
    """
    taken: set[str] = set()
    return [free_name(re.sub(r"[^A-Za-z0-9]+", "_", experience.id).strip("_")[:40] or "exp", taken)
            for experience in portfolio.experiences]


def columns_by_experience(cols: Columns, keep: np.ndarray, count: int) -> np.ndarray:
    """Where each experience's variables begin: those of experience i are numbers bounds[i] to bounds[i + 1] - 1.

    Columns come grouped by experience, so the kept ones of an experience are consecutive variables.
    """
    return np.searchsorted(cols.experience[np.nonzero(keep)[0]], np.arange(count + 1))


def build_model(portfolio: Portfolio, rules: Rules, cols: Columns, keep: np.ndarray, elastic: bool = False) -> Model:
    """Build the MIP: choose at most one kept column per experience to maximise the objective.

    `keep` masks the columns on offer (forced-out and dominated ones are dropped by the
    caller). An elastic model gives every rule a slack variable and minimises the slack
    instead: the model planner.optimise.diagnose solves. Each family adds its rows as arrays.
    """
    column_ids = np.nonzero(keep)[0]
    rows = Rows(len(column_ids))
    specs = rule_specs(portfolio, rules)
    add_rows(Build(portfolio, rules, cols, keep, column_ids, columns_by_experience(cols, keep, len(portfolio.experiences)),
                   experience_labels(portfolio), specs, rows))
    return _model(rows, column_ids, specs, objective_values(portfolio, cols, rules.objective)[column_ids], elastic)


def _model(rows: Rows, column_ids: np.ndarray, specs: list[RuleSpec], objective: np.ndarray, elastic: bool) -> Model:
    entries_rows, variables, coefficients = (np.concatenate([block[k] for block in rows.entries]) if rows.entries else
                                             np.zeros(0, dtype=np.int64 if k < 2 else float) for k in range(3))
    order = np.lexsort((entries_rows, variables))
    weight = np.concatenate(rows.weight) if rows.weight else np.zeros(0)
    first_slack = len(column_ids) + len(rows.extra_names)
    slacks = {name: (first_slack + r, float(w)) for r, (name, w) in enumerate(zip(rows.names, weight.tolist()))} if elastic else {}
    extra_objective = np.asarray(rows.extra_objective, dtype=float)
    return Model(
        column_ids=column_ids, rule_specs=specs, objective=np.zeros(len(column_ids)) if elastic else objective,
        constraints=tuple(rows.names), sense=np.concatenate(rows.sense) if rows.sense else np.zeros(0, dtype="<U1"),
        rhs=np.concatenate(rows.rhs) if rows.rhs else np.zeros(0),
        entries=(entries_rows[order], variables[order], coefficients[order]),
        slack_weight=weight, elastic=elastic, slacks=slacks, descriptions=rows.descriptions,
        extra_names=tuple(rows.extra_names), extra_objective=np.zeros(len(extra_objective)) if elastic else extra_objective,
    )


def objective_values(portfolio: Portfolio, cols: Columns, objective: str) -> np.ndarray:
    """Each column's contribution to the objective: NPV, PV of benefits, or reach.

    Reach counts customers touched per quarter times the quarters live inside the horizon.
    """
    if objective == "npv":
        return cols.npv
    if objective == "benefit":
        return cols.pv_benefit
    reach = np.array([e.reach_per_quarter for e in portfolio.experiences], dtype=float)
    live_quarters = np.maximum(0, portfolio.horizon - (cols.start + cols.delivery))
    return reach[cols.experience] * live_quarters


def objective_of(portfolio: Portfolio, rules: Rules, cols: Columns, chosen: np.ndarray) -> float:
    """The objective of a set of columns: their values with what the families add or take
    (capacity bought, benefit lost to overlap), as `plan_objective` scores a plan."""
    value = float(objective_values(portfolio, cols, rules.objective)[chosen].sum())
    if rules.objective == "reach" or not adds_anything(portfolio, rules):
        return value
    usage = usage_of_columns(portfolio, rules, cols, chosen)
    return value + usage.extra_pv_benefit - (usage.extra_pv_cost if rules.objective == "npv" else 0.0)
