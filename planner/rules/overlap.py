"""The overlap family: experiences of one overlap group (Experience.overlap_group) reach the same
customers, so their combined uplift is 1 - prod(1 - u_i) of the funded ones, not the sum.

In quarter q a funded member i brings, on its own, B_i(q) = m_i e_i(q), where m_i = reach x
value per outcome and e_i(q) = uplift x the option's share x the ramp (economics.cash_flows).
The group brings, by inclusion-exclusion over the subsets T of the members live in q,

    G(q) = sum over T of (-1)^(|T|+1) x min over T of m_i x prod over T of e_i(q)

which is m (1 - prod(1 - e_i)) when the members share reach and value, and otherwise counts
the customers two members share at the smaller reach x value (the smaller population lies
inside the larger one). Equivalently G = sum_i m_i e_i prod over members j with a larger
m_j of (1 - e_j): never more than the sum of the members' own benefits, never less than
the largest, and each member adds something (so a column worthless on its own stays so).

Exact in the model: for every subset T of two or more members and every choice of one
column per member of T, a continuous z >= 0 carries the PV of that subset's term for those
columns. A term that takes benefit away (|T| even) gets z >= sum of the columns - (|T| - 1);
one that gives it back (|T| odd) gets z <= each column: the objective then sets z to the
product of the columns. Groups are small (two or three members); the number of products
is capped at MAX_PRODUCTS. The greedy baseline ranks by each member's own ROI, blind to
the overlap, as a spreadsheet would; the plan's totals and its independent check count it.
"""

from __future__ import annotations

import itertools
import re

import numpy as np

from planner.core.domain import Portfolio, normalise_id
from planner.core.economics import cash_flows, discount_factors
from planner.core.errors import InputError, Problem
from planner.rules.base import LINK_SLACK_WEIGHT, Build, Family, RuleCost, Usage

MAX_PRODUCTS = 100_000
TINY = 1e-12


def groups(portfolio: Portfolio) -> list[tuple[str, list[int]]]:
    """(group name as first written, member indices) of every overlap group with two or more members."""
    found: dict[str, tuple[str, list[int]]] = {}
    for i, experience in enumerate(portfolio.experiences):
        if experience.overlap_group.strip():
            found.setdefault(normalise_id(experience.overlap_group), (experience.overlap_group.strip(), []))[1].append(i)
    return [(name, members) for name, members in found.values() if len(members) > 1]


def _reach_value(portfolio: Portfolio, i: int) -> float:
    experience = portfolio.experiences[i]
    return experience.reach_per_quarter * experience.value_per_outcome


def term(portfolio: Portfolio, members: list[int], benefits: list[np.ndarray]) -> np.ndarray:
    """The subset's inclusion-exclusion term by quarter, from the members' own benefits B_i(q) = m_i e_i(q)."""
    weights = [_reach_value(portfolio, i) for i in members]
    if min(weights) <= 0:
        return np.zeros(len(benefits[0]))
    product = np.prod([b / m for b, m in zip(benefits, weights)], axis=0)
    return (-1.0) ** (len(members) + 1) * min(weights) * product


def _benefit(portfolio: Portfolio, i: int, option, start: int) -> np.ndarray:
    return cash_flows(portfolio.settings, portfolio.experiences[i], option, start).benefit


def correction(portfolio: Portfolio, choices: list[tuple[int, object, int]]) -> dict[str, np.ndarray]:
    """By group: the benefit the group's funded members lose together, by quarter (horizon and tail; <= 0)."""
    chosen = {i: (option, start) for i, option, start in choices}
    found = {}
    for name, members in groups(portfolio):
        funded = [i for i in members if i in chosen]
        if len(funded) < 2:
            continue
        benefits = {i: _benefit(portfolio, i, *chosen[i]) for i in funded}
        total = sum(term(portfolio, list(subset), [benefits[i] for i in subset])
                    for size in range(2, len(funded) + 1) for subset in itertools.combinations(funded, size))
        found[name] = total
    return found


def rows(build: Build) -> None:
    """One z per subset of two or more members and per choice of one kept column each (see the module)."""
    portfolio, rules, cols = build.portfolio, build.rules, build.cols
    if rules.objective == "reach" or not groups(portfolio):
        return
    settings = portfolio.settings
    discount = discount_factors(settings, settings.horizon_quarters + settings.tail_quarters)
    hurdle = rules.roi_hurdle
    for name, members in groups(portfolio):
        kept = {i: list(range(build.bounds[i], build.bounds[i + 1])) for i in members}
        sizes = [np.prod([len(kept[i]) for i in subset]) for size in range(2, len(members) + 1)
                 for subset in itertools.combinations(members, size)]
        if sum(sizes) > MAX_PRODUCTS:
            raise InputError(Problem(f"overlap group {name}", f"{len(members)} experiences with their options and starts make "
                                                              f"{int(sum(sizes)):,} combinations; the optimiser models at most "
                                                              f"{MAX_PRODUCTS:,}: split the group or fix the start quarters"))
        benefit = {v: _benefit(portfolio, int(cols.experience[c]), portfolio.experiences[int(cols.experience[c])].options[int(cols.option[c])],
                               int(cols.start[c]))
                   for i in members for v in kept[i] for c in [int(build.column_ids[v])]}
        slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")[:30] or "group"
        for size in range(2, len(members) + 1):
            for subset in itertools.combinations(members, size):
                for combination in itertools.product(*(kept[i] for i in subset)):
                    value = float(term(portfolio, list(subset), [benefit[v] for v in combination]) @ discount)
                    if abs(value) <= TINY:
                        continue
                    _add_product(build, f"overlap_{slug}", list(combination), value, hurdle)


def _add_product(build: Build, name: str, combination: list[int], value: float, hurdle: float | None) -> None:
    """z = the product of the columns, as far as the objective needs: z >= sum - (n - 1) for a loss, z <= each for a gain."""
    [z] = build.rows.add_variables([name], [value])
    if hurdle is not None:
        build.rows.add_entries(["roi_hurdle"], [z], [value])  # a benefit lost or regained moves the NPV, not the costs
    count = len(combination)
    if value < 0:
        build.rows.add([name], "G", -(count - 1), LINK_SLACK_WEIGHT, np.zeros(count + 1), [z] + combination, [1.0] + [-1.0] * count)
    else:
        build.rows.add([name] * count, "L", 0.0, LINK_SLACK_WEIGHT, np.repeat(np.arange(count), 2),
                       np.ravel([[z, c] for c in combination]), np.tile([1.0, -1.0], count))


def account(usage: Usage) -> None:
    """The benefit the plan's overlapping members lose, by group and quarter (in the tail too)."""
    portfolio = usage.portfolio
    if not groups(portfolio):
        return
    settings = portfolio.settings
    discount = discount_factors(settings, settings.horizon_quarters + settings.tail_quarters)
    choices = list(zip(usage.choice_experience.tolist(), usage.choice_option, usage.choice_start.tolist()))
    for name, lost in correction(portfolio, choices).items():
        for q in np.nonzero(np.abs(lost) > TINY)[0].tolist():
            usage.costs.append(RuleCost("overlap", f"Overlap in {name}", None, q, 0.0, "", 0.0, 0.0, float(lost[q]),
                                        float(lost[q] * discount[q])))


FAMILY = Family(
    name="overlap", rows=rows, account=account, adds=lambda portfolio, rules: bool(groups(portfolio)),
    marginal="none: an overlap has no limit; it takes from the plan's NPV the benefit its members would count twice",
)
