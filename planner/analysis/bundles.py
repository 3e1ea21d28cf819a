"""Enablers valued by what they unlock: each backstage experience with the work that needs it.

A backstage experience (a data platform, a case-management system) earns nothing the
customer sees: on its own it is a cost, and listing it as a loss-maker misleads. Its worth
is what it makes possible. For each one this module finds

- its bundle: the enabler and every experience that needs it, directly or through another
  (CX-B01 enables CX-B07, which enables CX-602: all three are CX-B01's bundle);
- the NPV it unlocks: the optimum of the whole plan with the enabler funded, less the
  optimum with it ruled out (two exact solves; the plan itself is one of them). This is
  the enabler's value to the portfolio, counting everything the money would do instead;
- the bundle's own return: spend, NPV and ROI of the bundle's members in the plan that
  funds the enabler.

An enabler the plan leaves out gets the same numbers from the plan that funds it, so
"not funded" is explained by what the bundle as a whole would return and what funding it
would cost the plan, never by a member pointing at another member.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from planner.analysis.variants import Solve, as_seen_by, forcing, run_solves
from planner.core.domain import Portfolio
from planner.core.executor import Progress
from planner.optimise.plan import Plan


@dataclass(frozen=True)
class Bundle:
    """An enabler, the experiences that need it, and what funding it is worth.

    `with_npv` and `without_npv` are the optima of the whole plan with the enabler forced in
    and ruled out (None where no plan exists that way, e.g. a mandatory enabler cannot be
    ruled out); `unlocked` is their difference. `spend`, `npv` and `pv_cost` add up the
    bundle's members funded in the plan with the enabler (`funded_members`).
    """

    enabler: str
    name: str
    members: tuple[str, ...]
    funded: bool
    with_npv: float | None
    without_npv: float | None
    funded_members: tuple[str, ...]
    spend: float
    npv: float
    pv_cost: float

    @property
    def unlocked(self) -> float | None:
        if self.with_npv is None or self.without_npv is None:
            return None
        return self.with_npv - self.without_npv

    @property
    def roi(self) -> float | None:
        return self.npv / self.pv_cost if self.pv_cost > 0 else None

    @property
    def dependents(self) -> tuple[str, ...]:
        return self.members[1:]

    @property
    def id(self) -> str:  # the bundle is named by its enabler, as in the reports' EnablerRow
        return self.enabler


def needs(portfolio: Portfolio) -> dict[str, tuple[str, ...]]:
    """Each experience's id -> the ids that require it directly, in workbook order."""
    by_key = {e.key: e.id for e in portfolio.experiences}
    found: dict[str, list[str]] = {e.id: [] for e in portfolio.experiences}
    for experience in portfolio.experiences:
        for prerequisite in experience.requires:
            key = prerequisite.strip().casefold()
            if key in by_key:
                found[by_key[key]].append(experience.id)
    return {k: tuple(v) for k, v in found.items()}


def bundle_members(portfolio: Portfolio, enabler: str) -> tuple[str, ...]:
    """The enabler first, then everything that needs it directly or through another, in workbook order."""
    return members_of_bundles(portfolio, (enabler,))[enabler]


def members_of_bundles(portfolio: Portfolio, enablers: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """`bundle_members` of each enabler, the requirements read once (a report of 10,000 experiences
    and 270 enablers spent 5 s re-reading them per enabler)."""
    direct = needs(portfolio)
    position = {e.id: n for n, e in enumerate(portfolio.experiences)}
    found = {}
    for enabler in enablers:
        reached, stack = {enabler}, [enabler]
        while stack:
            for dependent in direct.get(stack.pop(), ()):
                if dependent not in reached:
                    reached.add(dependent)
                    stack.append(dependent)
        reached.discard(enabler)
        found[enabler] = (enabler, *sorted(reached, key=position.__getitem__))
    return found


def enabler_ids(portfolio: Portfolio) -> tuple[str, ...]:
    """The backstage experiences, in workbook order."""
    return tuple(e.id for e in portfolio.experiences if e.layer == "backstage")


def enabler_bundles(plan: Plan, workers: int = 1, scheduler: str | None = None,
                    progress: Progress | None = None, only: Iterable[str] | None = None) -> tuple[Bundle, ...]:
    """Every backstage experience's bundle (or those of the enablers `only` names), valued by
    re-solving the plan's scenario without it (or with it).

    The plan is one side of each comparison; the other is one solve per enabler, warm-started
    from the plan, through the shared executor.
    """
    portfolio, rules = as_seen_by(plan.portfolio, plan.scenario)
    ids = enabler_ids(portfolio)
    if only is not None:
        wanted = set(only)
        ids = tuple(i for i in ids if i in wanted)
    funded = {d.experience.id for d in plan.funded}
    tasks = [Solve(portfolio, forcing(rules, i, i not in funded), plan) for i in ids]
    answers = run_solves(tasks, workers, progress, scheduler)
    bundles = []
    for enabler, answer in zip(ids, answers):
        other = answer.plan
        with_plan, without_plan = (plan, other) if enabler in funded else (other, plan)
        bundles.append(_bundle(portfolio, enabler, enabler in funded, with_plan, without_plan))
    return tuple(bundles)


def _bundle(portfolio: Portfolio, enabler: str, funded: bool, with_plan: Plan | None, without_plan: Plan | None) -> Bundle:
    members = bundle_members(portfolio, enabler)
    name = next(e.name for e in portfolio.experiences if e.id == enabler)
    chosen = [d for d in (with_plan.funded if with_plan else ()) if d.experience.id in members]
    return Bundle(
        enabler=enabler, name=name, members=members, funded=funded,
        with_npv=float(with_plan.npv) if with_plan else None,
        without_npv=float(without_plan.npv) if without_plan else None,
        funded_members=tuple(d.experience.id for d in chosen),
        spend=float(sum(d.total_spend for d in chosen)),
        npv=float(sum(d.npv for d in chosen)),
        pv_cost=float(sum(d.pv_cost for d in chosen)),
    )
