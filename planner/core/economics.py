"""The economics of DOMAIN.md, in one place: cash flows, PV, NPV, ROI and payback of every choice.

A *column* is one candidate choice: experience i funded at option k starting in quarter s.
`columns(portfolio)` computes every column's spend and attention by quarter (inside the
horizon, what budget and capacity see) and its PV of benefits and costs (including the
tail quarters the settings count after the horizon). The optimiser, the greedy baseline,
the independent plan check and the reports all score plans with these functions, so a
number means the same everywhere. docs/model.md gives the formulas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.core.domain import Experience, FundingOption, Portfolio, Settings, normalise_id


@dataclass(frozen=True)
class CashFlows:
    """Undiscounted cash flows of one choice, by quarter from quarter 0 to horizon + tail - 1."""

    one_off: np.ndarray
    run: np.ndarray
    benefit: np.ndarray

    @property
    def cost(self) -> np.ndarray:
        return self.one_off + self.run

    @property
    def net(self) -> np.ndarray:
        return self.benefit - self.cost


def discount_factors(settings: Settings, quarters: int) -> np.ndarray:
    """Quarter q's cash sits at its end: factor (1 + annual rate) ** (-(q + 1) / 4)."""
    q = np.arange(quarters, dtype=float)
    return (1.0 + settings.annual_discount_rate) ** (-(q + 1.0) / 4.0)


def ramp_factors(settings: Settings, quarters_after_go_live: np.ndarray) -> np.ndarray:
    """The j-th quarter after go-live (j = 1, 2, ...) earns min(1, j / (R + 1)) of the benefit."""
    j = np.asarray(quarters_after_go_live, dtype=float)
    return np.where(j >= 1, np.minimum(1.0, j / (settings.ramp_quarters + 1.0)), 0.0)


def benefit_per_quarter(experience: Experience, option: FundingOption, uplift: str = "base") -> float:
    """Full-rate benefit per quarter after go-live: reach x uplift x share x value per outcome."""
    value = getattr(experience, f"uplift_{uplift}")
    return experience.reach_per_quarter * value * option.uplift_share * experience.value_per_outcome


def cash_flows(settings: Settings, experience: Experience, option: FundingOption, start: int, uplift: str = "base") -> CashFlows:
    """The cash flows of funding `experience` at `option` from quarter `start`.

    Quarters before the horizon (an in-flight experience's start is negative) are history:
    their cash is sunk and not in the flows. An in-flight experience's remaining one-off
    cost from actuals replaces the even spread.
    """
    length = settings.horizon_quarters + settings.tail_quarters
    q = np.arange(length)
    d = option.delivery_quarters
    delivering = (q >= start) & (q < start + d)
    live = q >= start + d
    one_off = np.where(delivering, option.one_off_cost / d, 0.0)
    commitment = experience.commitment
    if commitment is not None and commitment.remaining_one_off is not None and (commitment.option, commitment.start_quarter) == (option.name, start):
        left = int(delivering.sum())
        one_off = np.where(delivering, commitment.remaining_one_off / max(left, 1), 0.0)
        if not left:
            one_off[0] = commitment.remaining_one_off  # delivery ended but bills remain: pay them now
    run = np.where(live, option.run_cost_per_quarter, 0.0)
    benefit = ramp_factors(settings, q - (start + d) + 1) * benefit_per_quarter(experience, option, uplift)
    return CashFlows(one_off=one_off, run=run, benefit=benefit)


def present_value(settings: Settings, flows: np.ndarray) -> float:
    return float(np.dot(flows, discount_factors(settings, len(flows))))


def payback_quarter(net_cash: np.ndarray | list[float]) -> int | None:
    """First quarter at which cumulative undiscounted net cash turns non-negative (None: never).

    "Turns" means it was negative before; cash that never goes negative pays back in the
    first quarter with any cash at all.
    """
    return payback_quarters(np.asarray(net_cash, dtype=float).reshape(1, -1))[0]


def payback_quarters(net_cash: np.ndarray) -> list[int | None]:
    """`payback_quarter` of each row of a (choices x quarters) array of net cash."""
    cumulative = np.cumsum(net_cash, axis=1)
    negative = cumulative < -1e-9
    # A quarter pays back if its cumulative cash is not negative and either some quarter up
    # to it was negative or it holds any cash at all.
    pays_back = ~negative & (np.logical_or.accumulate(negative, axis=1) | (np.abs(cumulative) > 1e-9))
    first = pays_back.argmax(axis=1)
    return [int(q) if found else None for q, found in zip(first.tolist(), pays_back.any(axis=1).tolist())]


def earliest_starts(portfolio: Portfolio) -> list[int]:
    """The first quarter each experience can start: its own earliest start, and not before
    every prerequisite can be live (its earliest start plus its fastest delivery)."""
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    earliest: dict[int, int] = {}
    for root, experience in enumerate(portfolio.experiences):
        if not experience.requires:  # most experiences: no depth-first search needed
            earliest[root] = experience.earliest_start
            continue
        # Depth-first without recursion: long dependency chains must not hit Python's limit.
        stack = [root]
        while stack:
            i = stack[-1]
            experience = portfolio.experiences[i]
            prerequisites = [index[normalise_id(ref)] for ref in experience.requires]
            pending = [j for j in prerequisites if j not in earliest]
            if pending:
                stack.extend(pending)  # dependency cycles are rejected at the input boundary
                continue
            stack.pop()
            earliest[i] = max([experience.earliest_start] + [_earliest_live_after(portfolio.experiences[j], earliest[j]) for j in prerequisites])
    return [earliest[i] for i in range(len(portfolio.experiences))]


def _earliest_live_after(prerequisite: Experience, earliest: int) -> int:
    """The first quarter a dependent can start: after the prerequisite's earliest go-live."""
    commitment = prerequisite.commitment
    if commitment is not None:
        delivery = next(o.delivery_quarters for o in prerequisite.options if o.name == commitment.option)
        return max(0, commitment.start_quarter + delivery)
    return earliest + min((o.delivery_quarters for o in prerequisite.options), default=0)


def starts(settings: Settings, experience: Experience, option: FundingOption, first: int | None = None) -> range:
    """Start quarters on offer: delivery must finish inside the horizon.

    With start_quarters "free" any start from the earliest on; with "fixed" only the
    earliest start. `first` is the earliest start after dependencies (`earliest_starts`);
    by default the experience's own.
    """
    last = settings.horizon_quarters - option.delivery_quarters
    first = experience.earliest_start if first is None else first
    if settings.start_quarters == "fixed":
        last = min(last, first)
    return range(first, last + 1)


def choices(settings: Settings, experience: Experience, first: int) -> list[tuple[int, int]]:
    """(option index, start) pairs on offer; an in-flight experience offers only its commitment."""
    if experience.commitment is not None:
        names = [o.name for o in experience.options]
        return [(names.index(experience.commitment.option), experience.commitment.start_quarter)]
    return [(k, s) for k, option in enumerate(experience.options) for s in starts(settings, experience, option, first)]


@dataclass(frozen=True)
class Columns:
    """Every candidate (experience, option, start) of a portfolio with its economics, as arrays.

    Row c of every array describes column c. `spend` and `attention` cover the horizon only
    (shape columns x quarters; attention is one array per team, in portfolio.teams order,
    held sparsely as (column indices, weeks per quarter over the delivery)); the PVs include
    the tail quarters.
    """

    experience: np.ndarray
    option: np.ndarray
    start: np.ndarray
    delivery: np.ndarray
    spend: np.ndarray
    attention: tuple[tuple[np.ndarray, np.ndarray], ...]
    pv_benefit: np.ndarray
    pv_cost: np.ndarray

    @property
    def npv(self) -> np.ndarray:
        return self.pv_benefit - self.pv_cost

    @property
    def go_live(self) -> np.ndarray:
        """The quarter at whose end the experience goes live."""
        return self.start + self.delivery - 1

    def __len__(self) -> int:
        return len(self.experience)

    def attention_in(self, team: int, quarter: int) -> tuple[np.ndarray, np.ndarray]:
        """(column indices, team-weeks) of team `team` in quarter `quarter`."""
        cols, weekly = self.attention[team]
        active = (self.start[cols] <= quarter) & (quarter < self.start[cols] + self.delivery[cols])
        return cols[active], weekly[active]


def columns(portfolio: Portfolio, uplift: str = "base") -> Columns:
    """Compute the economics of every candidate choice of the portfolio, vectorised."""
    settings = portfolio.settings
    horizon = settings.horizon_quarters
    team_index = {team.name.casefold(): t for t, team in enumerate(portfolio.teams)}

    firsts = earliest_starts(portfolio)
    pairs = [(e, o) for e in portfolio.experiences for o in e.options]
    pair_start = np.zeros(len(portfolio.experiences) + 1, dtype=np.int64)
    np.cumsum([len(e.options) for e in portfolio.experiences], out=pair_start[1:])
    one_off_of, run_of, delivery_of, rate_of = _pair_economics(portfolio, pairs, pair_start, uplift)
    pair, start_arr = _choices_of_pairs(portfolio, firsts, pair_start, delivery_of)
    experience_arr = np.searchsorted(pair_start, pair, side="right") - 1
    option_arr = pair - pair_start[experience_arr]
    one_off, run_cost, delivery, rate = one_off_of[pair], run_of[pair], delivery_of[pair], rate_of[pair]

    flows = flow_rows(settings, one_off, run_cost, delivery, rate, start_arr)
    committed = np.array([e.commitment is not None for e in portfolio.experiences], dtype=bool)
    _apply_commitments(settings, flows, [
        (c, portfolio.experiences[int(experience_arr[c])], pairs[int(pair[c])][1], int(start_arr[c]))
        for c in np.nonzero(committed[experience_arr])[0].tolist()
    ], uplift)
    factors = discount_factors(settings, horizon + settings.tail_quarters)
    cost = flows.cost  # a sum of two (choices x quarters) arrays: made once
    spend = cost[:, :horizon]

    weeks = _weeks_by_team(pairs, team_index, len(portfolio.teams))
    attention = []
    for t in range(len(portfolio.teams)):
        column_weeks = weeks[pair, t]
        cols = np.nonzero(column_weeks > 0)[0]
        attention.append((cols, column_weeks[cols] / delivery[cols]))
    return Columns(
        experience=experience_arr,
        option=option_arr,
        start=start_arr,
        delivery=delivery,
        spend=spend,
        attention=tuple(attention),
        pv_benefit=flows.benefit @ factors,
        pv_cost=cost @ factors,
    )


def _pair_economics(portfolio: Portfolio, pairs: list[tuple[Experience, FundingOption]], pair_start: np.ndarray,
                    uplift: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(one-off cost, run cost per quarter, delivery quarters, `benefit_per_quarter`) of every (experience, option) pair.

    The benefit is multiplied in `benefit_per_quarter`'s order (reach x uplift x share x value per
    outcome), as arrays: the same numbers, without a Python call per pair.
    """
    if not pairs:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0)
    experiences = portfolio.experiences
    reach, value, outcome_value = (np.array(column, dtype=float) for column in zip(
        *[(e.reach_per_quarter, getattr(e, f"uplift_{uplift}"), e.value_per_outcome) for e in experiences]))
    one_off, run, delivery, share = np.array(
        [(o.one_off_cost, o.run_cost_per_quarter, o.delivery_quarters, o.uplift_share) for _, o in pairs], dtype=float).T
    experience_of = np.repeat(np.arange(len(experiences)), np.diff(pair_start))
    rate = reach[experience_of] * value[experience_of] * share * outcome_value[experience_of]
    return one_off, run, delivery.astype(np.int64), rate


def _weeks_by_team(pairs: list[tuple[Experience, FundingOption]], team_index: dict[str, int], team_count: int) -> np.ndarray:
    """Total team-weeks of each (experience, option) pair by team (pairs x teams); a team named twice counts twice."""
    index_of: dict[str, int] = {}  # team names as written, each folded once
    rows, teams, totals = [], [], []
    for p, (_, option) in enumerate(pairs):
        for team, total in option.attention:
            t = index_of.get(team)
            if t is None:
                t = index_of[team] = team_index[team.casefold()]
            rows.append(p)
            teams.append(t)
            totals.append(total)
    weeks = np.zeros((len(pairs), team_count))
    np.add.at(weeks, (np.array(rows, dtype=np.int64), np.array(teams, dtype=np.int64)), np.array(totals, dtype=float))
    return weeks


def _choices_of_pairs(portfolio: Portfolio, firsts: list[int], pair_start: np.ndarray, delivery: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`choices` of every experience at once: the (experience, option) pair and the start of each column, in column order.

    Pair p of experience i offers the starts from its first to its last (`starts`), or
    only its commitment when in flight; columns run experience by experience, option by
    option, start by start, as `choices` lists them.
    """
    settings = portfolio.settings
    experience_of = np.repeat(np.arange(len(portfolio.experiences)), np.diff(pair_start))
    first = np.asarray(firsts, dtype=np.int64)[experience_of] if len(experience_of) else np.zeros(0, dtype=np.int64)
    last = settings.horizon_quarters - delivery
    if settings.start_quarters == "fixed":
        last = np.minimum(last, first)
    for i, experience in enumerate(portfolio.experiences):
        if experience.commitment is not None:  # only its commitment: the first option of that name, from its start
            k = [o.name for o in experience.options].index(experience.commitment.option)
            first[pair_start[i]:pair_start[i + 1]] = 0
            last[pair_start[i]:pair_start[i + 1]] = -1
            first[pair_start[i] + k] = last[pair_start[i] + k] = experience.commitment.start_quarter
    count = np.maximum(0, last - first + 1)
    pair = np.repeat(np.arange(len(count)), count)
    offset = np.arange(len(pair)) - np.repeat(np.cumsum(count) - count, count)
    return pair, first[pair] + offset


def flow_rows(settings: Settings, one_off: np.ndarray, run_cost: np.ndarray, delivery: np.ndarray, rate: np.ndarray,
              start: np.ndarray) -> CashFlows:
    """The cash flows of many choices at once: one row per choice, one column per quarter.

    Per choice: its one-off cost, run cost per quarter, delivery quarters, full-rate benefit
    per quarter and start quarter; the even spread of `cash_flows`, without commitments.
    """
    length = settings.horizon_quarters + settings.tail_quarters
    start, delivery = np.asarray(start, dtype=np.int64), np.asarray(delivery, dtype=np.int64)
    # Few (start, delivery) pairs occur: each one's quarters (delivering, live, ramp) are made
    # once and looked up for every choice, instead of comparing a million rows quarter by quarter.
    low, high = (int(start.min()), int(delivery.max())) if len(start) else (0, 0)
    s = np.arange(low, int(start.max(initial=0)) + 1)[:, None, None]
    d = np.arange(high + 1)[None, :, None]
    q = np.arange(length)[None, None, :]
    shape = (-1, length)
    delivering_of, live_of = ((q >= s) & (q < s + d)).reshape(shape), (q >= s + d).reshape(shape)
    ramp_of = ramp_factors(settings, q - (s + d) + 1).reshape(shape)
    which = (start - low) * (high + 1) + delivery
    one_off_flow = np.where(delivering_of[which], (np.asarray(one_off, dtype=float) / np.maximum(delivery, 1))[:, None], 0.0)
    run_flow = np.where(live_of[which], np.asarray(run_cost, dtype=float)[:, None], 0.0)
    benefit_flow = ramp_of[which] * np.asarray(rate, dtype=float)[:, None]
    return CashFlows(one_off=one_off_flow, run=run_flow, benefit=benefit_flow)


def _apply_commitments(settings: Settings, flows: CashFlows, rows: list[tuple[int, Experience, FundingOption, int]], uplift: str) -> None:
    """In-flight choices pay the one-off cost left from actuals, not the even spread.

    `rows` are (row, experience, option, start); the rows of experiences in flight change in place.
    """
    for row, experience, option, start in rows:
        if experience.commitment is not None:
            flows.one_off[row] = cash_flows(settings, experience, option, start, uplift).one_off


def choice_flows(settings: Settings, choices: list[tuple[Experience, FundingOption, int]], uplift: str = "base") -> CashFlows:
    """The cash flows of each (experience, option, start), one row each: `cash_flows` for many at once."""
    flows = flow_rows(
        settings,
        np.array([o.one_off_cost for _, o, _ in choices], dtype=float),
        np.array([o.run_cost_per_quarter for _, o, _ in choices], dtype=float),
        np.array([o.delivery_quarters for _, o, _ in choices], dtype=np.int64),
        np.array([benefit_per_quarter(e, o, uplift) for e, o, _ in choices], dtype=float),
        np.array([s for _, _, s in choices], dtype=np.int64),
    )
    _apply_commitments(settings, flows, [(row, *choice) for row, choice in enumerate(choices)], uplift)
    return flows
