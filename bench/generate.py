"""Seeded random portfolios of a realistic shape, for benchmarks and scale tests.

`random_portfolio(n, seed)` gives the same portfolio for the same arguments on every
machine. The shape follows the bundled example: about one experience in fifty is a
backstage enabler with no value of its own, about one in ten frontstage experiences
requires an enabler, a few pairs exclude each other, about 2% are mandatory, options show
diminishing returns, and the budget and team capacities cover about half of what the
positive-NPV experiences would spend, so the optimiser has real choices to make.

    python bench/generate.py 10000 --seed 1 -o /tmp/portfolio-10000.xlsx
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team
from planner.core.economics import columns

STAGES = ("discover", "choose", "buy", "use", "get help", "renew or leave")
CHANNELS = ("app", "web", "branch", "contact centre")
PRODUCT_LINES = ("Everyday banking", "Mortgages", "Cards and loans")
TEAM_NAMES = ("Digital", "Data & Platforms", "Operations", "Contact centre")
OUTCOMES = ("conversion", "retention", "repeat purchase", "contact avoided")

ENABLER_SHARE = 0.02  # of all experiences
REQUIRES_SHARE = 0.10  # of frontstage experiences
EXCLUSION_PAIRS_SHARE = 0.005  # pairs, per experience
MANDATORY_SHARE = 0.02
FUNDED_SHARE = 0.5  # budget covers about this share of attractive demand
CAPACITY_SHARE = 0.6  # team capacity covers about this share of attractive attention


def option_tiers(count: int) -> list[tuple[str, float, float]]:
    """(name, cost multiplier, uplift share) per option: each step costs more for less extra share."""
    if count == 3:
        return [("lean", 0.45, 0.55), ("standard", 1.0, 0.85), ("premium", 1.6, 1.0)]
    names = [f"option {k + 1}" for k in range(count)]
    costs = [0.45 * 1.6 ** k for k in range(count)]
    shares = [1.0 - 0.45 * 0.55 ** k for k in range(count)]
    return [(n, c / costs[-1] * 1.6, s / shares[-1]) for n, c, s in zip(names, costs, shares)]


def team_names(count: int) -> list[str]:
    return list(TEAM_NAMES[:count]) + [f"Team {t + 1}" for t in range(len(TEAM_NAMES), count)]


def _experiences(n: int, rng: np.random.Generator, options: int, teams: list[str], quarters: int) -> list[Experience]:
    """Draw the experiences: numbers vectorised, then one frozen dataclass each."""
    enablers = max(1, round(n * ENABLER_SHARE))
    backstage = np.zeros(n, dtype=bool)
    backstage[rng.choice(n, enablers, replace=False)] = True
    cost = np.round(np.clip(rng.lognormal(np.log(250_000), 0.7, n), 50_000, 2_000_000), -3)
    run = np.round(cost * rng.uniform(0.01, 0.05, n), -2)
    delivery = rng.choice([1, 2, 3], n, p=[0.45, 0.4, 0.15])
    # Quarterly benefit at full uplift relative to cost: pays back in about four quarters,
    # widely spread, so some experiences lose money and a few are stars.
    benefit = cost * rng.lognormal(np.log(0.22), 0.6, n)
    reach = np.round(rng.lognormal(np.log(50_000), 1.2, n), -2) + 100
    value = np.round(rng.lognormal(np.log(150), 1.0, n), 0) + 1
    uplift = np.clip(benefit / (reach * value), 0.0, 0.25)
    reach[backstage] = 0.0
    uplift[backstage] = 0.0
    weeks = np.round(cost / 20_000 * rng.uniform(0.6, 1.4, n), 1) + 1
    owner = rng.integers(0, len(teams), n)
    support = rng.integers(0, len(teams), n)
    has_support = rng.random(n) < 0.4
    earliest = np.where(rng.random(n) < 0.15, rng.integers(1, 3, n), 0)
    earliest = np.minimum(earliest, quarters - delivery)
    stage = rng.integers(0, len(STAGES), n)
    channel = rng.integers(0, len(CHANNELS), n)
    product = rng.integers(0, len(PRODUCT_LINES), n)
    outcome = rng.integers(0, len(OUTCOMES), n)
    tiers = option_tiers(options)

    result = []
    for i in range(n):
        attention = [(teams[owner[i]], float(weeks[i]))]
        if has_support[i] and support[i] != owner[i]:
            attention.append((teams[support[i]], float(round(weeks[i] * 0.3, 1))))
        option_list = tuple(
            FundingOption(
                name=name,
                one_off_cost=float(round(cost[i] * multiplier, -2)),
                run_cost_per_quarter=float(round(run[i] * multiplier, -1)),
                attention=tuple((team, round(w * multiplier, 1)) for team, w in attention),
                delivery_quarters=int(delivery[i]),
                uplift_share=round(share, 4),
            )
            for name, multiplier, share in tiers
        )
        base = float(uplift[i])
        result.append(Experience(
            id=f"EXP-{i + 1:05d}",
            name=f"{'Enabler' if backstage[i] else 'Experience'} {i + 1}",
            journey_stage=STAGES[stage[i]],
            channel=CHANNELS[channel[i]],
            product_line=PRODUCT_LINES[product[i]],
            layer="backstage" if backstage[i] else "frontstage",
            team=teams[owner[i]],
            reach_per_quarter=float(reach[i]),
            outcome="none" if backstage[i] else OUTCOMES[outcome[i]],
            value_per_outcome=float(value[i]),
            uplift_low=round(base * 0.5, 8),
            uplift_base=round(base, 8),
            uplift_high=round(min(1.0, base * 1.5), 8),
            options=option_list,
            earliest_start=int(earliest[i]),
        ))
    return result


def _link(experiences: list[Experience], rng: np.random.Generator) -> list[Experience]:
    """Add dependencies on enablers, exclusions between frontstage pairs, and mandatory items."""
    n = len(experiences)
    enablers = [i for i, e in enumerate(experiences) if e.layer == "backstage"]
    frontstage = np.array([i for i, e in enumerate(experiences) if e.layer == "frontstage"])
    requires: dict[int, tuple[str, ...]] = {}
    for i in rng.choice(frontstage, round(len(frontstage) * REQUIRES_SHARE), replace=False):
        requires[int(i)] = (experiences[enablers[rng.integers(len(enablers))]].id,)
    pairs = rng.choice(frontstage, 2 * max(1, round(n * EXCLUSION_PAIRS_SHARE)), replace=False).reshape(-1, 2)
    excludes: dict[int, tuple[str, ...]] = {}
    for a, b in pairs:
        excludes[int(a)] = (experiences[b].id,)
        excludes[int(b)] = (experiences[a].id,)
    # Mandatory items take part in no exclusion, so two of them can never conflict.
    free = np.setdiff1d(np.arange(n), pairs.ravel())
    mandatory = set(int(i) for i in rng.choice(free, round(n * MANDATORY_SHARE), replace=False))
    return [
        replace(e, requires=requires.get(i, ()), excludes=excludes.get(i, ()), mandatory=i in mandatory)
        for i, e in enumerate(experiences)
    ]


def _fund_half(portfolio: Portfolio) -> Portfolio:
    """Set budget and capacities to cover about half of the attractive demand.

    Attractive demand: the best option, at its earliest start, of every experience with a
    positive NPV, plus every enabler and mandatory item (they must be paid for regardless).
    """
    fixed = replace(portfolio, settings=replace(portfolio.settings, start_quarters="fixed"))
    cols = columns(fixed)
    order = np.lexsort((-cols.npv, cols.experience))
    first = np.ones(len(order), dtype=bool)
    first[1:] = cols.experience[order][1:] != cols.experience[order][:-1]
    best = order[first]
    wanted = cols.npv[best] > 0
    for i, e in enumerate(portfolio.experiences):
        wanted[i] |= e.mandatory or e.layer == "backstage"
    chosen = best[wanted]
    horizon = portfolio.horizon
    per_quarter = cols.spend[chosen].sum() / horizon * FUNDED_SHARE
    budget = (float(round(per_quarter, -3)),) * horizon
    teams = []
    mask = np.zeros(len(cols), dtype=bool)
    mask[chosen] = True
    for t, team in enumerate(portfolio.teams):
        idx, weekly = cols.attention[t]
        keep = mask[idx]
        total = float((weekly[keep] * cols.delivery[idx[keep]]).sum())
        capacity = max(10.0, round(total / horizon * CAPACITY_SHARE, 0))
        teams.append(replace(team, capacity=(capacity,) * horizon))
    return replace(portfolio, budget=budget, teams=tuple(teams))


def random_portfolio(
    n_experiences: int,
    seed: int,
    options: int = 3,
    teams: int = 4,
    quarters: int = 8,
    start_quarters: str = "free",
) -> Portfolio:
    """A seeded random portfolio of `n_experiences` experiences, funded about half."""
    rng = np.random.default_rng(seed)
    names = team_names(teams)
    experiences = _link(_experiences(n_experiences, rng, options, names, quarters), rng)
    settings = Settings(horizon_quarters=quarters, start_quarters=start_quarters)
    portfolio = Portfolio(
        experiences=tuple(experiences),
        teams=tuple(Team(name, (0.0,) * quarters) for name in names),
        budget=(0.0,) * quarters,
        settings=settings,
        source=f"random_portfolio(n={n_experiences}, seed={seed})",
    )
    return _fund_half(portfolio)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a seeded random portfolio as an input workbook.")
    parser.add_argument("n", type=int, help="number of experiences")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--options", type=int, default=3)
    parser.add_argument("--teams", type=int, default=4)
    parser.add_argument("--quarters", type=int, default=8)
    parser.add_argument("--start-quarters", choices=("free", "fixed"), default="free")
    parser.add_argument("-o", "--output", type=Path, required=True, help="workbook (.xlsx) to write")
    args = parser.parse_args(argv)
    from planner.inputs.workbook_writer import write_portfolio

    portfolio = random_portfolio(args.n, args.seed, args.options, args.teams, args.quarters, args.start_quarters)
    write_portfolio(portfolio, args.output)
    print(f"wrote {args.output}: {len(portfolio.experiences)} experiences")


if __name__ == "__main__":
    main()
