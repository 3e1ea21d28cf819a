"""Value of information: what knowing one experience's true reach and uplift before deciding is worth.

EVPI_i = E over its estimates of [best NPV knowing them] - best expected NPV now, with the
other estimates at their expected values (docs/model.md, "Value of information"). With
the benefit multiplier b = reach x uplift, each plan's NPV is affine in b (for an
experience in no overlap group, under an NPV objective with no ROI hurdle), so the best
NPV V(b) is the upper envelope of a few lines, convex in b. It is found exactly with few
re-solves (Eisner and Severance's parametric method):

1. re-solve at both ends of b's range; today's plan gives the line through the expected b.
   If today's plan is still optimal at both ends, the EVPI is exactly 0;
2. otherwise re-solve where the envelope of the lines found so far changes line: a
   re-solve there worth no more than the envelope (by the solver's bound) confirms the
   envelope around it (convexity); a better plan adds its line, and the new corners are
   asked in the next round. Every experience's corners of a round run as one batch;
3. the EVPI is the envelope minus today's line, averaged over seeded draws of the
   experience's reach and uplift: no re-solve per draw, so thousands of draws cost nothing
   and the standard error is the draws' alone.

Where the NPV is not affine in b (a member of an overlap group, whose shared customers
count once; an ROI hurdle, which b moves; another objective), the EVPI is estimated from
`samples` seeded re-solves at draws of its reach and uplift, as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from planner.analysis.resolves import Base, KnownBenefit, Resolved, run_resolves
from planner.analysis.risk import BATCHES, RiskSettings, pert_mean, rules_of, sample, three_points
from planner.core.domain import Experience, Portfolio
from planner.core.executor import Progress
from planner.optimise.plan import Plan

# Rounds of corner re-solves before the envelope is taken as found (each round confirms or adds lines).
ROUNDS = 8


@dataclass(frozen=True)
class Information:
    """What knowing one experience's true reach and uplift before deciding is worth.

    `value` is the expected value of perfect information (EVPI) of its benefit estimates,
    with the other estimates at their expected values; `error` its Monte Carlo standard
    error (0 when exact). `certain_zero` means the plan does not change anywhere in the
    estimates' range (proven at both ends of the range). `solves`: re-solves it took.
    """

    experience_id: str
    name: str
    value: float
    error: float
    certain_zero: bool
    solves: int


def _mean(settings: RiskSettings):
    return pert_mean if settings.distribution == "pert" else lambda low, mode, high: (low + mode + high) / 3.0


def expected_portfolio(portfolio: Portfolio, settings: RiskSettings) -> Portfolio:
    """Reach and uplift at their expected values: the benefit a risk-neutral decision maker
    plans on today (reach and uplift are drawn independently, so the expected benefit is
    the product of their means; every NPV is affine in it)."""
    mean = _mean(settings)
    return replace(portfolio, experiences=tuple(_with_benefit(e, mean(*three_points(e)["reach"]), mean(*three_points(e)["uplift"]))
                                                for e in portfolio.experiences))


def _with_benefit(experience: Experience, reach: float, uplift: float) -> Experience:
    return replace(experience, reach_per_quarter=reach, uplift_low=uplift, uplift_base=uplift, uplift_high=uplift)


def value_of_information(plan: Plan, settings: RiskSettings, samples: int = 8, experience_ids: Sequence[str] | None = None,
                         workers: int = 1, scheduler: str | None = None, progress: Progress | None = None,
                         evaluations: int | None = None) -> tuple[Information, ...]:
    """EVPI of each experience's reach and uplift estimates, largest first (see the module doc).

    `evaluations`: draws of b the exact envelope is averaged over (default: the `samples`
    draws the re-solve estimate uses, so both methods can be compared draw for draw).
    """
    from planner.analysis.variants import Solve, run_solves

    mean = _mean(settings)
    rules = rules_of(plan)
    today_portfolio = expected_portfolio(plan.portfolio, settings)
    today = run_solves([Solve(today_portfolio, rules, plan)], 1, None, scheduler)[0].plan
    keys = None if experience_ids is None else {k.casefold().strip() for k in experience_ids}
    experiences = plan.portfolio.experiences
    chosen = [i for i, e in enumerate(experiences) if _benefit_range(e)[0] < _benefit_range(e)[1]
              and (keys is None or e.key in keys)]
    base = Base(today_portfolio, rules, today)  # sent to each worker once; a task is one experience's known benefit
    expected_benefit = {i: mean(*three_points(experiences[i])["reach"]) * mean(*three_points(experiences[i])["uplift"]) for i in chosen}
    tolerance = 1e-6 * max(1.0, abs(today.npv))
    ends = [KnownBenefit(i, *end) for i in chosen for end in _benefit_ends(experiences[i])]
    results = run_resolves(base, ends, workers, progress, scheduler)
    open_questions = sorted({known.index for known, result in zip(ends, results)
                             if _gain(today, known, expected_benefit[known.index], result) > tolerance})
    solves = {i: 2 for i in chosen}
    exact_rules = rules.objective == "npv" and rules.roi_hurdle is None
    exact = [i for i in open_questions if exact_rules and not experiences[i].overlap_group]
    sampled = [i for i in open_questions if i not in exact]
    draws = sample(plan.portfolio, replace(settings, stage_correlation=0.0, team_correlation=0.0), draws=max(samples, BATCHES),
                   seed=settings.seed + 2)
    gains: dict[int, np.ndarray] = {}
    asks = [KnownBenefit(i, float(draws.reach[row, i]), float(draws.uplift[row, i])) for i in sampled for row in range(samples)]
    by_experience: dict[int, list[float]] = {i: [] for i in sampled}
    for known, result in zip(asks, run_resolves(base, asks, workers, progress, scheduler)):
        by_experience[known.index].append(_gain(today, known, expected_benefit[known.index], result))
        solves[known.index] += 1
    gains.update({i: np.array(v) for i, v in by_experience.items()})
    if exact:
        if evaluations is not None and evaluations != max(samples, BATCHES):
            draws = sample(plan.portfolio, replace(settings, stage_correlation=0.0, team_correlation=0.0), draws=evaluations,
                           seed=settings.seed + 2)
        rows = len(draws) if evaluations is not None else samples
        lines = {i: [_today_line(today, i, expected_benefit[i])] for i in exact}
        asked: dict[int, list[float]] = {i: [] for i in exact}
        for known, result in zip(ends, results):
            if known.index in lines:
                _learn(lines[known.index], asked[known.index], known, result, experiences[known.index].key)
        for _ in range(ROUNDS):
            corners = [_ask_at(i, experiences[i], b) for i in exact for b in _unconfirmed(lines[i], asked[i], _benefit_range(experiences[i]))]
            if not corners:
                break
            for known, result in zip(corners, run_resolves(base, corners, workers, progress, scheduler)):
                solves[known.index] += 1
                if not _confirms(lines[known.index], known, result, plan.portfolio.settings.gap, tolerance):
                    _learn(lines[known.index], asked[known.index], known, result, experiences[known.index].key)
                else:
                    asked[known.index].append(known.reach * known.uplift)
        for i in exact:
            b = draws.reach[:rows, i] * draws.uplift[:rows, i]
            gains[i] = np.maximum(_envelope(lines[i], b) - _value(lines[i][0], b), 0.0)
    found = []
    for i in chosen:
        e, values = experiences[i], gains.get(i)
        if values is None:
            found.append(Information(e.id, e.name, 0.0, 0.0, True, solves[i]))
        else:
            found.append(Information(e.id, e.name, float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(len(values))),
                                     False, solves[i]))
    return tuple(sorted(found, key=lambda f: (-f.value, f.experience_id)))


# A line is (value at b = 0, value per unit of b): a plan's NPV as experience i's benefit multiplier moves.
Line = tuple[float, float]


def _today_line(today: Plan, i: int, expected_benefit: float) -> Line:
    decision = today.decisions[i]
    slope = decision.pv_benefit / expected_benefit if decision.funded and expected_benefit > 0 else 0.0
    return today.npv - slope * expected_benefit, slope


def _learn(lines: list[Line], asked: list[float], known: KnownBenefit, result: Resolved, key: str) -> None:
    """Add the line of the plan a re-solve at b found (its NPV there, and experience i's PV of benefits per unit of b)."""
    b = known.reach * known.uplift
    asked.append(b)
    if not result.feasible or b <= 0:
        return
    slope = dict(zip(result.funded, result.pv_benefits)).get(key, 0.0) / b
    lines.append((result.npv - slope * b, slope))


def _confirms(lines: list[Line], known: KnownBenefit, result: Resolved, gap: float, tolerance: float) -> bool:
    """Whether the re-solve at b proves no plan beats the envelope there (by the solver's bound)."""
    b = known.reach * known.uplift
    if not result.feasible:
        return True  # nothing better was found; the envelope stays as it is (a lower bound)
    proven = result.bound if result.bound is not None else result.npv
    return min(proven, result.npv + gap * abs(result.npv)) <= float(_envelope(lines, np.array([b]))[0]) + tolerance


def _value(line: Line, b: np.ndarray) -> np.ndarray:
    return line[0] + line[1] * b


def _envelope(lines: list[Line], b: np.ndarray) -> np.ndarray:
    return np.max([_value(line, b) for line in lines], axis=0)


def _unconfirmed(lines: list[Line], asked: list[float], span: tuple[float, float]) -> list[float]:
    """The envelope's corners inside the range that no re-solve has been asked at yet."""
    low, high = span
    corners = []
    for (a1, c1) in lines:
        for (a2, c2) in lines:
            if c2 > c1 + 1e-12:
                b = (a1 - a2) / (c2 - c1)
                if low < b < high and abs(_value((a1, c1), np.array([b]))[0] - _envelope(lines, np.array([b]))[0]) <= 1e-9 * max(1.0, abs(a1)):
                    corners.append(b)
    scale = max(high, 1e-300)
    return sorted({round(b / scale, 9) * scale for b in corners
                   if all(abs(b - a) > 1e-9 * scale for a in asked)})


def _ask_at(i: int, experience: Experience, b: float) -> KnownBenefit:
    """Reach and uplift within their ranges whose product is b (both moved the same share of their range)."""
    points = three_points(experience)
    (r0, _, r1), (u0, _, u1) = points["reach"], points["uplift"]
    # (r0 + s dr)(u0 + s du) = b: a quadratic in s, increasing on 0..1.
    dr, du = r1 - r0, u1 - u0
    qa, qb, qc = dr * du, r0 * du + u0 * dr, r0 * u0 - b
    s = -qc / qb if abs(qa) < 1e-300 else (-qb + math.sqrt(max(qb * qb - 4 * qa * qc, 0.0))) / (2 * qa)
    s = min(max(s, 0.0), 1.0)
    return KnownBenefit(i, r0 + s * dr, u0 + s * du)


def _benefit_range(experience: Experience) -> tuple[float, float]:
    points = three_points(experience)
    return points["reach"][0] * points["uplift"][0], points["reach"][2] * points["uplift"][2]


def _benefit_ends(experience: Experience) -> list[tuple[float, float]]:
    points = three_points(experience)
    return [(points["reach"][0], points["uplift"][0]), (points["reach"][2], points["uplift"][2])]


def _gain(today: Plan, known: KnownBenefit, expected_benefit: float, result: Resolved) -> float:
    """How much better the best plan knowing experience `known.index`'s benefit is than today's plan at that benefit.

    Today's plan stays feasible (benefits enter no rule); only its NPV from that experience
    moves, in proportion to the benefit multiplier.
    """
    if not result.feasible:
        return 0.0
    decision = today.decisions[known.index]
    today_npv = today.npv
    if decision.funded and expected_benefit > 0:
        today_npv += decision.pv_benefit * (known.reach * known.uplift / expected_benefit - 1.0)
    return max(0.0, result.npv - today_npv)
