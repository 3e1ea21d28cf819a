"""The optimisation model: build it from (portfolio, rules, columns), solve it, diagnose infeasibility.

Building is a pure function: `build_model` returns a fresh PuLP problem whose constraints
are named after the business rule (budget_2027Q1, capacity_Digital_2027Q2,
requires_CX_7_CX_3_2027Q3); ids never become solver names directly, since PuLP maps
"-+[] ->/" to "_" and "exp-1" would collide with "exp 1". Every constraint family is one
small function. Expressions are built matrix-style (LpAffineExpression over zipped
lists), never by term-by-term sums, so building stays cheaper than solving.

Solving writes the model once as an MPS file (`write_model`) and runs each solve in a
process of its own (`start_solve`: the CBC binary, or a Python process running HiGHS) that
the caller can stop at its deadline; `solve_model` is the one-call form. The status is
reported honestly: PuLP calls a solve that stopped at its time limit "Optimal", so the
status here comes from the solver's own result (CBC's log, HiGHS's model status), with the
best bound and the proven gap.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pulp

from planner.domain import Experience, Portfolio, normalise_id, quarter_label
from planner.economics import Columns
from planner.errors import SolverError
from planner.scenario import BalanceRule, Scenario
from planner.scratch import solver_folder

# In a maximisation PuLP's CBC interface gives a constraint's dual (.pi) as the NPV gained
# per extra unit of its right-hand side, HiGHS's the opposite sign (pinned in tests/test_model.py).
DUAL_SIGN = {"cbc": 1.0, "highs": -1.0}


@dataclass(frozen=True)
class Rules:
    """The scenario rules the model enforces beyond the portfolio itself (keys are normalised ids)."""

    forced_in: frozenset[str] = frozenset()
    forced_out: frozenset[str] = frozenset()
    objective: str = "npv"
    balance: tuple[BalanceRule, ...] = ()
    roi_hurdle: float | None = None

    def must_fund(self, experience: Experience) -> bool:
        """Mandatory, forced in, or in flight and not stopped (stopping is forcing out)."""
        return (experience.mandatory or experience.key in self.forced_in
                or (experience.commitment is not None and experience.key not in self.forced_out))

    @classmethod
    def of(cls, scenario: Scenario) -> "Rules":
        return cls(
            forced_in=frozenset(normalise_id(i) for i in scenario.forced_in),
            forced_out=frozenset(normalise_id(i) for i in scenario.forced_out),
            objective=scenario.objective,
            balance=scenario.balance,
            roi_hurdle=scenario.roi_hurdle,
        )


@dataclass(frozen=True)
class RuleSpec:
    """A budget, capacity, balance or hurdle rule as the model names it, with its limit.

    `sense` is "at most" or "at least"."""

    name: str
    kind: str
    label: str
    quarter: int | None
    team: str | None
    limit: float
    unit: str
    sense: str = "at most"
    balance: BalanceRule | None = None


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


@dataclass(frozen=True)
class SolveOutcome:
    """What one solve established: status, chosen columns, objective, bound, duals, timings."""

    status: str  # optimal, feasible, infeasible, no_solution, error
    chosen: tuple[int, ...]
    objective: float
    best_bound: float | None
    duals: dict[str, float]
    seconds: float
    message: str = ""
    # Elastic models: each rule's slack in the solution (how far the rule had to give).
    slack: dict[str, float] = field(default_factory=dict)
    # The caller stopped the solver at its deadline.
    stopped: bool = False


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


def rule_specs(portfolio: Portfolio, rules: Rules | None = None) -> list[RuleSpec]:
    """The budget, total-budget, capacity, balance and hurdle rules, in report order."""
    settings = portfolio.settings
    currency = settings.currency
    specs = [
        RuleSpec(f"budget_{quarter_label(settings, q)}", "budget", f"Budget {quarter_label(settings, q)}", q, None, limit, currency)
        for q, limit in enumerate(portfolio.budget)
    ]
    if portfolio.total_budget is not None:
        specs.append(RuleSpec("budget_total", "total_budget", "Total budget over the horizon", None, None, portfolio.total_budget, currency))
    team_names = _unique_slugs([team.name for team in portfolio.teams])
    for team, slug in zip(portfolio.teams, team_names):
        for q, limit in enumerate(team.capacity):
            label = quarter_label(settings, q)
            specs.append(RuleSpec(f"capacity_{slug}_{label}", "capacity", f"{team.name} capacity {label}", q, team.name, limit, "team-weeks"))
    rules = rules or Rules()
    slugs = _unique_slugs([f"{rule.dimension}_{rule.value}" for rule in rules.balance])
    for rule, slug in zip(rules.balance, slugs):
        for sense, share in (("at least", rule.min_share), ("at most", rule.max_share)):
            if share is not None:
                bound = "min" if sense == "at least" else "max"
                specs.append(RuleSpec(f"balance_{slug}_{bound}", "balance", f"Share of spend on {rule.label}", None, None, share,
                                      "share of spend", sense, rule))
    if rules.roi_hurdle is not None:
        specs.append(RuleSpec("roi_hurdle", "roi_hurdle", "Portfolio ROI hurdle", None, None, rules.roi_hurdle, "ROI", "at least"))
    return specs


def _unique_slugs(values: list[str]) -> list[str]:
    slugs: list[str] = []
    for index, value in enumerate(values):
        slug = re.sub(r"[^A-Za-z0-9]+", "_", value).strip("_")[:30] or "team"
        slugs.append(slug if slug not in slugs else f"{slug}_{index}")
    return slugs


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


# ---------------------------------------------------------------------------------------
# Solving: the model is written once, and each solve runs in a process of its own
#
# The parent builds the model and writes it as an MPS file; the LP relaxation and the MIP
# then run side by side as separate processes (the CBC binary itself, or a Python process
# running HiGHS), each in its own process group so that the caller can stop it, solver and
# all, at its deadline. Nothing is pickled, no Python process is forked, and HiGHS never
# runs in the caller's process (its threads do not survive a fork).


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


# The Python process that runs HiGHS on a written model (see run_highs).
_HIGHS_PROCESS = "import sys; from planner.model import run_highs; run_highs(sys.argv[1:])"


@dataclass
class SolverRun:
    """One solve of a written model in its own process group; `outcome()` once it has finished."""

    written: WrittenModel
    solver: str
    relax: bool
    process: subprocess.Popen
    files: str  # the run's files are files + ".sol", ".log", ".json", ".npz"
    started: float
    time_limit: float | None

    def finished(self) -> bool:
        return self.process.poll() is not None

    def stop(self) -> None:
        """Stop the solver and everything it started (nothing happens if it has finished)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()

    def outcome(self) -> SolveOutcome:
        """What the finished solve established, read from its files."""
        read = _read_cbc if self.solver == "cbc" else _read_highs
        status, values, duals, bound, message = read(self)
        return _outcome(self.written, self.relax, self.solver, status, values, duals, bound, message,
                        time.perf_counter() - self.started)


def start_solve(written: WrittenModel, solver: str, relax: bool, time_limit: float | None, gap: float,
                warm_start: np.ndarray | None = None, name: str = "solve") -> SolverRun:
    """Start solving the written model (its LP relaxation if `relax`) in a new process group.

    `warm_start` (column ids of a feasible plan) gives the solver a first incumbent.
    """
    files = os.path.join(os.path.dirname(written.path), name)
    start_values = None if warm_start is None or relax else _start_values(written, warm_start)
    if solver == "cbc":
        command = [cbc_command().path, written.path, "-max"]
        if start_values is not None:
            # CBC 2.10.3 scores a -mips start without the -max sign: the start looks like the
            # worst plan and is dropped for the first heuristic's. Minimising the negated
            # objective keeps it (same log bound sign: CBC minimises the negation either way).
            command = [cbc_command().path, _write_negated_objective(written.path, files + ".min.mps")]
            _write_cbc_start(start_values, files + ".mst")
            command += ["-mips", files + ".mst"]
        if relax:
            command += ["-initialSolve"]
        else:
            if time_limit is not None:
                command += ["-sec", f"{time_limit:g}"]
            # The feasibility pump stalled nothing and only cost time on these models (measured).
            # Preprocessing off: CBC 2.10.3 preprocessing returned a wrong "optimal" plan, below a
            # feasible greedy plan, on a small model (tests/test_optimise.py pins it).
            command += ["-preprocess", "off", "-feas", "off", "-ratio", f"{gap:g}", "-solve"]
        command += ["-printingOptions", "all", "-solution", files + ".sol"]
        environment = None
    else:
        if start_values is not None:
            np.save(files + ".start.npy", start_values)
        command = [sys.executable, "-c", _HIGHS_PROCESS, written.path, files, "1" if relax else "0",
                   "" if time_limit is None else f"{time_limit:g}", f"{gap:g}", "" if start_values is None else files + ".start.npy"]
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    with open(files + ".log", "wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, env=environment)
    return SolverRun(written, solver, relax, process, files, time.perf_counter(), time_limit)


def wait_for(runs: list[SolverRun], seconds: float | None, done=None) -> bool:
    """Wait until every run has finished (or `done()` holds), at most `seconds`; whether that happened."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while True:
        if (done() if done is not None else all(run.finished() for run in runs)):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(0.005)


def solve_model(model: Model, solver: str, time_limit: float | None, gap: float, relax: bool = False,
                warm_start: np.ndarray | None = None, wall_limit: float | None = None) -> SolveOutcome:
    """Solve the model (or its LP relaxation) in a solver process and report what the solver proved.

    The process is stopped after `wall_limit` seconds, if given: the outcome then says
    "no_solution" and `stopped`.
    """
    if not model.variables:  # nothing worth funding: the empty plan is optimal, no solver needed
        return SolveOutcome("optimal", (), 0.0, 0.0, {}, 0.0, "nothing to choose")
    with solver_folder() as folder:
        run = start_solve(write_model(model, folder), solver, relax, time_limit, gap, warm_start)
        try:
            if not wait_for([run], wall_limit):
                return stopped_outcome(wall_limit)
        finally:
            run.stop()
        return run.outcome()


def stopped_outcome(seconds: float) -> SolveOutcome:
    return SolveOutcome("no_solution", (), math.nan, None, {}, seconds, f"stopped after {seconds:g} s without a plan from the solver",
                        stopped=True)


def cbc_command(**options) -> pulp.LpSolver:
    """PuLP 3's bundled CBC. PuLP 3.3 warns that PuLP 4 drops it; this project pins PuLP 3 for it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(**options)


def _outcome(written: WrittenModel, relax: bool, solver: str, status: str, values: np.ndarray, row_duals: np.ndarray,
             bound: float | None, message: str, seconds: float) -> SolveOutcome:
    model = written.model
    if relax:
        if status != "optimal":
            return SolveOutcome("infeasible", (), math.nan, None, {}, seconds, message)
        # Duals as PuLP's interface to the same solver would give them (DUAL_SIGN maps them to NPV per unit).
        row = {name: r for r, name in enumerate(written.rows)}
        sign = DUAL_SIGN[solver]
        duals = {spec.name: sign * float(row_duals[row[spec.name]]) for spec in model.rule_specs if spec.name in row}
        objective = float(written.cost @ values)
        return SolveOutcome("optimal", (), objective, objective, duals, seconds, message)
    chosen: tuple[int, ...] = ()
    objective = math.nan
    slack: dict[str, float] = {}
    if status in ("optimal", "feasible"):
        mine = written.variable_of_column >= 0
        chosen = tuple(sorted(model.column_ids[written.variable_of_column[mine][values[mine] > 0.5]].tolist()))
        objective = float(written.cost @ values)
        slack = {name: float(values[j]) for name, j in written.slack_column.items()}
        if bound is not None and status == "optimal":
            bound = max(bound, objective)
    return SolveOutcome(status, chosen, objective, bound, {}, seconds, message, slack=slack)


_CBC_RESULT = re.compile(r"^Result - (.*)$", re.MULTILINE)
_CBC_BOUND = re.compile(r"best possible (-?[0-9.eE+]+)")
_CBC_GAP_EXIT = re.compile(r"Exiting as integer gap of (-?[0-9.eE+]+)")


def _start_values(written: WrittenModel, warm_start: np.ndarray) -> np.ndarray:
    """The value of each file column in a plan given as column ids: 1 for its choices, 0 elsewhere."""
    chosen = np.zeros(int(written.model.column_ids.max(initial=-1)) + 1, dtype=bool)
    chosen[warm_start[warm_start < len(chosen)]] = True
    mine = written.variable_of_column >= 0
    values = np.zeros(len(written.variable_of_column))
    values[mine] = chosen[written.model.column_ids[written.variable_of_column[mine]]]
    return values


def _write_negated_objective(path: str, target: str) -> str:
    """Copy the MPS file at `path` to `target` with every objective coefficient negated; returns `target`."""
    objective = None
    section = ""
    with open(path, encoding="ascii") as source, open(target, "w", encoding="ascii") as copy:
        for line in source:
            if not line.startswith(" "):
                section = line.split()[0] if line.strip() else section
            elif section == "ROWS" and objective is None and line.split()[0] == "N":
                objective = line.split()[1]
            elif section in ("COLUMNS", "RHS"):
                fields = line.split()
                if objective in fields[1::2]:
                    for k in range(1, len(fields) - 1, 2):
                        if fields[k] == objective:
                            fields[k + 1] = repr(-float(fields[k + 1]))
                    line = "    " + "  ".join(fields) + "\n"
            copy.write(line)
    return target


def _write_cbc_start(values: np.ndarray, path: str) -> None:
    """CBC's initial solution file (-mips): every column's value, in the layout PuLP writes."""
    lines = ["Stopped on time - objective value 0\n"]
    for j, value in enumerate(values.astype(int).tolist()):
        lines.append(f"{j:>7} X{j:07d} {value:>15} {0:>23}\n")
    with open(path, "w") as handle:
        handle.writelines(lines)


def _read_cbc_solution(path: str, columns: int, rows: int) -> tuple[str, np.ndarray, np.ndarray]:
    """CBC's solution file: its first line, each column's value and each row's dual."""
    values = np.zeros(columns)
    duals = np.zeros(rows)
    with open(path, encoding="utf-8", errors="replace") as handle:
        first = handle.readline().strip()
        for line in handle:
            parts = line.split()
            if len(parts) < 4:
                continue
            if parts[0] == "**":  # CBC marks values that break a bound or row
                parts = parts[1:]
            name = parts[1]
            if name[0] == "X":
                values[int(name[1:])] = float(parts[2])
            elif name[0] == "C":
                duals[int(name[1:])] = float(parts[3])
    return first, values, duals


def _read_cbc(run: SolverRun):
    """(status, values, duals, bound, message) of a finished CBC run, from its solution file and log.

    PuLP calls a solve stopped by its time limit "Optimal"; the status here comes from CBC's
    own result line instead.
    """
    written = run.written
    with open(run.files + ".log", encoding="utf-8", errors="replace") as handle:
        log = handle.read()
    if not os.path.exists(run.files + ".sol"):
        raise SolverError(f"CBC stopped without a solution file (exit code {run.process.returncode}): {_last_line(log)}")
    first, values, duals = _read_cbc_solution(run.files + ".sol", len(written.variable_of_column), len(written.rows))
    result = _CBC_RESULT.findall(log)
    result_line = result[-1].strip() if result else first
    if run.relax:
        return ("optimal" if first.startswith("Optimal") else "infeasible"), values, duals, None, result_line
    # CBC minimises the negated objective: its "best possible" is minus our upper bound.
    bounds = [-float(b) for b in _CBC_BOUND.findall(log)]
    bound = min(bounds) if bounds else None
    if result_line.startswith("Optimal solution found"):
        gap_exit = _CBC_GAP_EXIT.findall(log)
        if gap_exit:  # stopped within the gap target: the log states the absolute gap it proved
            bound = float(written.cost @ values) + abs(float(gap_exit[-1]))
        return "optimal", values, duals, bound, result_line
    if "infeasible" in result_line.lower() or first.lower().startswith(("infeasible", "integer infeasible")):
        return "infeasible", values, duals, None, result_line
    # "Stopped on time - objective value ..." (or on iterations, nodes...) means a plan was found.
    has_solution = first.startswith("Stopped") and "objective value" in first
    if has_solution:
        return "feasible", values, duals, bound, result_line or "stopped before proving optimality"
    return "no_solution", values, duals, bound, result_line or "no solution found"


def _read_highs(run: SolverRun):
    """(status, values, duals, bound, message) of a finished HiGHS run, from the files `run_highs` wrote."""
    if not os.path.exists(run.files + ".json"):
        with open(run.files + ".log", encoding="utf-8", errors="replace") as handle:
            raise SolverError(f"HiGHS stopped without a result (exit code {run.process.returncode}): {_last_line(handle.read())}")
    with open(run.files + ".json", encoding="utf-8") as handle:
        result = json.load(handle)
    arrays = np.load(run.files + ".npz")
    values, duals = arrays["values"], arrays["duals"]
    if len(values) != len(run.written.cost) or len(duals) != len(run.written.rows):  # HiGHS gives no solution when it has none
        values, duals = np.zeros(len(run.written.cost)), np.zeros(len(run.written.rows))
    return result["status"], values, duals, result["bound"], result["message"]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def run_highs(argv: list[str]) -> None:
    """The HiGHS process: solve an MPS file written by `write_model` and write the result beside it.

    argv: MPS path, files prefix, "1" for the LP relaxation, time limit ("" for none), gap,
    and a .npy file of starting column values ("" for none). The objective is negated and
    minimised, as PuLP's own HiGHS interface does, so the duals keep the sign
    DUAL_SIGN["highs"] corrects.
    """
    import highspy

    path, files, relax, time_limit, gap, start = argv
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.readModel(path)
    lp = highs.getLp()
    n = lp.num_col_
    everything = np.arange(n, dtype=np.int32)
    highs.changeColsCost(n, everything, -np.asarray(lp.col_cost_, dtype=float))
    if relax == "1":
        highs.changeColsIntegrality(n, everything, np.array([highspy.HighsVarType.kContinuous] * n))
    else:
        highs.setOptionValue("mip_rel_gap", float(gap))
    if time_limit:
        highs.setOptionValue("time_limit", float(time_limit))
    if start:
        incumbent = highspy.HighsSolution()
        incumbent.col_value = np.load(start).tolist()
        highs.setSolution(incumbent)
    highs.run()
    status = highs.getModelStatus()
    info = highs.getInfo()
    solution = highs.getSolution()
    # The dual bound of the negated minimisation is minus our upper bound.
    bound = -float(info.mip_dual_bound) if relax != "1" and math.isfinite(info.mip_dual_bound) else None
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if status == highspy.HighsModelStatus.kOptimal:
        verdict = "optimal"
    elif status == highspy.HighsModelStatus.kInfeasible or relax == "1":
        verdict = "infeasible"
    elif has_solution:
        verdict = "feasible"
    else:
        verdict = "no_solution"
    np.savez(files + ".npz", values=np.asarray(solution.col_value, dtype=float), duals=np.asarray(solution.row_dual, dtype=float))
    with open(files + ".json", "w", encoding="utf-8") as handle:  # written last: its presence says the run finished
        json.dump({"status": verdict, "bound": bound, "message": highs.modelStatusToString(status)}, handle)


# ---------------------------------------------------------------------------------------
# Infeasibility


def diagnose_infeasible(portfolio: Portfolio, rules: Rules, cols: Columns, keep: np.ndarray, solver: str,
                        wall_limit: float | None = None) -> list[str]:
    """Name the rules in conflict, in the user's words, by re-solving with penalised slack.

    Every budget, capacity, mandatory/forced choice, dependency and exclusion rule gets a
    slack variable; minimising the scaled slack finds the smallest relaxation that makes
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
    chosen = set(outcome.chosen)
    conflicts: list[str] = []
    for name in model.slacks:
        amount = outcome.slack.get(name, 0.0)
        if amount <= 1e-6:
            continue
        spec = limits.get(name)
        conflicts.append(_conflict_text(portfolio, spec, model.descriptions.get(name, name), amount, cols, chosen))
    return conflicts or ["the rules are inconsistent, but no single family of rules could be blamed"]


def _conflict_text(portfolio: Portfolio, spec: RuleSpec | None, meaning: str, amount: float, cols: Columns, chosen: set[int]) -> str:
    if spec is None:
        return meaning
    needed = spec.limit + amount
    currency = portfolio.settings.currency
    if spec.kind == "budget":
        return (f"the mandatory and forced-in experiences need {format_money(needed, currency)} in {quarter_label(portfolio.settings, spec.quarter)}; "
                f"the budget is {format_money(spec.limit, currency)}")
    if spec.kind == "balance":
        return f"the plan cannot put {spec.sense} {spec.limit:.0%} of its spend on {spec.balance.label} within the other rules"
    if spec.kind == "roi_hurdle":
        return f"the portfolio ROI hurdle of {spec.limit:.0%} cannot be met together with the mandatory and forced-in experiences"
    if spec.kind == "total_budget":
        return (f"the mandatory and forced-in experiences need {format_money(needed, currency)} over the horizon; "
                f"the total budget is {format_money(spec.limit, currency)}")
    return (f"team {spec.team} needs {needed:,.1f} team-weeks in {quarter_label(portfolio.settings, spec.quarter)} for the mandatory "
            f"and forced-in experiences; its capacity is {spec.limit:,.1f}")


def format_money(value: float, currency: str) -> str:
    """1234567 -> '1.23M EUR', 45000 -> '45.0k EUR': short amounts for messages."""
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:,.2f}M {currency}"
    if magnitude >= 1e3:
        return f"{value / 1e3:,.1f}k {currency}"
    return f"{value:,.0f} {currency}"
