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

Exact in the model: for every subset T of two or more members, the term's PV is linear in
the columns of one member (the one with the most columns, the inner one) once the others'
columns are fixed, so one continuous variable per choice of the other members' columns
carries it, tied to those columns by a big-M row (a loss, |T| even) or capped by them (a
gain, |T| odd): see `_add_term`. Groups are small (two to four members); the number of
combinations is capped at MAX_PRODUCTS. The greedy baseline ranks by each member's own ROI,
blind to the overlap, as a spreadsheet would; the plan's totals and its independent check
count it.
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
    """One linearised term per subset of two or more members (see the module and `_add_term`)."""
    portfolio, rules, cols = build.portfolio, build.rules, build.cols
    # Under the reach objective the overlap moves no objective, but the ROI hurdle is on NPV,
    # which it lowers: the terms are then written for the hurdle row alone (weight 0).
    if not groups(portfolio) or (rules.objective == "reach" and rules.roi_hurdle is None):
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
                # The member with the most columns is the inner one: the term is linear in its columns.
                *outer, inner = sorted(subset, key=lambda i: len(kept[i]))
                values = {}
                for combination in itertools.product(*(kept[i] for i in outer)):
                    inner_values = [(v, float(term(portfolio, list(subset), [benefit[u] for u in (*combination, v)]) @ discount))
                                    for v in kept[inner]]
                    inner_values = [(v, value) for v, value in inner_values if abs(value) > TINY]
                    if inner_values:
                        values[combination] = inner_values
                if values:
                    _add_term(build, f"overlap_{slug}_{'_'.join(build.labels[i] for i in subset)}", values, size, hurdle)


def _add_term(build: Build, name: str, values: dict[tuple[int, ...], list[tuple[int, float]]], size: int,
              hurdle: float | None) -> None:
    """The PV of one subset's term, linearised: one variable per choice P of the outer members' columns.

    y_P (in EUR, >= 0) carries the term of P with the inner member's columns, at most one of
    which is funded: T_P = sum over inner columns c of |v_Pc| x_c when every column of P is
    funded, else 0. With M_P the largest |v_Pc|:
    - a loss (|T| even, every v < 0; the objective charges y_P at -1) needs y_P >= T_P when P
      is funded: y_P >= sum_c |v_Pc| x_c - M_P (|P| - sum over P of x), one row per P;
    - a gain (|T| odd, the objective pays y_P at +1) needs y_P <= T_P and y_P = 0 unless P is
      funded: y_P <= sum_c v_Pc x_c, one row per P, and for each outer position and column a,
      the sum over the P using a of y_P / M_P <= x_a (at most one column of a member is
      funded, so at most one P can be nonzero).
    At every integer point the optimum sets y_P to the term exactly. Against one variable per
    combination of all members' columns (the earlier form), the example's model has 310
    variables and 342 rows for its overlap groups instead of 7,072 and 1,331, and CBC proves
    its optimum in 2.0 s instead of 4.3 s (docs/benchmarks.md).
    """
    combinations = list(values)
    sign = -1.0 if size % 2 == 0 else 1.0
    # Weight 0 under the reach objective (the hurdle row alone): a loss's y_P can still only be
    # at least its term and a gain's at most its term, so the hurdle never counts the overlap short.
    weight = 0.0 if build.rules.objective == "reach" else sign
    ys = build.rows.add_variables([f"{name}_{k}" for k in range(len(combinations))], [weight] * len(combinations))
    if hurdle is not None:
        build.rows.add_entries(["roi_hurdle"] * len(ys), ys, [sign] * len(ys))  # a benefit lost or regained moves the NPV, not the costs
    largest = np.array([max(abs(value) for _, value in values[p]) for p in combinations])
    outer = len(combinations[0])
    rows, variables, coefficients = [], [], []
    for k, p in enumerate(combinations):
        inner = values[p]
        rows.append(np.full(1 + len(inner) + (outer if sign < 0 else 0), k))
        if sign < 0:
            variables.append(np.array([ys[k], *(v for v, _ in inner), *p]))
            coefficients.append(np.array([1.0, *(value for _, value in inner), *([-largest[k]] * outer)]))
        else:
            variables.append(np.array([ys[k], *(v for v, _ in inner)]))
            coefficients.append(np.array([1.0, *(-value for _, value in inner)]))
    names = [f"{name}_{k}" for k in range(len(combinations))]
    build.rows.add(names, "G" if sign < 0 else "L", -outer * largest if sign < 0 else 0.0, LINK_SLACK_WEIGHT,
                   np.concatenate(rows), np.concatenate(variables), np.concatenate(coefficients))
    if sign < 0:
        return
    combination = np.array(combinations, dtype=np.int64)
    for position in range(outer):
        columns, which = np.unique(combination[:, position], return_inverse=True)
        build.rows.add([f"{name}_{position}_{k}" for k in range(len(columns))], "L", 0.0, LINK_SLACK_WEIGHT,
                       np.concatenate([which, np.arange(len(columns))]), np.concatenate([np.array(ys), columns]),
                       np.concatenate([1.0 / largest, -np.ones(len(columns))]))


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
