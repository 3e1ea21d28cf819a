"""The model as PuLP objects, term by term: the reference the matrix-form build in planner/model.py is checked against.

This is the build planner/model.py had before it wrote arrays straight to the MPS file
(kept readable, and slow: one PuLP object per variable and row). tests/test_model_build.py
writes both for seeded portfolios, reads both files back with HiGHS, and compares them
entry by entry.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np
import pulp

from planner.core.domain import Experience, Portfolio, normalise_id, quarter_label
from planner.core.economics import Columns
from planner.optimise.model import RuleSpec, Rules, objective_values, rule_specs


@dataclass
class Model:
    """A built model: the PuLP problem, its variables by column, and the rules it names."""

    problem: pulp.LpProblem
    variables: list[pulp.LpVariable]
    column_ids: np.ndarray
    rule_specs: list[RuleSpec]
    # With elastic set, every rule gets a slack variable (see diagnose_infeasible).
    elastic: bool = False
    constraints: dict[str, pulp.LpConstraint] = field(default_factory=dict)
    slacks: dict[str, tuple[pulp.LpVariable, float]] = field(default_factory=dict)
    # Experience-level rules (choice, requires, excludes) by name, with their meaning in words.
    descriptions: dict[str, str] = field(default_factory=dict)


def solver_names(portfolio: Portfolio) -> list[str]:
    """A solver-safe, unique name for each experience (its id with unsafe characters replaced)."""
    names: list[str] = []
    seen: set[str] = set()
    for index, experience in enumerate(portfolio.experiences):
        name = re.sub(r"[^A-Za-z0-9]+", "_", experience.id).strip("_")[:40] or "exp"
        if name.casefold() in seen:
            name = f"{name}_{index}"
        seen.add(name.casefold())
        names.append(name)
    return names


def columns_by_experience(cols: Columns, keep: np.ndarray, count: int) -> list[np.ndarray]:
    """Indices of the kept columns of each experience (columns come grouped by experience)."""
    kept = np.nonzero(keep)[0]
    bounds = np.searchsorted(cols.experience[kept], np.arange(count + 1))
    return [kept[bounds[i]:bounds[i + 1]] for i in range(count)]


def build_model(portfolio: Portfolio, rules: Rules, cols: Columns, keep: np.ndarray, elastic: bool = False) -> Model:
    """Build the MIP: choose at most one kept column per experience to maximise NPV.

    `keep` masks the columns on offer (forced-out and dominated ones are dropped by the
    caller). An elastic model gives every rule a slack variable and minimises the slack
    instead: the model `diagnose_infeasible` solves.
    """
    names = solver_names(portfolio)
    column_ids = np.nonzero(keep)[0]
    problem = pulp.LpProblem("experience_portfolio", pulp.LpMaximize)
    variables = [
        problem.add_variable(f"fund_{names[i]}_{k}_{s}", 0, 1, cat=pulp.LpBinary)
        for i, k, s in zip(cols.experience[column_ids].tolist(), cols.option[column_ids].tolist(), cols.start[column_ids].tolist())
    ]
    var_of = np.full(len(cols), -1, dtype=np.int64)
    var_of[column_ids] = np.arange(len(column_ids))
    model = Model(problem, variables, column_ids, rule_specs(portfolio, rules), elastic=elastic)
    groups = columns_by_experience(cols, keep, len(portfolio.experiences))
    add_choice_rules(model, portfolio, rules, groups, var_of, names)
    add_budget_rules(model, portfolio, cols, var_of)
    add_capacity_rules(model, portfolio, cols, var_of)
    add_dependency_rules(model, portfolio, rules, cols, groups, var_of, names)
    add_exclusion_rules(model, portfolio, rules, groups, var_of, names)
    add_balance_rules(model, portfolio, cols, var_of)
    add_roi_hurdle(model, cols, var_of)
    if elastic:
        problem.setObjective(pulp.LpAffineExpression([(slack, -weight) for slack, weight in model.slacks.values()]))
    else:
        problem.setObjective(pulp.LpAffineExpression(zip(variables, objective_values(portfolio, cols, rules.objective)[column_ids].tolist())))
    return model


def add_balance_rules(model: Model, portfolio: Portfolio, cols: Columns, var_of) -> None:
    """Share of spend on a journey stage, channel, product line or layer: at least / at most.

    share x total spend <= group spend is linear: sum over columns of spend x (in group - share) >= 0.
    """
    balance = {spec.name: spec for spec in model.rule_specs if spec.kind == "balance"}
    if not balance:
        return
    kept = model.column_ids
    spend = cols.spend[kept].sum(axis=1)
    for spec in balance.values():
        rule = spec.balance
        in_group = np.array([rule.matches(e) for e in portfolio.experiences], dtype=float)[cols.experience[kept]]
        coefficients = spend * (in_group - spec.limit)
        sense = pulp.LpConstraintGE if spec.sense == "at least" else pulp.LpConstraintLE
        _add(model, _expression(model, var_of, kept, coefficients), sense, 0.0, spec.name,
             f"{spec.sense} {spec.limit:.0%} of spend on {rule.label}", scale=1.0 / max(1.0, float(spend.max(initial=0.0))))


def add_roi_hurdle(model: Model, cols: Columns, var_of) -> None:
    """Portfolio ROI = NPV / PV cost >= hurdle, linear as: sum (NPV - hurdle x PV cost) x >= 0."""
    for spec in model.rule_specs:
        if spec.kind == "roi_hurdle":
            kept = model.column_ids
            coefficients = cols.npv[kept] - spec.limit * cols.pv_cost[kept]
            _add(model, _expression(model, var_of, kept, coefficients), pulp.LpConstraintGE, 0.0, spec.name,
                 f"the portfolio ROI must be at least {spec.limit:.0%}", scale=1.0 / max(1.0, float(np.abs(coefficients).max(initial=0.0))))


def _expression(model: Model, var_of: np.ndarray, col_ids: np.ndarray, coefficients) -> pulp.LpAffineExpression:
    variables = model.variables
    indices = var_of[col_ids]
    present = indices >= 0
    return pulp.LpAffineExpression(
        zip([variables[v] for v in indices[present].tolist()], np.asarray(coefficients, dtype=float)[present].tolist())
    )


# Weights of slack in the elastic model: blaming a budget or capacity (weighted per whole
# limit) names amounts a person can act on, so dropping a mandatory item or a dependency
# is the last resort.
CHOICE_SLACK_WEIGHT = 1000.0
LINK_SLACK_WEIGHT = 100.0


def _add(model: Model, expression, sense: int, rhs: float, name: str, meaning: str = "", scale: float = LINK_SLACK_WEIGHT) -> None:
    if model.elastic:
        # Slack relaxes the rule in the direction that makes it easier.
        slack = model.problem.add_variable(f"slack_{name}", 0, 1 if sense == pulp.LpConstraintEQ else None)
        expression = expression - slack if sense == pulp.LpConstraintLE else expression + slack
        model.slacks[name] = (slack, scale)
    constraint = pulp.LpConstraint(expression, sense, name, rhs)
    model.problem.addConstraint(constraint)
    model.constraints[name] = constraint
    if meaning:
        model.descriptions[name] = meaning


def add_choice_rules(model: Model, portfolio: Portfolio, rules: Rules, groups, var_of, names) -> None:
    """At most one (option, start) per experience; exactly one where mandatory or forced in."""
    for i, experience in enumerate(portfolio.experiences):
        required = rules.must_fund(experience)
        ids = groups[i]
        if not len(ids) and not required:
            continue
        why = "mandatory" if experience.mandatory else "forced in" if experience.key in rules.forced_in else "in flight"
        _add(
            model, _expression(model, var_of, ids, np.ones(len(ids))),
            pulp.LpConstraintEQ if required else pulp.LpConstraintLE, 1.0, f"choose_{names[i]}",
            f"{experience.id} ({experience.name}) is {why} and must be funded" if required else "", scale=CHOICE_SLACK_WEIGHT,
        )


def add_budget_rules(model: Model, portfolio: Portfolio, cols: Columns, var_of) -> None:
    """Spend in each quarter within that quarter's budget; total spend within the total budget."""
    kept = model.column_ids
    for spec in model.rule_specs:
        if spec.kind == "budget":
            spend = cols.spend[kept, spec.quarter]
            active = spend != 0
            _add(model, _expression(model, var_of, kept[active], spend[active]), pulp.LpConstraintLE, spec.limit, spec.name,
                 scale=_limit_scale(spec.limit, spend))
        elif spec.kind == "total_budget":
            spend = cols.spend[kept].sum(axis=1)
            _add(model, _expression(model, var_of, kept, spend), pulp.LpConstraintLE, spec.limit, spec.name,
                 scale=_limit_scale(spec.limit, spend))


def _limit_scale(limit: float, coefficients: np.ndarray) -> float:
    """Slack weight per unit of a budget: per whole limit, or per the largest spend when the limit is (near) zero.

    A budget of 0 weighted per EUR would make blaming it dearer than dropping every
    mandatory experience, and the message would not name the budget at all.
    """
    return 1.0 / max(limit, float(np.abs(coefficients).max(initial=0.0)), 1.0)


def add_capacity_rules(model: Model, portfolio: Portfolio, cols: Columns, var_of) -> None:
    """Each team's attention in each quarter within its capacity."""
    team_index = {team.name: t for t, team in enumerate(portfolio.teams)}
    for spec in model.rule_specs:
        if spec.kind == "capacity":
            ids, weeks = cols.attention_in(team_index[spec.team], spec.quarter)
            _add(model, _expression(model, var_of, ids, weeks), pulp.LpConstraintLE, spec.limit, spec.name,
                 scale=1.0 / max(spec.limit, 1.0))


def add_dependency_rules(model: Model, portfolio: Portfolio, rules: Rules, cols: Columns, groups, var_of, names) -> None:
    """A dependent starts only once its prerequisite is funded and live.

    For each quarter t in which the dependent could start: the dependent's columns starting
    by t are at most the prerequisite's columns live by t (go-live quarter before t). The
    cumulative form is tighter in the LP relaxation than one row per column.
    """
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    settings = portfolio.settings
    for i, experience in enumerate(portfolio.experiences):
        mine = groups[i]
        if not len(mine) or experience.commitment is not None:  # in flight: its start is history
            continue
        for ref in experience.requires:
            j = index[normalise_id(ref)]
            theirs = groups[j]
            prerequisite = portfolio.experiences[j]
            # What forces the conflict, when the scenario does: said with the rule it breaks.
            causes = ([f"{experience.id} is {_must_fund_why(experience, rules)}"] if rules.must_fund(experience) else []) + (
                [f"{prerequisite.id} is forced out by the scenario"] if prerequisite.key in rules.forced_out else [])
            for t in sorted(set(cols.start[mine].tolist())):
                started = mine[cols.start[mine] <= t]
                live = theirs[cols.start[theirs] + cols.delivery[theirs] <= t]
                label = quarter_label(settings, t)
                expression = _expression(model, var_of, started, np.ones(len(started))) - _expression(model, var_of, live, np.ones(len(live)))
                _add(
                    model, expression, pulp.LpConstraintLE, 0.0, f"requires_{names[i]}_{names[j]}_{label}",
                    f"{experience.id} requires {prerequisite.id} to be funded and live before it starts ({label})"
                    + (f", but {' and '.join(causes)}" if causes else ""),
                )


def _must_fund_why(experience: Experience, rules: Rules) -> str:
    """Why an experience must be funded, in the user's words."""
    if experience.mandatory:
        return "mandatory"
    return "forced in by the scenario" if experience.key in rules.forced_in else "in flight"


def add_exclusion_rules(model: Model, portfolio: Portfolio, rules: Rules, groups, var_of, names) -> None:
    """Alternatives: at most one of an excluding pair is funded."""
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    done: set[tuple[int, int]] = set()
    for i, experience in enumerate(portfolio.experiences):
        for ref in experience.excludes:
            j = index[normalise_id(ref)]
            pair = (min(i, j), max(i, j))
            if pair in done or not len(groups[i]) or not len(groups[j]):
                continue
            done.add(pair)
            both = np.concatenate([groups[i], groups[j]])
            other = portfolio.experiences[j]
            _add(
                model, _expression(model, var_of, both, np.ones(len(both))), pulp.LpConstraintLE, 1.0,
                f"excludes_{names[i]}_{names[j]}",
                f"{experience.id} and {other.id} are alternatives: at most one can be funded"
                + (f", but {experience.id} is {_must_fund_why(experience, rules)} and {other.id} is {_must_fund_why(other, rules)}"
                   if rules.must_fund(experience) and rules.must_fund(other) else ""),
            )


@dataclass(frozen=True)
class WrittenModel:
    """A model written as an MPS file, with the map from the file's columns and rows back to it.

    PuLP renames variables X0000000... in its own writing order and rows C0000000... in the
    order they were added: `variable_of_column[j]` is the index in `model.variables` of file
    column j (-1 for an elastic slack), `cost` its objective coefficient, `rows` the rule
    name of each row, `slack_column` the file column of each rule's slack (elastic models).
    """

    model: Model
    path: str
    variable_of_column: np.ndarray
    cost: np.ndarray
    rows: tuple[str, ...]
    slack_column: dict[str, int]


def write_model(model: Model, folder: str) -> WrittenModel:
    """Write the model as `folder`/model.mps (maximisation; the solver is told the sense)."""
    path = os.path.join(folder, "model.mps")
    written, _, _, _ = model.problem.writeMPS(path, rename=1)
    column = {variable.name: j for j, variable in enumerate(written)}
    variable_of_column = np.full(len(written), -1, dtype=np.int64)
    for v, variable in enumerate(model.variables):
        if variable.name in column:
            variable_of_column[column[variable.name]] = v
    objective = model.problem.objective
    cost = np.array([objective.get(variable, 0.0) for variable in written], dtype=float)
    slack_column = {name: column[slack.name] for name, (slack, _) in model.slacks.items() if slack.name in column}
    return WrittenModel(model, path, variable_of_column, cost, tuple(model.constraints), slack_column)
