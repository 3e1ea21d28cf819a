"""The matrix-form build: the same model as the PuLP reference, index names only, ids that once collided."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import highspy
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pulp_reference  # noqa: E402
from generate import random_portfolio  # noqa: E402

from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team  # noqa: E402
from planner.core.economics import columns  # noqa: E402
from planner.optimise.model import Rules, build_model  # noqa: E402
from planner.optimise.solve import write_model  # noqa: E402
from planner.optimise.optimiser import columns_on_offer, plan_portfolio  # noqa: E402
from planner.inputs.scenario import BalanceRule, Scenario  # noqa: E402


def read_back(path: str, written) -> tuple[dict, dict, dict]:
    """The file as HiGHS reads it, keyed by what its names stand for: (entries, row bounds, column cost/bounds/integrality).

    A column is its economics column id (or ("slack", rule) in an elastic model), a row its rule name.
    """
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    assert highs.readModel(path) == highspy.HighsStatus.kOk
    lp = highs.getLp()
    slack_of = {column: name for name, column in written.slack_column.items()}
    keys = [int(written.model.column_ids[v]) if v >= 0 else ("slack", slack_of[j]) for j, v in enumerate(written.variable_of_column)]
    matrix = lp.a_matrix_
    # Each attribute read copies the whole array out of HiGHS: read each once.
    start, index, value = list(matrix.start_), list(matrix.index_), list(matrix.value_)
    entries = {(written.rows[index[k]], keys[j]): value[k] for j in range(lp.num_col_) for k in range(start[j], start[j + 1]) if value[k] != 0}
    rows = {written.rows[r]: bounds for r, bounds in enumerate(zip(lp.row_lower_, lp.row_upper_))}
    integral = list(lp.integrality_) or [highspy.HighsVarType.kContinuous] * lp.num_col_
    cols = {keys[j]: (cost, lower, upper, integral[j] == highspy.HighsVarType.kInteger)
            for j, (cost, lower, upper) in enumerate(zip(lp.col_cost_, lp.col_lower_, lp.col_upper_))}
    return entries, rows, cols


def assert_same_model(expected: tuple[dict, dict, dict], found: tuple[dict, dict, dict]) -> None:
    (expected_entries, expected_rows, expected_cols), (entries, rows, cols) = expected, found
    assert rows == expected_rows
    assert entries.keys() == expected_entries.keys()
    keys = list(expected_entries)
    # The reference file rounds to 13 significant digits; the matrix file writes doubles exactly.
    np.testing.assert_allclose([entries[k] for k in keys], [expected_entries[k] for k in keys], rtol=1e-12)
    assert cols.keys() == expected_cols.keys()
    keys = list(expected_cols)
    np.testing.assert_allclose([cols[k][0] for k in keys], [expected_cols[k][0] for k in keys], rtol=1e-12)
    assert [cols[k][1:] for k in keys] == [expected_cols[k][1:] for k in keys]


def rule_variants(portfolio: Portfolio) -> list[Rules]:
    keys = [e.key for e in portfolio.experiences]
    return [
        Rules(),
        Rules(forced_in=frozenset({keys[1], keys[5]}), forced_out=frozenset({keys[2]}), roi_hurdle=0.1,
              balance=(BalanceRule("journey_stage", "buy", 0.1, 0.6),)),
        Rules(objective="reach"),
    ]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("mode", ["fixed", "free"])
@pytest.mark.parametrize("elastic", [False, True], ids=["model", "elastic"])
def test_matrix_build_writes_the_same_model_as_the_pulp_reference(seed, mode, elastic, tmp_path):
    portfolio = random_portfolio(40 + 23 * seed, seed, start_quarters=mode, teams=1 + seed % 4)
    cols = columns(portfolio)
    for n, rules in enumerate(rule_variants(portfolio)):
        keep = columns_on_offer(portfolio, rules, cols)
        (tmp_path / f"reference{n}").mkdir()
        (tmp_path / f"matrix{n}").mkdir()
        reference = pulp_reference.build_model(portfolio, rules, cols, keep, elastic)
        model = build_model(portfolio, rules, cols, keep, elastic)
        expected = pulp_reference.write_model(reference, str(tmp_path / f"reference{n}"))
        written = write_model(model, str(tmp_path / f"matrix{n}"))
        assert_same_model(read_back(expected.path, expected), read_back(written.path, written))
        assert model.descriptions == reference.descriptions
        assert len(model.variables) == len(reference.variables)


def test_negated_copy_is_the_same_model_with_the_objective_negated(tmp_path):
    portfolio = random_portfolio(60, 3, start_quarters="free")
    cols = columns(portfolio)
    model = build_model(portfolio, Rules(), cols, columns_on_offer(portfolio, Rules(), cols))
    written = write_model(model, str(tmp_path), negate_objective=True)
    entries, rows, cols_found = read_back(written.path, written)
    negated_entries, negated_rows, negated_cols = read_back(written.negated_path, written)
    assert (negated_entries, negated_rows) == (entries, rows)
    assert {key: (-cost, *rest) for key, (cost, *rest) in cols_found.items()} == negated_cols
    assert write_model(model, str(tmp_path)).negated_path is None


def portfolio_with_ids(*ids: str, requires: dict[str, str] | None = None, excludes: dict[str, str] | None = None) -> Portfolio:
    option = FundingOption("standard", 10.0, 0.0, (("Digital", 1.0),), 1, 1.0)
    experiences = tuple(
        Experience(i, f"Experience {n}", "buy", "web", "all", "frontstage", "Digital", 100.0, "conversion", 10.0, 0.1, 0.1, 0.1,
                   (option,), requires=tuple(r for r in [(requires or {}).get(i)] if r), excludes=tuple(x for x in [(excludes or {}).get(i)] if x))
        for n, i in enumerate(ids)
    )
    return Portfolio(experiences, (Team("Digital", (5.0, 5.0, 5.0)),), (25.0, 25.0, 25.0), Settings(horizon_quarters=3, start_quarters="free"))


def test_ids_whose_labels_collide_still_plan():
    """Issue 9, symptom 5: ids A_1_2, A 1 and A_1 passed validate, and plan died on PuLP's "overlapping constraint names: choose_A_1_2"."""
    portfolio = portfolio_with_ids("A_1_2", "A 1", "A_1")
    plan = plan_portfolio(portfolio)
    assert plan.solve.status == "optimal"
    assert plan.npv > 0
    cols = columns(portfolio)
    model = build_model(portfolio, Rules(), cols, np.ones(len(cols), dtype=bool))
    assert len(set(model.constraints)) == len(model.constraints)
    assert {"choose_A_1_2", "choose_A_1", "choose_A_1_3"} <= set(model.constraints)


def test_rule_names_stay_unique_when_two_pairs_of_ids_read_alike():
    """requires_A_B_C_2027Q2 reads the same for (A, B_C) and (A_B, C): each rule keeps a name, and its own meaning."""
    portfolio = portfolio_with_ids("A", "B_C", "A_B", "C", requires={"A": "B_C", "A_B": "C"}, excludes={"A": "B_C", "A_B": "C"})
    cols = columns(portfolio)
    for elastic in (False, True):
        model = build_model(portfolio, Rules(), cols, np.ones(len(cols), dtype=bool), elastic=elastic)
        assert len(set(model.constraints)) == len(model.constraints)
        meanings = [model.descriptions[name] for name in model.constraints if name.startswith("requires_")]
        assert any(m.startswith("A requires B_C") for m in meanings) and any(m.startswith("A_B requires C") for m in meanings)
        if elastic:
            assert len(model.slacks) == len(model.constraints)
    plan = plan_portfolio(replace(portfolio, budget=(100.0, 100.0, 100.0)))
    assert plan.solve.status == "optimal"


def test_no_user_text_reaches_the_solver_file(tmp_path):
    ids = ("CX 1/é", "CX-1", "budget_2027Q1", "X0000000")
    portfolio = portfolio_with_ids(*ids, requires={"CX-1": "CX 1/é"})
    cols = columns(portfolio)
    model = build_model(portfolio, Rules(forced_in=frozenset({"cx-1"})), cols, np.ones(len(cols), dtype=bool), elastic=True)
    written = write_model(model, str(tmp_path))
    words = set(Path(written.path).read_text(encoding="ascii").split())
    keywords = {"*SENSE:Maximize", "NAME", "MODEL", "ROWS", "N", "L", "E", "G", "OBJ", "COLUMNS", "MARK", "'MARKER'", "'INTORG'",
                "'INTEND'", "RHS", "BOUNDS", "UP", "BND", "ENDATA"}
    names = {f"X{j:07d}" for j in range(len(written.cost))} | {f"C{r:07d}" for r in range(len(model.constraints))}
    assert {word for word in words if not _is_number(word)} <= keywords | names


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def test_a_rule_with_a_scenario_conflict_is_named_in_words():
    portfolio = portfolio_with_ids("A", "B", requires={"B": "A"})
    plan_error = None
    try:
        plan_portfolio(portfolio, Scenario(forced_in=("B",), forced_out=("A",)))
    except Exception as error:  # the conflict is reported with its rule in words
        plan_error = str(error)
    assert plan_error is not None and "B requires A to be funded and live before it starts" in plan_error


# The greedy plan of each seeded portfolio below as the greedy baseline gave it before it was
# sped up (commit before "greedy baseline: ..."): (columns funded, sum of their ids, NPV, feasible).
GREEDY_BEFORE = [
    (11, 1332, 3184901.2442, True), (15, 1623, 2944097.3583, False), (18, 14553, 3828030.6392, True),
    (22, 17006, 2622727.0364, True), (29, 5888, 3757695.2085, False), (28, 4323, 3167300.3519, False),
    (47, 61495, 5088729.7415, False), (52, 65584, 4376748.6825, False),
]


def greedy_cases():
    """Seeded portfolios, every other one with experiences in flight, each under no rules and under forced/ROI/balance rules."""
    from planner.core.domain import Commitment

    for seed in range(2):
        for mode in ("fixed", "free"):
            portfolio = random_portfolio(80 + 53 * seed, seed, start_quarters=mode)
            if seed % 2:
                experiences = list(portfolio.experiences)
                for k, i in enumerate(range(3, len(experiences), 17)):
                    e = experiences[i]
                    experiences[i] = replace(e, commitment=Commitment(e.options[k % len(e.options)].name, k % 3 - 1, None), requires=())
                portfolio = replace(portfolio, experiences=tuple(experiences))
            keys = [e.key for e in portfolio.experiences]
            yield portfolio, Rules()
            yield portfolio, Rules(forced_in=frozenset(keys[5:9]), forced_out=frozenset(keys[10:12]), roi_hurdle=0.2,
                                   balance=(BalanceRule("journey_stage", "buy", 0.1, 0.5),))


def test_greedy_plan_is_unchanged_on_seeded_portfolios():
    from planner.optimise.optimiser import greedy_baseline

    found = []
    for portfolio, rules in greedy_cases():
        cols = columns(portfolio)
        chosen, baseline = greedy_baseline(portfolio, rules, cols, columns_on_offer(portfolio, rules, cols))
        found.append((len(chosen), int(chosen.sum()), round(baseline.npv, 4), baseline.feasible))
    assert found == GREEDY_BEFORE
