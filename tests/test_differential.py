"""Differential tests: the planner's answers against an independent optimum (tests/reference.py).

Random portfolios (free and fixed starts, dependency chains, one- and two-sided
exclusions, mandatory, forced-in and forced-out items, balance rules, an ROI hurdle, small
and large uplifts, tight and loose budgets) are planned with CBC and with HiGHS and held to
the honesty contract: a plan said to be optimal is within its gap target of the true
optimum, a reported gap is never smaller than the true gap, the plan's objective recomputed
from its decisions is the one reported, it breaks no rule and beats the greedy baseline,
and "infeasible" only ever means no plan exists. Up to 12 experiences the truth is brute
force; from 20 to 60 it is SCIP on a model of its own. Portfolios with overlap groups
(combined uplift 1 - prod(1 - u), members of one reach or of nested reaches) are checked
the same way: the reference scores and models the overlap on its own, and its overlap is
compared with planner.rules.overlap's on drawn plans.

Hypothesis draws the cases derandomized (the same examples on every run) and does not
shrink them: each example is several solver runs, and a failure prints its CaseSpec,
which rebuilds the case exactly (`build_case(CaseSpec(...))`). Cases that failed once are
kept in tests/data/differential/ and run on every test run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from planner.core.errors import InfeasibleError, SolverError
from planner.optimise.optimiser import plan_portfolio
from reference import (CaseSpec, Finding, Optimum, Problem, TooLarge, brute_force, build_case, check_economics,
                             honesty_findings, infeasible_findings, make_problem, score_plan, scip_optimum)

DATA = Path(__file__).parent / "data" / "differential"
SOLVERS = ("cbc", "highs")
DIMENSIONS = ("journey_stage", "channel", "product_line", "layer")


def bounded(examples: int):
    """Hypothesis settings for solver-backed properties: fixed examples, no deadline, no shrinking, no database."""
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None, phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large))


@st.composite
def case_specs(draw, smallest: int, largest: int, brute_force_sized: bool = False, overlap: bool = False) -> CaseSpec:
    """A random case's knobs. Brute-force sizes keep free starts to 8 experiences over 4-6 quarters.
    With `overlap`, one or two overlap groups of 2-4 members, drawn last, and uplifts and budgets
    large enough that two or more members are often worth funding."""
    start = draw(st.sampled_from(("free", "fixed")))
    if brute_force_sized and start == "free":
        n, horizon = draw(st.integers(smallest, min(largest, 8))), draw(st.integers(4, 6))
    else:
        n, horizon = draw(st.integers(smallest, largest)), draw(st.integers(4, 8))
    share = st.none() | st.sampled_from((0.1, 0.2, 0.3))
    balance = draw(st.lists(st.tuples(st.sampled_from(DIMENSIONS), share, st.none() | st.sampled_from((0.4, 0.6))), max_size=2))
    return CaseSpec(
        seed=draw(st.integers(0, 2**31 - 1)),
        experiences=n,
        start_quarters=start,
        horizon=horizon,
        options=draw(st.integers(1, 3)),
        teams=draw(st.integers(1, 3)),
        uplift=draw(st.sampled_from((1.0, 3.0, 3.0) if overlap else (0.6, 1.0, 3.0))),
        budget_share=draw(st.sampled_from((0.5, 0.8, 1.3) if overlap else (0.15, 0.3, 0.5, 0.8, 1.3))),
        capacity_share=draw(st.sampled_from((0.4, 0.7, 1.5))),
        total_budget=draw(st.booleans()),
        requires=draw(st.sampled_from((0.0, 0.15, 0.3))),
        one_sided=draw(st.integers(0, max(1, n // 6))),
        two_sided=draw(st.integers(0, max(1, n // 6))),
        mandatory=draw(st.integers(0, max(1, n // 15))),
        forced_in=draw(st.integers(0, 1)),
        forced_out=draw(st.integers(0, 1)),
        balance=tuple((d, low, high) for d, low, high in balance if low is not None or high is not None),
        roi_hurdle=draw(st.none() | st.sampled_from((0.2, 0.5, 1.0))),
        ramp=draw(st.sampled_from((0, 0, 1, 2))),
        tail=draw(st.sampled_from((0, 0, 4))),
        gap=draw(st.sampled_from((0.0, 0.0, 0.001, 0.01))),
        objective=draw(st.sampled_from(("npv", "npv", "npv", "npv", "benefit", "reach"))),
        overlap=tuple(draw(st.lists(st.integers(2, 4), min_size=1, max_size=2))) if overlap else (),
    )


def small_truth(problem: Problem) -> Optimum:
    """Brute force; SCIP only where brute force gives up (reported in the failure message as the method)."""
    try:
        return brute_force(problem, node_limit=300_000)
    except TooLarge:
        return scip_optimum(problem)


def planner_findings(spec: CaseSpec, solver: str, optimum: Optimum, problem: Problem) -> list[Finding]:
    """Plan the case with `solver` and list every way its answer breaks the honesty contract."""
    portfolio, scenario = build_case(spec)
    try:
        plan = plan_portfolio(portfolio, replace(scenario, solver=solver))
    except InfeasibleError as error:
        return infeasible_findings(optimum, str(error))
    except SolverError as error:
        if optimum.status == "infeasible":
            return []  # no plan exists; an error instead of "infeasible" hides nothing
        return [Finding("error", str(error).splitlines()[0])]
    return honesty_findings(problem, plan, optimum)


def describe(spec: CaseSpec, solver: str, optimum: Optimum, findings: list[Finding]) -> str:
    lines = [f"{solver.upper()} on {spec.describe()}: reference {optimum.method} {optimum.status} {optimum.objective}",
             f"  rebuild: build_case({spec!r})"]
    return "\n".join(lines + [f"  {f.kind}: {f.detail}" for f in findings])


def assert_reference_agrees(spec: CaseSpec) -> Optimum | None:
    """The reference's cash flows and overlap equal the planner's, and brute force and SCIP find the same
    optimum (returned; None when brute force gives up)."""
    portfolio, scenario = build_case(spec)
    problem = make_problem(portfolio, scenario)
    check_economics(problem)
    try:
        exhaustive = brute_force(problem, node_limit=300_000)
    except TooLarge:
        return None  # counted nowhere: the planner tests then compare with SCIP alone
    modelled = scip_optimum(problem)
    assert modelled.status == exhaustive.status, spec
    if exhaustive.status == "optimal":
        assert modelled.objective == pytest.approx(exhaustive.objective, rel=1e-9, abs=1e-6), spec
    return exhaustive


@bounded(30)
@given(case_specs(3, 12, brute_force_sized=True))
def test_reference_economics_and_methods_agree(spec: CaseSpec) -> None:
    """The reference's cash flows equal planner.core.economics', and brute force and SCIP find the same optimum."""
    assert_reference_agrees(spec)


@bounded(30)
@given(case_specs(3, 12, brute_force_sized=True, overlap=True))
def test_reference_economics_and_methods_agree_with_overlap_groups(spec: CaseSpec) -> None:
    """With overlap groups: the reference's overlap equals planner.rules.overlap's on drawn plans, and
    brute force (scoring with 1 - prod(1 - u)) and SCIP (its own exact model of it) find the same optimum."""
    assert_reference_agrees(spec)


@pytest.mark.parametrize("solver", SOLVERS)
@bounded(14)
@given(spec=case_specs(3, 12, brute_force_sized=True, overlap=True))
def test_planner_is_honest_against_brute_force_with_overlap_groups(solver: str, spec: CaseSpec) -> None:
    """Small portfolios with overlap groups: brute force and SCIP agree, and the planner's plan is the optimum
    (within its gap target), scored with the overlap as the reference scores it."""
    optimum = assert_reference_agrees(spec)
    if optimum is None:
        return
    problem = make_problem(*build_case(spec))
    findings = planner_findings(spec, solver, optimum, problem)
    assert not findings, describe(spec, solver, optimum, findings)


@pytest.mark.parametrize("solver", SOLVERS)
@bounded(14)
@given(spec=case_specs(3, 12, brute_force_sized=True))
def test_planner_is_honest_against_brute_force(solver: str, spec: CaseSpec) -> None:
    portfolio, scenario = build_case(spec)
    problem = make_problem(portfolio, scenario)
    optimum = small_truth(problem)
    findings = planner_findings(spec, solver, optimum, problem)
    assert not findings, describe(spec, solver, optimum, findings)


def overlap_case(seed: int, groups: tuple[int, ...], start_quarters: str, ramp: int = 0, tail: int = 0) -> CaseSpec:
    return CaseSpec(seed=seed, experiences=7 if start_quarters == "free" else 9, start_quarters=start_quarters, horizon=5, uplift=3.0,
                    budget_share=0.8, ramp=ramp, tail=tail, overlap=groups)


# Seeds where the optimum with overlap beats by 0.2% to 42% the best plan chosen blind to it (summed uplifts),
# scored with overlap: groups of two to four, one reach shared or several, free and fixed starts, ramp and tail.
OVERLAP_DECIDES = [
    overlap_case(24, (3,), "fixed", ramp=1, tail=4), overlap_case(34, (3,), "fixed", ramp=1, tail=4),
    overlap_case(1, (4,), "free", tail=4), overlap_case(2, (4,), "free", tail=4), overlap_case(0, (4,), "fixed"),
    overlap_case(90, (3,), "free", ramp=1), overlap_case(157, (3,), "free", ramp=1), overlap_case(41, (2, 2), "free", tail=4),
]


@pytest.mark.parametrize("spec", OVERLAP_DECIDES, ids=lambda spec: f"seed{spec.seed}-groups{'-'.join(map(str, spec.overlap))}")
def test_where_overlap_decides_the_optimum_brute_force_scip_cbc_and_highs_agree(spec: CaseSpec) -> None:
    """The overlap changes the optimum here (so the formulation, not the rest of the model, is on trial):
    brute force and SCIP agree on it, and CBC and HiGHS each prove it."""
    optimum = assert_reference_agrees(spec)
    problem = make_problem(*build_case(spec))
    blind = brute_force(replace(problem, overlap_groups=()))
    assert score_plan(problem, blind.decisions(problem.portfolio)).objective < optimum.objective * (1 - 1e-3), spec
    report = [describe(spec, solver, optimum, found) for solver in SOLVERS if (found := planner_findings(spec, solver, optimum, problem))]
    assert not report, "\n".join(report)


def test_scips_roi_hurdle_keeps_each_choices_own_benefit_under_a_balance_rule() -> None:
    """bench/differential.py --overlap, portfolio 43 of seed 7: a balance rule's loop variable once shadowed the set of
    overlap-group members in scip_optimum, so the ROI hurdle row took the benefit off the first two experiences and
    SCIP "proved" 2,008,831.70 below the plan CBC and HiGHS found (2,694,505.35, which breaks no rule)."""
    spec = CaseSpec(seed=1380712132, experiences=38, horizon=8, options=3, teams=1, uplift=0.6, budget_share=0.8, total_budget=True,
                    requires=0.0, one_sided=2, forced_out=1, balance=(("product_line", None, 0.6),), roi_hurdle=0.5, ramp=1, tail=4,
                    overlap=(2,))
    optimum = scip_optimum(make_problem(*build_case(spec)))
    assert optimum.status == "optimal" and optimum.objective == pytest.approx(2_694_505.35, abs=0.01)


@pytest.mark.parametrize("solver", SOLVERS)
def test_the_reach_objective_with_an_roi_hurdle_counts_the_overlap(solver: str) -> None:
    """The hurdle is on NPV, which overlap lowers whatever the objective: brute force finds a plan that meets it
    (590,520 customer-quarters). Found by the reference's brute force: the planner wrote no overlap rows under
    the reach objective, so its hurdle row counted no overlap, and its own check then refused the plan
    ("the portfolio ROI 39.5% is below the hurdle of 50%"); the terms now enter the hurdle row (weight 0)."""
    spec = CaseSpec(seed=3, experiences=7, horizon=5, uplift=3.0, budget_share=0.8, overlap=(3,), objective="reach", roi_hurdle=0.5)
    problem = make_problem(*build_case(spec))
    optimum = brute_force(problem)
    assert optimum.status == "optimal" and optimum.objective == pytest.approx(590_520.0)
    findings = planner_findings(spec, solver, optimum, problem)
    assert not findings, describe(spec, solver, optimum, findings)


@pytest.mark.parametrize("solver", SOLVERS)
def test_under_the_reach_objective_the_hurdle_counts_the_overlap_on_random_portfolios(solver: str) -> None:
    """Twelve seeded small portfolios, reach objective, an ROI hurdle and a group of two to four: the planner's plan
    is brute force's optimum (or both find none)."""
    for seed in range(12):
        spec = CaseSpec(seed=seed, experiences=6 + seed % 2, horizon=5, uplift=3.0, budget_share=0.8, overlap=(2 + seed % 3,),
                        objective="reach", roi_hurdle=(0.2, 0.5, 1.0)[seed % 3])
        problem = make_problem(*build_case(spec))
        optimum = brute_force(problem)
        findings = planner_findings(spec, solver, optimum, problem)
        assert not findings, describe(spec, solver, optimum, findings)


@pytest.mark.xfail(strict=True, reason="planner/CBC finding, not fixed here: CBC claims optimal (gap 0) at 17,732,414.46; "
                                        "HiGHS and SCIP prove 17,735,245.41. Without the overlap group, or without the hurdle, "
                                        "CBC proves 17,735,245.41")
def test_cbc_proves_the_optimum_with_a_four_member_overlap_group_and_an_roi_hurdle() -> None:
    """bench/differential.py --overlap --seed 7, portfolio 460 (116 experiences): one group of four (only X005
    funded in either plan), hurdle 20%, a min-share balance rule. CBC's plan funds X079 (lean, from Q1) and starts X002 in Q2 instead of Q1."""
    spec = CaseSpec(seed=830435694, experiences=116, start_quarters="free", horizon=5, options=3, teams=3, uplift=3.0,
                    budget_share=1.3, capacity_share=0.4, requires=0.1, two_sided=13, mandatory=1, forced_in=1, forced_out=1,
                    balance=(("channel", 0.1, None),), roi_hurdle=0.2, ramp=1, overlap=(4,), time_limit=5.0)
    problem = make_problem(*build_case(spec))
    optimum = scip_optimum(problem)
    assert optimum.status == "optimal" and optimum.objective == pytest.approx(17_735_245.41, abs=0.01)
    findings = planner_findings(spec, "cbc", optimum, problem)
    assert not findings, describe(spec, "cbc", optimum, findings)


@bounded(10)
@given(spec=case_specs(20, 60))
def test_cbc_highs_and_scip_agree(spec: CaseSpec) -> None:
    """Both solvers on 20-60 experiences, against SCIP on the reference model."""
    portfolio, scenario = build_case(spec)
    problem = make_problem(portfolio, scenario)
    optimum = scip_optimum(problem, time_limit=60)
    assert optimum.status in ("optimal", "infeasible"), optimum
    report = [describe(spec, solver, optimum, found) for solver in SOLVERS if (found := planner_findings(spec, solver, optimum, problem))]
    assert not report, "\n".join(report)


@bounded(8)
@given(spec=case_specs(6, 30), solver=st.sampled_from(SOLVERS), growth=st.sampled_from((1.1, 1.5, 3.0)))
def test_npv_never_falls_when_the_budget_grows(spec: CaseSpec, solver: str, growth: float) -> None:
    """More money (every quarter and the total) never gives a worse plan, beyond the gap the larger plan admits; spend stays within budget."""
    spec = replace(spec, roi_hurdle=None, balance=(), objective="npv")  # a hurdle or a share can make a richer plan worse; money alone cannot
    portfolio, scenario = build_case(spec)
    richer = replace(portfolio, budget=tuple(b * growth for b in portfolio.budget),
                     total_budget=None if portfolio.total_budget is None else portfolio.total_budget * growth)
    try:
        plan = plan_portfolio(portfolio, replace(scenario, solver=solver))
    except InfeasibleError:
        return  # nothing to compare: the richer budget's plan is checked by the other properties
    more = plan_portfolio(richer, replace(scenario, solver=solver))
    for each, budget in ((plan, portfolio.budget), (more, richer.budget)):
        assert all(spent <= limit * (1 + 1e-6) for spent, limit in zip(each.spend_by_quarter, budget)), spec
    allowed = more.solve.gap_target * abs(more.npv) + 1e-6 * max(1.0, abs(plan.npv))
    assert more.npv >= plan.npv - allowed, (f"{solver}: NPV {plan.npv:,.2f} at the budget, {more.npv:,.2f} at x{growth} "
                                            f"({plan.solve.status} / {more.solve.status}); build_case({spec!r})")


def saved_cases() -> list[Path]:
    return sorted(DATA.glob("*.json"))


def load_case(path: Path) -> tuple[CaseSpec, tuple[str, ...]]:
    """A saved failing case: its CaseSpec and the solvers it failed with."""
    data = json.loads(path.read_text())
    spec = data["spec"]
    spec["balance"] = tuple(tuple(rule) for rule in spec["balance"])
    spec["overlap"] = tuple(spec.get("overlap", ()))
    return CaseSpec(**spec), tuple(data["solvers"])


def save_case(spec: CaseSpec, findings: dict[str, list[Finding]], name: str) -> Path:
    """Keep a failing case as tests/data/differential/<name>.json: its spec and each failing solver's findings."""
    DATA.mkdir(parents=True, exist_ok=True)
    spec_data = asdict(spec)
    spec_data.pop("extra", None)
    path = DATA / f"{name}.json"
    path.write_text(json.dumps({"spec": spec_data, "described": spec.describe(), "solvers": sorted(findings),
                                "found": {solver: [asdict(f) for f in found] for solver, found in findings.items()}}, indent=1) + "\n")
    return path


@pytest.mark.parametrize("path", saved_cases(), ids=lambda p: p.stem)
def test_saved_case_is_honest(path: Path) -> None:
    """Cases that once broke the contract (found by these properties or by bench/differential.py)."""
    spec, solvers = load_case(path)
    portfolio, scenario = build_case(spec)
    problem = make_problem(portfolio, scenario)
    optimum = small_truth(problem) if spec.experiences <= 12 else scip_optimum(problem)
    report = [describe(spec, solver, optimum, found) for solver in solvers if (found := planner_findings(spec, solver, optimum, problem))]
    assert not report, "\n".join(report)


def test_a_scenario_is_applied_once() -> None:
    """The reference reads the scenario through apply_scenario only: forced out means no choices, forced in means must fund."""
    spec = CaseSpec(seed=3, experiences=6, forced_in=1, forced_out=1)
    portfolio, scenario = build_case(spec)
    problem = make_problem(portfolio, scenario)
    ids = [e.id for e in problem.portfolio.experiences]
    assert not problem.candidates[ids.index(scenario.forced_out[0])]
    assert problem.must[ids.index(scenario.forced_in[0])]


def test_highs_returns_its_start_as_optimal_on_the_saved_model() -> None:
    """Pins a HiGHS 1.16 fact found by these tests (tests/data/differential/highs-false-optimal-balance-8.*):
    given a feasible start (setSolution) on this 23-column model, HiGHS with presolve on reports
    "Optimal" and returns the start itself (NPV -74,137.86) with an objective value (35,415.12)
    that is not the start's and lies above the true optimum (16,825.36, brute force and SCIP);
    with presolve off it finds the optimum. A HiGHS "optimal" is therefore only evidence once
    the solution's own value is recomputed. When this test fails, HiGHS changed: re-check the
    planner's HiGHS reading and update this pin."""
    import highspy
    import numpy as np

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.readModel(str(DATA / "highs-false-optimal-balance-8.mps"))
    highs.changeObjectiveSense(highspy.ObjSense.kMaximize)
    highs.setOptionValue("mip_rel_gap", 0.0)
    costs = np.asarray(highs.getLp().col_cost_, dtype=float)
    start = np.zeros(len(costs))
    start[[int(c) for c in (DATA / "highs-false-optimal-balance-8.start.txt").read_text().split()]] = 1.0
    incumbent = highspy.HighsSolution()
    incumbent.col_value = start.tolist()
    highs.setSolution(incumbent)
    highs.run()
    values = np.asarray(highs.getSolution().col_value, dtype=float)
    assert highs.modelStatusToString(highs.getModelStatus()) == "Optimal"
    assert np.allclose(values, start)
    assert float(costs @ values) == pytest.approx(-74_137.86, abs=0.01)
    assert highs.getInfo().objective_function_value == pytest.approx(35_415.12, abs=0.01)


def test_the_contract_check_catches_each_kind_of_lie() -> None:
    """The checker is not vacuous: a wrong objective, a false optimum and a false infeasible are each reported."""
    spec = CaseSpec(seed=2, experiences=6, start_quarters="fixed", uplift=3.0, budget_share=0.5)
    portfolio, scenario = build_case(spec)
    problem = make_problem(portfolio, scenario)
    truth = brute_force(problem)
    plan = plan_portfolio(portfolio, replace(scenario, solver="cbc"))
    assert truth.status == "optimal" and truth.objective > 0
    assert honesty_findings(problem, plan, truth) == []
    inflated = replace(plan, solve=replace(plan.solve, objective=plan.solve.objective + 1000.0))
    assert [f.kind for f in honesty_findings(problem, inflated, truth)] == ["wrong objective"]
    better = replace(truth, objective=truth.objective * 1.01 + 1.0)
    assert {f.kind for f in honesty_findings(problem, plan, better)} == {"false optimal", "wrong gap"}
    assert [f.kind for f in infeasible_findings(truth, "No plan satisfies all the rules")] == ["false infeasible"]
    assert infeasible_findings(replace(truth, status="infeasible", objective=None), "No plan") == []
