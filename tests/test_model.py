"""The model: names that read like the inputs, dual signs, and the solvers' status quirks pinned."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pulp
import pytest

from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team
from planner.core.economics import columns
from planner.optimise.model import Rules, build_model, experience_labels, Model
from planner.optimise.solve import DUAL_SIGN, cbc_command, solve_model, start_solve, wait_for, write_model


def tiny_maximisation() -> tuple[pulp.LpProblem, pulp.LpConstraint]:
    problem = pulp.LpProblem("tiny", pulp.LpMaximize)
    x = problem.add_variable("x", 0, 10)
    problem.setObjective(3 * x)
    constraint = pulp.LpConstraint(2 * x, pulp.LpConstraintLE, "limit", 4)
    problem.addConstraint(constraint)
    return problem, constraint


@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_dual_sign_of_each_solver_is_pinned(solver):
    # max 3x s.t. 2x <= 4: one more unit of the limit is worth 1.5.
    problem, constraint = tiny_maximisation()
    problem.solve(cbc_command(msg=False, mip=False) if solver == "cbc" else pulp.HiGHS(msg=False, mip=False))
    assert DUAL_SIGN[solver] * constraint.pi == pytest.approx(1.5)


def test_pulp_calls_a_cbc_solve_stopped_by_its_time_limit_optimal():
    """The surprise this project guards against: PuLP's status says Optimal, the solution status does not."""
    hard = json.loads((Path(__file__).parent / "data" / "orlib" / "mknapcb_hard.json").read_text())[0]
    problem = pulp.LpProblem("hard", pulp.LpMaximize)
    x = [problem.add_variable(f"x{j}", 0, 1, cat=pulp.LpBinary) for j in range(hard["n"])]
    problem.setObjective(pulp.LpAffineExpression(zip(x, hard["profits"])))
    for i in range(hard["m"]):
        problem.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(zip(x, hard["weights"][i])), pulp.LpConstraintLE, f"c{i}", hard["capacities"][i]))
    problem.solve(cbc_command(msg=False, timeLimit=1))
    assert pulp.LpStatus[problem.status] == "Optimal"
    assert problem.sol_status == pulp.LpSolutionIntegerFeasible


def portfolio_with_ids(*ids: str) -> Portfolio:
    option = FundingOption("standard", 10.0, 0.0, (("Digital & Data", 1.0),), 1, 1.0)
    experiences = tuple(
        Experience(i, f"Experience {i}", "buy", "web", "all", "frontstage", "Digital & Data", 100.0, "conversion", 10.0,
                   0.1, 0.1, 0.1, (option,), requires=(ids[0],) if n else ())
        for n, i in enumerate(ids)
    )
    return Portfolio(experiences, (Team("Digital & Data", (5.0, 5.0)),), (100.0, 100.0), Settings(horizon_quarters=2))


def test_ids_that_pulp_would_merge_get_distinct_rule_labels():
    names = experience_labels(portfolio_with_ids("exp-1", "exp 1", "EXP/1"))
    assert len(set(n.casefold() for n in names)) == 3


def test_constraints_are_named_after_the_business_rule():
    portfolio = portfolio_with_ids("CX-1", "CX-2")
    cols = columns(portfolio)
    model = build_model(portfolio, Rules(), cols, np.ones(len(cols), dtype=bool))
    assert {"budget_2027Q1", "budget_2027Q2", "capacity_Digital_Data_2027Q1", "choose_CX_1", "requires_CX_2_CX_1_2027Q2"} <= set(model.constraints)


def test_empty_model_is_optimal_without_a_solver():
    portfolio = portfolio_with_ids("CX-1")
    cols = columns(portfolio)
    model = build_model(portfolio, Rules(), cols, np.zeros(len(cols), dtype=bool))
    outcome = solve_model(model, "cbc", None, 0.0)
    assert outcome.status == "optimal" and outcome.chosen == ()


def test_cbc_is_given_no_start(tmp_path):
    """CBC 2.10.3 proved a false optimum from the greedy plan given as its -mips start (bench/differential.py, portfolio
    514: tests/test_solver_truth.py pins it), so CBC gets no start; plan_portfolio keeps the start as a floor instead."""
    hard = json.loads((Path(__file__).parent / "data" / "orlib" / "mknapcb_hard.json").read_text())[0]
    rows, variables = np.repeat(np.arange(hard["m"]), hard["n"]), np.tile(np.arange(hard["n"]), hard["m"])
    order = np.lexsort((rows, variables))
    model = Model(np.arange(hard["n"]), [], np.array(hard["profits"], dtype=float), tuple(f"c{i}" for i in range(hard["m"])),
                  np.full(hard["m"], "L"), np.array(hard["capacities"], dtype=float),
                  (rows[order], variables[order], np.array(hard["weights"], dtype=float).ravel()[order]), np.zeros(hard["m"]))
    start, used = [], np.zeros(hard["m"])  # items in order while they fit: a plan the solver can improve on
    for j in range(hard["n"]):
        weights = np.array([hard["weights"][i][j] for i in range(hard["m"])])
        if np.all(used + weights <= hard["capacities"]):
            start.append(j)
            used += weights
    run = start_solve(write_model(model, str(tmp_path), negate_objective=True), "cbc", False, 1.0, 0.0, np.array(start), name="mip")
    assert wait_for([run], 30.0)
    assert "MIPStart" not in (tmp_path / "mip.log").read_text() and not list(tmp_path.glob("*.mst"))
    assert run.outcome().status in ("optimal", "feasible")
