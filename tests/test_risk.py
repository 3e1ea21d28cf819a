"""Planning under uncertainty: sampling, scoring a fixed plan in every draw, the optimizer's
curse, stability and the contingency reserve, each checked against an independent number."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.special import betaincinv, ndtr

from conftest import SMALL_CHOICES, make_plan, small_portfolio
from planner.analysis import information, risk
from planner.core.domain import Estimates, Portfolio
from planner.core.economics import cash_flows, present_value
from planner.core.errors import InputError
from planner.optimise.optimiser import plan_portfolio


def with_estimates(portfolio: Portfolio, **fields) -> Portfolio:
    """Every experience given the same relative estimates (reach_low=0.8 means 80% of its reach)."""
    experiences = []
    for e in portfolio.experiences:
        values = dict(fields)
        for key in ("reach_low", "reach_high"):
            if key in values:
                values[key] = values[key] * e.reach_per_quarter
        experiences.append(replace(e, estimates=Estimates(**values)))
    return replace(portfolio, experiences=tuple(experiences))


def certain(portfolio: Portfolio) -> Portfolio:
    return replace(portfolio, experiences=tuple(replace(e, uplift_low=e.uplift_base, uplift_high=e.uplift_base)
                                                for e in portfolio.experiences))


def test_the_tabulated_pert_quantile_is_within_1e_4_of_scipy():
    rng = np.random.default_rng(3)
    shape = rng.random(300)
    z = np.clip(rng.standard_normal((300, 200)) * 1.5, -6, 6).astype(np.float32)  # items x draws, single precision as sampled
    exact = betaincinv(1 + 4 * shape[:, None], 1 + 4 * (1 - shape[:, None]), ndtr(z.astype(float)))
    assert np.abs(risk._pert_unit_quantile(shape, z) - exact).max() < 1e-4


@pytest.mark.parametrize("distribution", ["pert", "triangular"])
def test_slips_in_whole_quarters_are_the_rounded_exact_quantiles(distribution):
    rng = np.random.default_rng(4)
    high = np.array([1.0, 2.0, 3.0, 4.0])
    low = mode = np.zeros(4)
    z = rng.standard_normal((4, 5000)).astype(np.float32)
    u = ndtr(z.astype(float))
    if distribution == "pert":
        exact = high[:, None] * betaincinv(1.0, 5.0, u)
    else:
        exact = high[:, None] * (1.0 - np.sqrt(1.0 - u))
    assert np.array_equal(risk._whole_quarters(distribution, low, mode, high, z), np.rint(exact).astype(np.int64))


@pytest.mark.parametrize("distribution, mean", [
    ("pert", lambda low, mode, high: (low + 4 * mode + high) / 6),
    ("triangular", lambda low, mode, high: (low + mode + high) / 3),
])
def test_sampled_means_are_within_three_standard_errors_of_the_analytic_mean(distribution, mean):
    portfolio = with_estimates(small_portfolio(), reach_low=0.5, reach_high=1.1, cost_low=0.9, cost_high=1.6)
    settings = risk.RiskSettings(draws=20_000, seed=7, distribution=distribution)
    draws = risk.sample(portfolio, settings)
    for i, e in enumerate(portfolio.experiences):
        for kind, values in (("uplift", draws.uplift[:, i]), ("reach", draws.reach[:, i]), ("cost_factor", draws.cost_factor[:, i])):
            low, mode, high = risk.three_points(e)[kind]
            error = values.std() / np.sqrt(len(values))
            assert abs(values.mean() - mean(low, mode, high)) <= 3 * error + 1e-12, (e.id, kind)
            assert values.min() >= low - 1e-9 and values.max() <= high + 1e-9


def test_estimates_of_one_journey_stage_move_together_and_others_do_not():
    portfolio = small_portfolio()  # CX-101 and CX-102 share the "buy" stage; CX-103 is "get help" in another team
    settings = risk.RiskSettings(draws=20_000, seed=1, stage_correlation=0.6, team_correlation=0.0)
    draws = risk.sample(portfolio, settings)
    ids = [e.id for e in portfolio.experiences]
    corr = np.corrcoef(draws.uplift.T)
    assert corr[ids.index("CX-101"), ids.index("CX-102")] > 0.45
    assert abs(corr[ids.index("CX-101"), ids.index("CX-103")]) < 0.05


def test_the_same_seed_gives_the_same_draws_and_another_seed_others():
    portfolio = small_portfolio()
    one = risk.sample(portfolio, risk.RiskSettings(draws=100, seed=5))
    assert np.array_equal(one.uplift, risk.sample(portfolio, risk.RiskSettings(draws=100, seed=5)).uplift)
    assert not np.array_equal(one.uplift, risk.sample(portfolio, risk.RiskSettings(draws=100, seed=6)).uplift)


def test_with_certain_inputs_every_draw_scores_the_plans_own_npv_and_spend():
    portfolio = certain(small_portfolio())
    plan = make_plan(portfolio, SMALL_CHOICES)
    simulation = risk.simulate(plan, risk.sample(portfolio, risk.RiskSettings(draws=40)))
    assert np.allclose(simulation.npv, plan.npv, rtol=1e-12, atol=1e-6)
    assert np.allclose(simulation.spend, np.array(plan.spend_by_quarter)[None, :], atol=1e-6)
    assert simulation.loss_probability.value == 0.0 and simulation.p10.value == pytest.approx(plan.npv)


def test_with_only_uplift_uncertain_the_mean_npv_is_the_pert_mean_npv_within_three_standard_errors():
    portfolio = small_portfolio()
    plan = make_plan(portfolio, SMALL_CHOICES)
    simulation = risk.simulate(plan, risk.sample(portfolio, risk.RiskSettings(draws=20_000, seed=11)))
    analytic = sum(d.pv_benefit * risk.pert_mean(d.experience.uplift_low, d.experience.uplift_base, d.experience.uplift_high)
                   / d.experience.uplift_base - d.pv_cost for d in plan.funded)
    assert abs(simulation.mean.value - analytic) <= 3 * simulation.npv.std() / np.sqrt(simulation.draws)
    assert simulation.mean.error > 0


def test_a_slipped_delivery_is_scored_as_the_same_option_delivered_that_much_later():
    portfolio = certain(small_portfolio())
    plan = make_plan(portfolio, SMALL_CHOICES)
    settings = portfolio.settings
    draws = risk.sample(portfolio, risk.RiskSettings(draws=20))
    slipped = portfolio.experiences.index(next(e for e in portfolio.experiences if e.id == "CX-101"))
    slip = draws.slip.copy()
    slip[:3, slipped] = [0, 1, 2]
    simulation = risk.simulate(plan, replace(draws, slip=slip))
    decision = next(d for d in plan.funded if d.experience.id == "CX-101")
    option = next(o for o in decision.experience.options if o.name == decision.option)
    for n, quarters in enumerate([0, 1, 2]):
        flows = cash_flows(settings, decision.experience, replace(option, delivery_quarters=option.delivery_quarters + quarters),
                           decision.start_quarter)
        expected = plan.npv - decision.npv + present_value(settings, flows.benefit) - present_value(settings, flows.cost)
        assert simulation.npv[n] == pytest.approx(expected, rel=1e-12)


def test_cost_overruns_make_a_fully_spent_plan_overspend_and_the_reserve_covers_the_quantile():
    portfolio = with_estimates(certain(small_portfolio()), cost_low=1.0, cost_high=1.5)
    plan = make_plan(portfolio, SMALL_CHOICES)
    simulation = risk.simulate(plan, risk.sample(portfolio, risk.RiskSettings(draws=4000, seed=2)))
    reserve = risk.contingency(simulation, 0.8)
    quantile = np.quantile(simulation.spend, 0.8, axis=0)
    assert reserve.reserve == pytest.approx(tuple(np.maximum(quantile - np.array(portfolio.budget), 0.0)))
    covered = (simulation.spend <= np.array(portfolio.budget) + np.array(reserve.reserve) + 1e-6).mean(axis=0)
    assert (covered >= 0.8 - 1e-9).all()


def test_the_drivers_shares_of_variance_add_up_to_one():
    portfolio = with_estimates(small_portfolio(), reach_low=0.7, reach_high=1.2)
    plan = make_plan(portfolio, SMALL_CHOICES)
    simulation = risk.simulate(plan, risk.sample(portfolio, risk.RiskSettings(draws=3000)), top_drivers=20)
    assert sum(d.share_of_variance for d in simulation.drivers) == pytest.approx(1.0)


def test_the_corrected_estimate_is_the_point_npv_when_nothing_is_uncertain_and_shrinks_when_it_is():
    portfolio = certain(small_portfolio())
    plan = make_plan(portfolio, SMALL_CHOICES)
    draws = risk.sample(portfolio, risk.RiskSettings(draws=100))
    sure = risk.disappointment(plan, risk.simulate(plan, draws), draws)
    assert sure.corrected_npv == pytest.approx(plan.npv) and sure.expected_disappointment == pytest.approx(0.0, abs=1e-6)
    unsure_portfolio = with_estimates(small_portfolio(), reach_low=0.3, reach_high=1.0)
    unsure_plan = make_plan(unsure_portfolio, SMALL_CHOICES)
    draws = risk.sample(unsure_portfolio, risk.RiskSettings(draws=4000))
    unsure = risk.disappointment(unsure_plan, risk.simulate(unsure_plan, draws), draws)
    assert unsure.expected_disappointment > 0  # reach is skewed down: fresh draws earn less than the point estimate
    # Each funded experience's estimate moves towards the prior mean: the total lies between.
    funded = risk._funded_blocks(unsure_plan, int(draws.slip.max()))
    prior = risk.choice_npv(unsure_plan.portfolio, draws, funded).mean(axis=0).mean() * len(unsure_plan.funded)
    assert min(prior, unsure_plan.npv) - 1e-6 <= unsure.corrected_npv <= max(prior, unsure_plan.npv) + 1e-6
    assert unsure.corrected_npv != pytest.approx(unsure_plan.npv)


def test_stability_with_certain_inputs_puts_every_funded_experience_in_the_core():
    portfolio = certain(small_portfolio())
    plan = plan_portfolio(portfolio)
    result = risk.stability(plan, risk.RiskSettings(seed=3), resolves=4)
    assert result.solved == 4 and result.distinct_plans == 1
    funded = {d.experience.id for d in plan.funded}
    assert {m.experience_id for m in result.members if m.label == "core"} == funded
    assert all(m.label == "exterior" for m in result.members if m.experience_id not in funded)


def test_stability_on_uncertain_inputs_gives_shares_between_0_and_1_and_labels_by_threshold():
    portfolio = with_estimates(small_portfolio(), reach_low=0.2, reach_high=1.5, cost_low=0.8, cost_high=1.8)
    plan = plan_portfolio(portfolio)
    result = risk.stability(plan, risk.RiskSettings(seed=4), resolves=12, workers=2)
    assert result.solved == 12
    for member in result.members:
        expected = "core" if member.share >= 0.9 else "exterior" if member.share <= 0.1 else "borderline"
        assert member.label == expected
    serial = risk.stability(plan, risk.RiskSettings(seed=4), resolves=12, workers=1)
    assert [(m.experience_id, m.share) for m in serial.members] == [(m.experience_id, m.share) for m in result.members]


@pytest.mark.parametrize("settings, where", [
    (risk.RiskSettings(draws=5), "risk.draws"),
    (risk.RiskSettings(distribution="normal"), "risk.distribution"),
    (risk.RiskSettings(stage_correlation=1.2), "risk.stage_correlation"),
    (risk.RiskSettings(stage_correlation=0.7, team_correlation=0.5), "risk.team_correlation"),
    (risk.RiskSettings(confidence=1.0), "risk.confidence"),
])
def test_bad_risk_settings_are_located_errors(settings, where):
    with pytest.raises(InputError) as raised:
        risk.sample(small_portfolio(), settings)
    assert [p.where for p in raised.value.problems] == [where]


# ---------------------------------------------------------------------------------------
# Value of information, against enumeration


def three_experiences() -> Portfolio:
    """Three independent experiences, fixed starts, a budget that funds about two of them."""
    from conftest import option
    from planner.core.domain import Experience, Settings, Team

    settings = Settings(horizon_quarters=4, start_quarters="fixed", gap=0.0)
    experiences = (
        Experience("A", "Sure winner", "buy", "app", "Home", "frontstage", "T", 10_000, "conversion", 500.0, 0.02, 0.02, 0.02,
                   (option("standard", 100_000, 0, "T", 4, 1, 1.0),)),
        Experience("B", "Marginal bet", "buy", "web", "Home", "frontstage", "T", 10_000, "conversion", 400.0, 0.002, 0.02, 0.06,
                   (option("standard", 100_000, 0, "T", 4, 1, 1.0),)),
        Experience("C", "Steady", "use", "web", "Home", "frontstage", "T", 10_000, "conversion", 400.0, 0.015, 0.016, 0.017,
                   (option("standard", 100_000, 0, "T", 4, 1, 1.0),)),
    )
    return Portfolio(experiences, (Team("T", (100.0,) * 4),), (200_000.0, 0.0, 0.0, 0.0), settings)


def enumerated_optimum(portfolio: Portfolio) -> float:
    """The best NPV over every subset of experiences (one option, fixed start each), by brute force."""
    import itertools

    from planner.core.economics import columns

    cols = columns(portfolio)
    best = 0.0
    for subset in itertools.chain.from_iterable(itertools.combinations(range(len(cols)), r) for r in range(len(cols) + 1)):
        chosen = list(subset)
        if len(set(cols.experience[chosen].tolist())) < len(chosen):
            continue
        if (cols.spend[chosen].sum(axis=0) > np.array(portfolio.budget) + 1e-6).any():
            continue
        best = max(best, float(cols.npv[chosen].sum()))
    return best


def test_value_of_information_equals_enumeration_on_the_same_draws():
    portfolio = three_experiences()
    settings = risk.RiskSettings(seed=9)
    plan = plan_portfolio(portfolio)
    found = {f.experience_id: f for f in information.value_of_information(plan, settings, samples=20)}
    assert "A" not in found  # its estimates are certain: nothing to learn
    today_portfolio = information.expected_portfolio(portfolio, settings)
    today_value = enumerated_optimum(today_portfolio)
    draws = risk.sample(portfolio, replace(settings, stage_correlation=0.0, team_correlation=0.0), draws=20, seed=settings.seed + 2)
    b = 1
    mean_uplift = risk.pert_mean(*risk.three_points(portfolio.experiences[b])["uplift"])
    gains = []
    today_plan = plan_portfolio(today_portfolio)
    for row in range(20):
        known = replace(portfolio.experiences[b], reach_per_quarter=float(draws.reach[row, b]),
                        uplift_low=float(draws.uplift[row, b]), uplift_base=float(draws.uplift[row, b]), uplift_high=float(draws.uplift[row, b]))
        changed = replace(today_portfolio, experiences=(today_portfolio.experiences[0], known, today_portfolio.experiences[2]))
        decision = today_plan.decisions[b]
        today_at_draw = today_plan.npv + (decision.pv_benefit * (known.uplift_base * known.reach_per_quarter
                                                                 / (mean_uplift * known.reach_per_quarter) - 1) if decision.funded else 0.0)
        gains.append(max(0.0, enumerated_optimum(changed) - today_at_draw))
    assert today_plan.npv == pytest.approx(today_value)
    assert found["B"].value == pytest.approx(np.mean(gains), rel=1e-6, abs=1e-3)
    assert found["B"].value > 0 and not found["B"].certain_zero
    # Found from the envelope of a few plans' lines, not from a re-solve per draw.
    assert found["B"].solves < 2 + 20


def test_an_estimate_whose_whole_range_leaves_the_plan_unchanged_is_worth_exactly_nothing():
    portfolio = three_experiences()
    plan = plan_portfolio(portfolio)
    found = {f.experience_id: f for f in information.value_of_information(plan, risk.RiskSettings(), samples=20)}
    # C stays out over its whole range: even its best case earns less than B's expected value.
    assert found["C"].certain_zero and found["C"].value == 0.0 and found["C"].solves == 2


def test_a_lean_resolve_funds_what_the_full_plan_funds_and_is_worth_as_much():
    """Stability's re-solves skip the LP relaxation and return a small answer: the same plan as plan_portfolio's."""
    from planner.analysis.resolves import resolve

    portfolio = with_estimates(small_portfolio(), reach_low=0.2, reach_high=1.5, cost_low=0.8, cost_high=1.8)
    plan = plan_portfolio(portfolio)
    rules = risk.rules_of(plan)
    draws = risk.sample(plan.portfolio, risk.RiskSettings(seed=4), draws=20)
    for row in range(6):
        sampled = risk.sampled_portfolio(plan.portfolio, draws, row)
        full = plan_portfolio(sampled, rules, start_from=plan)
        lean = resolve(sampled, rules, plan)
        assert lean.status == full.solve.status == "optimal"
        assert lean.npv == pytest.approx(full.npv, rel=1e-9)
        assert set(lean.funded) == {d.experience.key for d in full.funded}
