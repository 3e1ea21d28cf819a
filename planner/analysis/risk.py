"""Planning under uncertainty: how sure the plan is, and which experiences are sure to be in it.

Every reach, uplift and cost in the workbook is an estimate. This module owns

- sampling (`sample`): seeded draws of each experience's uncertain inputs from its
  three-point estimates (PERT by default, or triangular), moving together within a journey
  stage and within a team (a Gaussian copula with one common shock per stage and per team);
- scoring (`simulate`): a fixed plan's NPV, cumulative NPV by quarter and spend by quarter
  in every draw at once (numpy, no re-solve), with the figures finance asks for (mean,
  P10/P50/P90, probability of a loss and of overspending a quarter) and each figure's Monte
  Carlo standard error (batch means);
- the optimizer's curse (`disappointment`): the plan's point NPV beside its expected NPV on
  fresh draws, and a Smith and Winkler (2006) corrected estimate;
- stability (`stability`): re-solves on sampled inputs through the shared executor; each
  experience's share of optimal plans, labelled core (>= 90%), borderline or exterior (<= 10%);
- a contingency (`contingency`): the reserve each quarter needs for the plan to stay within
  budget with a chosen confidence.

The formulas are in docs/model.md ("Uncertainty").
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import betainc, betaincinv, ndtr, ndtri

from planner.core.domain import Experience, FundingOption, Portfolio
from planner.core.economics import discount_factors, flow_rows
from planner.core.errors import InputError, Problem
from planner.core.executor import Progress
from planner.optimise.plan import Decision, Plan

DISTRIBUTIONS = ("pert", "triangular")
CORE, EXTERIOR = 0.9, 0.1
# Monte Carlo standard errors come from this many batches of the draws (batch means).
BATCHES = 20


@dataclass(frozen=True)
class RiskSettings:
    """How the uncertain inputs are drawn. Correlations are the share of each estimate's
    variation that is common to its journey stage and to its team (together at most 1)."""

    draws: int = 2000
    seed: int = 0
    distribution: str = "pert"
    stage_correlation: float = 0.3
    team_correlation: float = 0.2
    confidence: float = 0.8

    def problems(self) -> list[Problem]:
        found = []
        if self.draws < BATCHES:
            found.append(Problem("risk.draws", f"must be at least {BATCHES}, not {self.draws}"))
        if self.distribution not in DISTRIBUTIONS:
            found.append(Problem("risk.distribution", f"must be one of {', '.join(DISTRIBUTIONS)}, not {self.distribution!r}"))
        correlations = len(found)
        for key in ("stage_correlation", "team_correlation"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                found.append(Problem(f"risk.{key}", f"must be between 0 and 1, not {getattr(self, key)}"))
        if len(found) == correlations and self.stage_correlation + self.team_correlation > 1.0:
            found.append(Problem("risk.team_correlation", "stage_correlation + team_correlation must be at most 1"))
        if not 0.5 <= self.confidence < 1.0:
            found.append(Problem("risk.confidence", f"must be at least 50% and below 100%, not {self.confidence:.0%}"))
        return found


@dataclass(frozen=True)
class Draws:
    """Sampled inputs: one row per draw, one column per sampled experience.

    `experiences` are the portfolio indices of the sampled experiences (all of them unless
    `sample` was asked for fewer), in portfolio order.
    """

    experiences: np.ndarray
    reach: np.ndarray
    uplift: np.ndarray
    cost_factor: np.ndarray
    slip: np.ndarray  # whole quarters

    def __len__(self) -> int:
        return self.reach.shape[0]

    def columns_of(self, experiences: np.ndarray) -> np.ndarray:
        """The columns holding these portfolio indices (each must have been sampled)."""
        columns = np.searchsorted(self.experiences, experiences)
        if len(experiences) and (columns.max() >= len(self.experiences) or (self.experiences[columns] != experiences).any()):
            raise ValueError("an experience of the plan was not sampled: sample the plan's funded experiences")
        return columns


# ---------------------------------------------------------------------------------------
# Sampling


def three_points(experience: Experience) -> dict[str, tuple[float, float, float]]:
    """(low, most likely, high) of each uncertain input; equal points where the input is certain."""
    e = experience.estimates
    reach = experience.reach_per_quarter
    return {
        "reach": (_or(e.reach_low, reach), reach, _or(e.reach_high, reach)),
        "uplift": (experience.uplift_low, experience.uplift_base, experience.uplift_high),
        "cost_factor": (_or(e.cost_low, 1.0), 1.0, _or(e.cost_high, 1.0)),
        "slip": (0.0, 0.0, float(e.slip_high)),
    }


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def pert_mean(low: float, mode: float, high: float) -> float:
    return (low + 4.0 * mode + high) / 6.0


def sample(portfolio: Portfolio, settings: RiskSettings, draws: int | None = None, seed: int | None = None,
           only: Sequence[int] | None = None) -> Draws:
    """Seeded draws of the uncertain inputs of every experience, or of those at the indices `only`.

    The stage and team shocks are drawn for the whole portfolio either way; the numbers an
    experience gets depend on the seed and on which experiences are sampled, so plans to be
    compared are scored on one sample of the union of their experiences.
    """
    _raise_on(settings.problems())
    count = settings.draws if draws is None else draws
    rng = np.random.default_rng(settings.seed if seed is None else seed)
    chosen = np.arange(len(portfolio.experiences)) if only is None else np.unique(np.asarray(only, dtype=np.int64))
    experiences = [portfolio.experiences[i] for i in chosen.tolist()]
    points = [three_points(e) for e in experiences]
    stage = _groups([e.journey_stage.casefold() for e in portfolio.experiences])[chosen]
    team = _groups([e.team.casefold() for e in portfolio.experiences])[chosen]
    sampled = {}
    for kind in ("reach", "uplift", "cost_factor", "slip"):
        low, mode, high = (np.array([p[kind][n] for p in points], dtype=float) for n in range(3))
        uncertain = high > low
        z = _correlated_normals(rng, count, stage[uncertain], team[uncertain], settings) if uncertain.any() else None
        if kind == "slip":
            values = np.zeros((len(experiences), count), dtype=np.int64)
            if z is not None:
                values[uncertain] = _whole_quarters(settings.distribution, low[uncertain], mode[uncertain], high[uncertain], z)
        elif z is not None and uncertain.all():
            values = _quantile(settings.distribution, low, mode, high, z)
        else:
            values = np.repeat(mode[:, None], count, axis=1)
            if z is not None:
                values[uncertain] = _quantile(settings.distribution, low[uncertain], mode[uncertain], high[uncertain], z)
        # Computed one experience a row (each row's quantile lookups stay in the cache); handed
        # out one draw a row, as a transposed view (no copy).
        sampled[kind] = values.T
    return Draws(chosen, **sampled)


def sample_for(plans: Sequence[Plan], settings: RiskSettings) -> Draws:
    """One sample of the experiences any of the plans funds: the plans are scored on the same draws."""
    portfolio = plans[0].portfolio
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    return sample(portfolio, settings, only=sorted({index[d.experience.key] for plan in plans for d in plan.funded}))


def _groups(names: list[str]) -> np.ndarray:
    index: dict[str, int] = {}
    return np.array([index.setdefault(name, len(index)) for name in names], dtype=np.int64)


def _correlated_normals(rng: np.random.Generator, count: int, stage: np.ndarray, team: np.ndarray,
                        settings: RiskSettings) -> np.ndarray:
    """Standard normals, one row per item and one column per draw, sharing a shock with their stage and their team.

    Single precision: a normal score needs no more to pick a quantile, and it halves the
    memory traffic of the largest arrays of a Monte Carlo run.
    """
    own = math.sqrt(max(0.0, 1.0 - settings.stage_correlation - settings.team_correlation))
    z = rng.standard_normal((len(stage), count), dtype=np.float32)
    z *= np.float32(own)
    for share, groups in ((settings.stage_correlation, stage), (settings.team_correlation, team)):
        if share > 0:
            shocks = rng.standard_normal((int(groups.max()) + 1, count), dtype=np.float32) * np.float32(math.sqrt(share))
            z += shocks[groups]
    return z


def _quantile(distribution: str, low: np.ndarray, mode: np.ndarray, high: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The value at the normal score z (items x draws) of each item's PERT or triangular distribution."""
    width = high - low
    t = (mode - low) / width  # where the most likely value sits, 0..1
    if distribution == "triangular":
        u = ndtr(z)
        shape = t[:, None]
        unit = np.where(u < shape, np.sqrt(u * shape), 1.0 - np.sqrt((1.0 - u) * (1.0 - shape)))
    else:
        unit = _pert_unit_quantile(t, z)
    return low[:, None] + width[:, None] * unit


def _whole_quarters(distribution: str, low: np.ndarray, mode: np.ndarray, high: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Each item's value at the normal score z (items x draws), rounded to whole quarters, exactly.

    The value rounds to k or more when it is at least k - 1/2, that is when z is at least the
    normal score of the distribution's CDF there: a few thresholds per item, compared with z,
    instead of a quantile per draw (and no interpolation error next to a threshold).
    """
    width = high - low
    t = (mode - low) / width
    whole = np.rint(low).astype(np.int64)[:, None] + np.zeros(z.shape, dtype=np.int64)
    for k in range(int(np.rint(low.min())) + 1, int(np.rint(high.max())) + 1):
        x = np.clip((k - 0.5 - low) / width, 0.0, 1.0)
        if distribution == "triangular":
            cdf = np.where(x < t, x * x / np.where(t > 0, t, 1.0), 1.0 - (1.0 - x) ** 2 / np.where(t < 1, 1.0 - t, 1.0))
        else:
            cdf = betainc(1.0 + 4.0 * t, 1.0 + 4.0 * (1.0 - t), x)
        threshold = np.where(x <= 0.0, -np.inf, np.where(x >= 1.0, np.inf, ndtri(cdf)))
        whole += z >= threshold.astype(np.float32)[:, None]
    return whole


# PERT(low, mode, high) is low + (high - low) x Beta(1 + 4t, 1 + 4(1 - t)), t = (mode - low) /
# (high - low): one shape parameter. The beta quantile is tabulated once over t and the
# normal score and interpolated, which is ~100x faster than scipy per sample and within
# 1e-4 of it for normal scores within +-6 (beyond, a chance of 2e-9, they are clipped;
# pinned in tests/test_risk.py).
_T_STEPS, _Z_STEPS, _Z_RANGE = 100, 600, 6.0


@functools.cache
def _pert_table() -> np.ndarray:
    t = np.linspace(0.0, 1.0, _T_STEPS + 1)[:, None]
    u = ndtr(np.linspace(-_Z_RANGE, _Z_RANGE, _Z_STEPS + 1))[None, :]
    return betaincinv(1.0 + 4.0 * t, 1.0 + 4.0 * (1.0 - t), u)


def _pert_unit_quantile(t: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Beta(1 + 4t, 1 + 4(1 - t)) quantiles at normal scores z (items x draws), from the table.

    Each item's row of quantiles over the z grid is interpolated in t once (in single
    precision: a quantile in 0..1 is within 6e-8 of the double, far inside the table's
    1e-4); each draw then interpolates along its item's row, which stays in the cache while
    that item's draws are looked up (two gathers per sample).
    """
    table = _pert_table()
    ti = np.clip(t, 0.0, 1.0) * _T_STEPS
    i = np.minimum(ti.astype(np.int64), _T_STEPS - 1)
    w = (ti - i)[:, None]
    rows = (table[i] * (1 - w) + table[i + 1] * w).astype(np.float32).ravel()
    zi = np.clip(z, -_Z_RANGE, _Z_RANGE)
    zi += np.float32(_Z_RANGE)
    zi *= np.float32(_Z_STEPS / (2 * _Z_RANGE))
    j = np.minimum(zi.astype(np.int32), _Z_STEPS - 1)
    zi -= j  # the position between grid points
    j += (np.arange(len(t), dtype=np.int32) * (_Z_STEPS + 1))[:, None]
    low = rows.take(j)
    high = rows.take(j + 1)
    high -= low
    high *= zi
    high += low
    return high


# ---------------------------------------------------------------------------------------
# Scoring a fixed plan in every draw


@dataclass(frozen=True)
class Figure:
    """A Monte Carlo estimate with its standard error."""

    value: float
    error: float


@dataclass(frozen=True)
class Driver:
    """How much of the spread of the plan's NPV one experience brings (shares add up to 1)."""

    experience_id: str
    name: str
    share_of_variance: float
    mean_npv: float
    p10: float
    p90: float


@dataclass(frozen=True)
class Simulation:
    """A fixed plan scored in every draw: NPV per draw, by quarter, and the summary figures."""

    draws: int
    point_npv: float
    npv: np.ndarray  # one per draw
    cumulative_npv: np.ndarray  # draws x quarters (horizon + tail): discounted, cumulative
    spend: np.ndarray  # draws x horizon quarters
    budget: np.ndarray
    mean: Figure
    p10: Figure
    p50: Figure
    p90: Figure
    loss_probability: Figure
    overspend_probability: Figure  # that any quarter's spend exceeds its budget
    quarter_overspend: tuple[float, ...]
    drivers: tuple[Driver, ...]


@dataclass(frozen=True)
class _Funded:
    """The funded decisions' cash-flow building blocks for every slip they can take."""

    decisions: tuple[Decision, ...]
    experience: np.ndarray  # portfolio index of each funded decision
    rate: np.ndarray  # full-rate benefit per quarter at reach 1 x uplift 1
    benefit: np.ndarray  # slips x funded x quarters: benefit per unit rate
    one_off: np.ndarray  # slips x funded x quarters: one-off cost at factor 1
    run: np.ndarray  # slips x funded x quarters


def simulate(plan: Plan, draws: Draws, top_drivers: int = 10) -> Simulation:
    """Score the plan's decisions in every draw (numpy; nothing is re-solved)."""
    portfolio = plan.portfolio
    settings = portfolio.settings
    horizon = settings.horizon_quarters
    funded = _funded_blocks(plan, int(draws.slip.max(initial=0)))
    factors = discount_factors(settings, horizon + settings.tail_quarters)
    columns = draws.columns_of(funded.experience)
    gain = draws.reach[:, columns] * draws.uplift[:, columns] * funded.rate[None, :]
    cost = draws.cost_factor[:, columns]
    # Every draw at slip 0 first (dense matrix products), then, for the experiences that
    # can slip, what a slip of s changes in the draws where it happens.
    pv_benefit, pv_one_off, pv_run = funded.benefit @ factors, funded.one_off @ factors, funded.run @ factors
    cash_in = gain @ funded.benefit[0]
    spend = cost @ funded.one_off[0] + funded.run[0].sum(axis=0)[None, :]
    per_experience = gain * pv_benefit[0] - cost * pv_one_off[0] - pv_run[0]
    slipping = np.nonzero(draws.slip[:, columns].max(axis=0, initial=0) > 0)[0]
    if len(slipping):
        slip = draws.slip[:, columns[slipping]]
        gain_s, cost_s = gain[:, slipping], cost[:, slipping]
        for s in range(1, funded.benefit.shape[0]):
            here = (slip == s).astype(float)
            if not here.any():
                continue
            gain_here, cost_here = gain_s * here, cost_s * here
            cash_in += gain_here @ (funded.benefit[s, slipping] - funded.benefit[0, slipping])
            spend += (cost_here @ (funded.one_off[s, slipping] - funded.one_off[0, slipping])
                      + here @ (funded.run[s, slipping] - funded.run[0, slipping]))
            per_experience[:, slipping] += (gain_here * (pv_benefit[s, slipping] - pv_benefit[0, slipping])
                                            - cost_here * (pv_one_off[s, slipping] - pv_one_off[0, slipping])
                                            - here * (pv_run[s, slipping] - pv_run[0, slipping]))
    net = cash_in - spend
    npv = per_experience.sum(axis=1)
    budget = np.asarray(portfolio.budget, dtype=float)
    spend = spend[:, :horizon]
    over = spend > budget[None, :] * (1 + 1e-9) + 1e-6
    if portfolio.total_budget is not None:
        over_total = spend.sum(axis=1) > portfolio.total_budget * (1 + 1e-9) + 1e-6
    else:
        over_total = np.zeros(len(draws), dtype=bool)
    any_over = over.any(axis=1) | over_total
    return Simulation(
        draws=len(draws), point_npv=plan.npv, npv=npv, cumulative_npv=np.cumsum(net * factors[None, :], axis=1),
        spend=spend, budget=budget,
        mean=_batched(npv, np.mean), p10=_batched(npv, lambda x: np.quantile(x, 0.10)),
        p50=_batched(npv, lambda x: np.quantile(x, 0.50)), p90=_batched(npv, lambda x: np.quantile(x, 0.90)),
        loss_probability=_batched(npv < 0, np.mean), overspend_probability=_batched(any_over, np.mean),
        quarter_overspend=tuple(over.mean(axis=0).tolist()),
        drivers=_drivers(funded.decisions, per_experience, npv, top_drivers),
    )


def _funded_blocks(plan: Plan, max_slip: int) -> _Funded:
    """Cash-flow blocks of each funded decision at each slip 0..max_slip (see `choice_blocks`)."""
    index = {e.key: i for i, e in enumerate(plan.portfolio.experiences)}
    decisions = plan.funded
    choices = [(index[d.experience.key], next(o for o in d.experience.options if o.name == d.option), d.start_quarter)
               for d in decisions]
    return replace(choice_blocks(plan.portfolio, choices, max_slip), decisions=decisions)


def choice_blocks(portfolio: Portfolio, choices: Sequence[tuple[int, FundingOption, int]], max_slip: int) -> _Funded:
    """Cash-flow blocks of (experience index, option, start) choices at each slip 0..max_slip.

    A slip of s quarters stretches delivery from d to d + s quarters (the one-off cost is
    spread over them) and moves go-live, benefits and run costs s quarters later.
    """
    settings = portfolio.settings
    experiences = [portfolio.experiences[i] for i, _, _ in choices]
    options = [o for _, o, _ in choices]
    rate = np.array([e.value_per_outcome * o.uplift_share for e, o in zip(experiences, options)], dtype=float)
    start = np.array([s for _, _, s in choices], dtype=np.int64)
    delivery = np.array([o.delivery_quarters for o in options], dtype=np.int64)
    one_off = np.array([o.one_off_cost for o in options], dtype=float)
    run = np.array([o.run_cost_per_quarter for o in options], dtype=float)
    unit = np.ones(len(choices))
    blocks = [flow_rows(settings, one_off, run, delivery + s, unit, start) for s in range(max_slip + 1)]
    one_off_blocks = np.stack([b.one_off for b in blocks])
    for n, (experience, option, first) in enumerate(zip(experiences, options, start.tolist())):
        _committed_one_off(experience, option, first, one_off_blocks[:, n, :])
    return _Funded(
        decisions=(),
        experience=np.array([i for i, _, _ in choices], dtype=np.int64),
        rate=rate,
        benefit=np.stack([b.benefit for b in blocks]),
        one_off=one_off_blocks,
        run=np.stack([b.run for b in blocks]),
    )


def _committed_one_off(experience: Experience, option: FundingOption, start: int, rows: np.ndarray) -> None:
    """Work in flight pays the one-off cost left from actuals over the delivery quarters left."""
    commitment = experience.commitment
    if commitment is None or commitment.remaining_one_off is None or commitment.option != option.name:
        return
    q = np.arange(rows.shape[1])
    for s in range(rows.shape[0]):
        delivering = (q >= start) & (q < start + option.delivery_quarters + s)
        left = int(delivering.sum())
        rows[s] = np.where(delivering, commitment.remaining_one_off / max(left, 1), 0.0)
        if not left:
            rows[s, 0] = commitment.remaining_one_off


def _batched(values: np.ndarray, statistic) -> Figure:
    """The statistic over all draws, with its standard error from BATCHES batch estimates."""
    values = np.asarray(values, dtype=float)
    batches = np.array_split(values, BATCHES)
    estimates = np.array([statistic(b) for b in batches])
    return Figure(float(statistic(values)), float(estimates.std(ddof=1) / math.sqrt(BATCHES)))


def _drivers(decisions: Sequence[Decision], per_experience: np.ndarray, npv: np.ndarray, top: int) -> tuple[Driver, ...]:
    """Each experience's share of the NPV's variance: cov(its NPV, total) / var(total); shares sum to 1."""
    total = npv.var()
    if total <= 0 or not len(decisions):
        return ()
    centred = per_experience - per_experience.mean(axis=0)
    shares = (centred * (npv - npv.mean())[:, None]).mean(axis=0) / total
    order = np.argsort(-shares, kind="stable")[:top]
    return tuple(
        Driver(decisions[n].experience.id, decisions[n].experience.name, float(shares[n]), float(per_experience[:, n].mean()),
               float(np.quantile(per_experience[:, n], 0.1)), float(np.quantile(per_experience[:, n], 0.9)))
        for n in order.tolist()
    )


# ---------------------------------------------------------------------------------------
# The optimizer's curse


@dataclass(frozen=True)
class Disappointment:
    """The plan's point NPV, what it earns on average on fresh draws, and a corrected estimate."""

    point_npv: float
    expected_npv: Figure
    corrected_npv: float
    method: str = "Smith and Winkler (2006): each funded experience's NPV shrunk towards the portfolio's mean"

    @property
    def expected_disappointment(self) -> float:
        return self.point_npv - self.expected_npv.value


def disappointment(plan: Plan, simulation: Simulation, draws: Draws) -> Disappointment:
    """Point NPV, expected NPV on fresh draws, and the Smith-Winkler corrected estimate.

    The correction treats each funded experience's point NPV V as an estimate of its true
    value with error variance s2 (its NPV's variance over the draws), and the true values as
    drawn from a common prior estimated from the funded experiences themselves (empirical
    Bayes: mean m and variance t2 of their expected NPVs, less the average error variance).
    The posterior mean m + t2 / (t2 + s2) x (V - m) shrinks the noisiest estimates the most.
    A prior taken from the selected items is itself optimistic, so the correction errs on
    the side of correcting too little.
    """
    funded = _funded_blocks(plan, int(draws.slip.max(initial=0)))
    point = np.array([d.npv for d in funded.decisions])
    simulated = choice_npv(plan.portfolio, draws, funded)
    mean = simulated.mean(axis=0)
    error = simulated.var(axis=0)
    prior_mean = float(mean.mean()) if len(mean) else 0.0
    prior_variance = max(float(mean.var()) - float(error.mean()) if len(mean) else 0.0, 0.0)
    weight = np.where(prior_variance + error > 0, prior_variance / np.maximum(prior_variance + error, 1e-300), 1.0)
    corrected = prior_mean + weight * (point - prior_mean)
    return Disappointment(plan.npv, simulation.mean, float(corrected.sum()))


def choice_npv(portfolio: Portfolio, draws: Draws, funded: _Funded) -> np.ndarray:
    """Each choice's NPV in each draw (draws x choices)."""
    settings = portfolio.settings
    factors = discount_factors(settings, settings.horizon_quarters + settings.tail_quarters)
    columns = draws.columns_of(funded.experience)
    gain = draws.reach[:, columns] * draws.uplift[:, columns] * funded.rate[None, :]
    slip = draws.slip[:, columns]
    n = np.arange(len(columns))[None, :]
    pv_benefit = (funded.benefit @ factors)[slip, n]
    pv_one_off = (funded.one_off @ factors)[slip, n]
    pv_run = (funded.run @ factors)[slip, n]
    return gain * pv_benefit - draws.cost_factor[:, columns] * pv_one_off - pv_run


# ---------------------------------------------------------------------------------------
# Stability: re-solves on sampled inputs


@dataclass(frozen=True)
class Membership:
    """One experience's share of the optimal plans over the re-solves."""

    experience_id: str
    name: str
    share: float
    in_base_plan: bool

    @property
    def label(self) -> str:
        return "core" if self.share >= CORE else "exterior" if self.share <= EXTERIOR else "borderline"


@dataclass(frozen=True)
class Stability:
    resolves: int
    solved: int
    members: tuple[Membership, ...]
    distinct_plans: int
    proven: int = 0  # re-solves whose plan the solver proved optimal within the gap target (the others: its best in time)

    def count(self, label: str) -> int:
        return sum(m.label == label for m in self.members)


def rules_of(plan: Plan):
    """The plan's scenario without its input changes: the plan's portfolio has them applied
    already, and a re-solve must not apply a budget cut or a multiplier twice."""
    from planner.analysis.variants import as_seen_by

    return as_seen_by(plan.portfolio, plan.scenario)[1]


def sampled_portfolio(portfolio: Portfolio, draws: Draws, row: int) -> Portfolio:
    """The portfolio with one draw's inputs: the estimates made certain at the drawn values."""
    return _draw(draws, row).apply(portfolio)


def _draw(draws: Draws, row: int):
    from planner.analysis.resolves import SampledInputs

    return SampledInputs(draws.reach[row], draws.uplift[row], draws.cost_factor[row], draws.slip[row])


def stability(plan: Plan, settings: RiskSettings, resolves: int = 100, workers: int = 1, scheduler: str | None = None,
              progress: Progress | None = None) -> Stability:
    """Re-solve the plan's scenario on `resolves` sampled input sets; each experience's share of optimal plans.

    The draws are the first `resolves` of a stream seeded apart from the Monte Carlo's, so
    the answer depends on the seed only, never on the number of workers. The portfolio and
    the base plan (each re-solve's start) go to each worker once; a task is one draw
    (`planner.analysis.resolves`: the MIP alone, its plan checked).
    """
    from planner.analysis.resolves import Base, run_resolves

    draws = sample(plan.portfolio, settings, draws=resolves, seed=settings.seed + 1)
    base = Base(plan.portfolio, rules_of(plan), plan)
    answers = run_resolves(base, [_draw(draws, row) for row in range(resolves)], workers, progress, scheduler)
    solved = [a for a in answers if a.feasible]
    counts = {e.key: 0 for e in plan.portfolio.experiences}
    plans = set()
    for result in solved:
        funded = frozenset(result.funded)
        plans.add(funded)
        for key in funded:
            counts[key] += 1
    base = {d.experience.key for d in plan.funded}
    members = tuple(Membership(e.id, e.name, counts[e.key] / max(len(solved), 1), e.key in base)
                    for e in plan.portfolio.experiences)
    return Stability(resolves, len(solved), tuple(sorted(members, key=lambda m: (-m.share, m.experience_id))), len(plans),
                     sum(a.status == "optimal" for a in answers))


# ---------------------------------------------------------------------------------------
# Contingency


@dataclass(frozen=True)
class Contingency:
    """The reserve each quarter needs for the plan's spend to stay within budget with `confidence`."""

    confidence: float
    spend_at_confidence: tuple[float, ...]
    budget: tuple[float, ...]
    reserve: tuple[float, ...]

    @property
    def total_reserve(self) -> float:
        return sum(self.reserve)


def contingency(simulation: Simulation, confidence: float) -> Contingency:
    """Spend at the confidence quantile per quarter, against the budget: the reserve is the excess."""
    at = np.quantile(simulation.spend, confidence, axis=0)
    reserve = np.maximum(at - simulation.budget, 0.0)
    return Contingency(confidence, tuple(at.tolist()), tuple(simulation.budget.tolist()), tuple(reserve.tolist()))


def _raise_on(problems: list[Problem]) -> None:
    if problems:
        raise InputError(problems)
