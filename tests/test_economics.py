"""Hand-computed cases for the economics: discounting, delivery spread, ramp, run cost, payback."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team
from planner.core.economics import (benefit_per_quarter, cash_flows, columns, discount_factors, flow_rows, payback_quarter, present_value,
                                     starts)


def option(cost=300.0, run=0.0, delivery=3, share=1.0, weeks=30.0) -> FundingOption:
    return FundingOption("standard", cost, run, (("Digital", weeks),), delivery, share)


def experience(opt: FundingOption, reach=1000.0, uplift=0.01, value=10.0, earliest=0) -> Experience:
    return Experience("CX-1", "Faster checkout", "buy", "app", "retail", "frontstage", "Digital", reach, "conversion",
                      value, uplift / 2, uplift, min(1.0, uplift * 2), (opt,), earliest_start=earliest)


def test_quarter_three_is_discounted_by_one_full_year():
    factors = discount_factors(Settings(annual_discount_rate=0.08), 8)
    assert factors[3] == pytest.approx(1 / 1.08)
    assert factors[0] == pytest.approx(1.08 ** -0.25)


def test_one_off_cost_is_spread_evenly_over_the_delivery_quarters():
    flows = cash_flows(Settings(horizon_quarters=8), experience(option(cost=300.0, delivery=3)), option(cost=300.0, delivery=3), start=2)
    assert flows.one_off.tolist() == [0, 0, 100, 100, 100, 0, 0, 0]


def test_benefit_and_run_cost_start_the_quarter_after_go_live():
    opt = option(cost=100.0, run=5.0, delivery=2)
    flows = cash_flows(Settings(horizon_quarters=6), experience(opt), opt, start=1)
    # Delivered in quarters 1-2, live at the end of quarter 2: benefit 1000 x 0.01 x 10 = 100 from quarter 3.
    assert flows.benefit.tolist() == [0, 0, 0, 100, 100, 100]
    assert flows.run.tolist() == [0, 0, 0, 5, 5, 5]


def test_ramp_of_two_quarters_reaches_full_benefit_in_the_third_quarter_live():
    opt = option(cost=0.0, delivery=1)
    flows = cash_flows(Settings(horizon_quarters=6, ramp_quarters=2), experience(opt), opt, start=0)
    assert flows.benefit.tolist() == pytest.approx([0, 100 / 3, 200 / 3, 100, 100, 100])


def test_option_share_scales_the_benefit():
    opt = option(cost=0.0, delivery=1, share=0.6)
    flows = cash_flows(Settings(horizon_quarters=3), experience(opt), opt, start=0)
    assert flows.benefit.tolist() == pytest.approx([0, 60, 60])


def test_tail_quarters_count_benefits_after_the_horizon():
    opt = option(cost=0.0, delivery=1)
    settings = Settings(horizon_quarters=2, tail_quarters=2, annual_discount_rate=0.0)
    assert present_value(settings, cash_flows(settings, experience(opt), opt, 0).benefit) == pytest.approx(300)


def test_npv_by_hand():
    # Cost 200 in quarter 0, benefit 100 in quarters 1-3 at 10% a year.
    opt = option(cost=200.0, delivery=1)
    settings = Settings(horizon_quarters=4, annual_discount_rate=0.10)
    flows = cash_flows(settings, experience(opt), opt, 0)
    expected = -200 * 1.1 ** -0.25 + sum(100 * 1.1 ** (-(q + 1) / 4) for q in (1, 2, 3))
    assert present_value(settings, flows.net) == pytest.approx(expected)


@pytest.mark.parametrize(
    "net, expected",
    [
        ([-100, 30, 30, 30, 30], 4),  # -100, -70, -40, -10, +20
        ([-100, 50, 50], 2),  # exactly zero counts as paid back
        ([-100, 10, 10], None),
        ([0, 0, 5], 2),  # never negative: the first quarter with cash
        ([0, 0, 0], None),
    ],
)
def test_payback_is_the_first_quarter_cumulative_net_cash_turns_non_negative(net, expected):
    assert payback_quarter(net) == expected


def test_free_starts_must_finish_inside_the_horizon_and_fixed_starts_use_the_earliest():
    opt = option(delivery=3)
    assert list(starts(Settings(horizon_quarters=8), experience(opt, earliest=2), opt)) == [2, 3, 4, 5]
    assert list(starts(Settings(horizon_quarters=8, start_quarters="fixed"), experience(opt, earliest=2), opt)) == [2]


def test_vectorised_columns_agree_with_the_scalar_cash_flows():
    options = (option(cost=120.0, run=3.0, delivery=2, share=0.7), option(cost=400.0, run=8.0, delivery=3, share=1.0))
    exp = experience(options[0])
    exp = replace(exp, options=options)
    settings = Settings(horizon_quarters=6, ramp_quarters=1, tail_quarters=2, annual_discount_rate=0.07)
    portfolio = Portfolio((exp,), (Team("Digital", (100.0,) * 6),), (1000.0,) * 6, settings)
    cols = columns(portfolio)
    assert len(cols) == 5 + 4
    for c in range(len(cols)):
        opt = options[cols.option[c]]
        flows = cash_flows(settings, exp, opt, int(cols.start[c]))
        assert cols.spend[c].tolist() == pytest.approx(flows.cost[:6].tolist())
        assert cols.npv[c] == pytest.approx(present_value(settings, flows.net))
        assert math.isclose(cols.pv_cost[c], present_value(settings, flows.cost))
    ids, weeks = cols.attention_in(0, 1)
    assert set(ids.tolist()) == {c for c in range(len(cols)) if cols.start[c] <= 1 < cols.start[c] + cols.delivery[c]}
    assert np.all(weeks == [30.0 / cols.delivery[c] for c in ids])


@pytest.mark.parametrize("mode", ["fixed", "free"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_columns_match_choices_and_cash_flows_one_by_one(mode, seed):
    """The vectorised `columns` lists exactly what `choices` offers, in its order, with `cash_flows`' economics.

    Seeded portfolios with dependencies and experiences in flight (some with a remaining
    one-off cost from actuals, some started before the horizon).
    """
    import sys
    from pathlib import Path

    from planner.core.domain import Commitment
    from planner.core.economics import choices, earliest_starts

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from generate import random_portfolio

    portfolio = random_portfolio(60 + 29 * seed, seed, start_quarters=mode)
    experiences = list(portfolio.experiences)
    for k, i in enumerate(range(3, len(experiences), 11)):
        e = experiences[i]
        experiences[i] = replace(e, commitment=Commitment(e.options[k % len(e.options)].name, k % 3 - 1, [None, 1234.5][k % 2]), requires=())
    portfolio = replace(portfolio, experiences=tuple(experiences))
    settings = portfolio.settings
    cols = columns(portfolio, "high")
    firsts = earliest_starts(portfolio)
    expected = [(i, k, s) for i, e in enumerate(portfolio.experiences) for k, s in choices(settings, e, firsts[i])]
    assert list(zip(cols.experience.tolist(), cols.option.tolist(), cols.start.tolist())) == expected
    assert any(e.commitment is not None for e in portfolio.experiences) and any(e.requires for e in portfolio.experiences)
    factors = discount_factors(settings, settings.horizon_quarters + settings.tail_quarters)
    for c, (i, k, s) in enumerate(expected):
        experience = portfolio.experiences[i]
        flows = cash_flows(settings, experience, experience.options[k], s, "high")
        assert cols.spend[c] == pytest.approx(flows.cost[:settings.horizon_quarters], rel=1e-12, abs=1e-9)
        assert cols.pv_benefit[c] == pytest.approx(flows.benefit @ factors, rel=1e-12, abs=1e-9)
        assert cols.pv_cost[c] == pytest.approx(flows.cost @ factors, rel=1e-12, abs=1e-9)
        assert cols.delivery[c] == experience.options[k].delivery_quarters
    for t, team in enumerate(portfolio.teams):
        ids, weekly = cols.attention[t]
        expected_weeks = {c: sum(w for name, w in portfolio.experiences[i].options[k].attention if name.casefold() == team.name.casefold())
                          / portfolio.experiences[i].options[k].delivery_quarters for c, (i, k, _) in enumerate(expected)}
        assert dict(zip(ids.tolist(), weekly.tolist())) == pytest.approx({c: w for c, w in expected_weeks.items() if w > 0})


@pytest.mark.parametrize("ramp, tail", [(0, 0), (2, 3), (5, 1)])
def test_flow_rows_are_exactly_the_cash_flows_of_each_choice(ramp, tail):
    """`flow_rows` (many choices at once, each (start, delivery)'s quarters looked up) gives, to the
    last bit, what `cash_flows` gives one choice at a time: starts before the horizon included."""
    settings = Settings(horizon_quarters=8, ramp_quarters=ramp, tail_quarters=tail, annual_discount_rate=0.09)
    rng = np.random.default_rng(ramp * 10 + tail)
    count = 300
    delivery = rng.integers(1, 6, count)
    start = rng.integers(-4, 8, count)
    one_off, run, share = rng.uniform(0, 5e5, count), rng.uniform(0, 2e4, count), rng.uniform(0.1, 1.0, count)
    exp = experience(option())
    rows = flow_rows(settings, one_off, run, delivery, [benefit_per_quarter(exp, option(share=s)) for s in share], start)
    for c in range(count):
        single = cash_flows(settings, exp, FundingOption("x", float(one_off[c]), float(run[c]), (("Digital", 1.0),), int(delivery[c]),
                                                         float(share[c])), int(start[c]))
        assert rows.one_off[c].tolist() == single.one_off.tolist()
        assert rows.run[c].tolist() == single.run.tolist()
        assert rows.benefit[c].tolist() == single.benefit.tolist()
