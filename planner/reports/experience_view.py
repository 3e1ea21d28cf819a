"""The experience view of a plan: the service blueprint, enablers with their bundles, journeys with owners, fragmentation.

The planner's idea is that the experience is the product: frontstage work (what customers
touch) and backstage work (the systems behind it) planned together, each journey owned by
one executive across product lines and channels. This module turns a plan into the report
model of that idea, as plain frozen data:

- `Blueprint`: journey stages across in journey order, frontstage above the line of
  visibility and backstage below, a link from each enabler to what it enables;
- `EnablerRow`: each backstage experience with its bundle (the enabler and everything that
  needs it) and, when the with/without solves were run (`planner.analysis.bundles`), the
  NPV it unlocks;
- `JourneyRow`: per journey its owner(s), spend, NPV and the product lines and channels it
  crosses; experiences in no journey are one-offs;
- `Fragmentation`: one-offs, journeys with more than one owner, overlap groups (work that
  reaches the same customers at the same stage) with the benefit the plan does not count
  twice: the plan's NPV is its funded experiences' own NPVs less that overlap.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from planner.analysis.bundles import Bundle, members_of_bundles, needs
from planner.core.domain import DEFAULT_STAGE_ORDER, Portfolio, shift_label
from planner.optimise.plan import Decision, Plan
from planner.rules.overlap import groups as overlap_groups

# A workbook's own stages not named in the order (DEFAULT_STAGE_ORDER, or Settings' Journey
# stage order) follow, in the order the workbook first mentions them.


def stage_order(portfolio: Portfolio) -> tuple[str, ...]:
    """The journey stages of the portfolio in journey order (the Settings entry if given, else the default)."""
    preferred = tuple(portfolio.settings.journey_stages or DEFAULT_STAGE_ORDER)
    rank = {stage.casefold(): i for i, stage in enumerate(preferred)}
    present = list(dict.fromkeys(e.journey_stage for e in portfolio.experiences))
    return tuple(sorted(present, key=lambda s: (rank.get(s.casefold(), len(rank)), present.index(s))))


@dataclass(frozen=True)
class BlueprintNode:
    """One experience on the blueprint; `go_live` is a quarter label, None when not funded."""

    id: str
    name: str
    stage: str
    layer: str
    channel: str
    funded: bool
    go_live: str | None
    npv: float


@dataclass(frozen=True)
class BlueprintLink:
    """An enabler (`source`, backstage or not) and an experience that needs it; `live` when both are funded."""

    source: str
    target: str
    live: bool


@dataclass(frozen=True)
class Blueprint:
    stages: tuple[str, ...]
    nodes: tuple[BlueprintNode, ...]
    links: tuple[BlueprintLink, ...]

    def lane(self, stage: str, layer: str) -> tuple[BlueprintNode, ...]:
        return tuple(n for n in self.nodes if n.stage == stage and n.layer == layer)

    @property
    def ordered_nodes(self) -> tuple[BlueprintNode, ...]:
        """Stage by stage in journey order, frontstage before backstage (the sheet's rows)."""
        rank = {stage: i for i, stage in enumerate(self.stages)}
        return tuple(sorted(self.nodes, key=lambda n: (rank.get(n.stage, len(rank)), n.layer != "frontstage")))

    def targets_of(self, experience_id: str) -> tuple[str, ...]:
        return self._targets.get(experience_id, ())

    @functools.cached_property
    def _targets(self) -> dict[str, tuple[str, ...]]:  # looked up, not scanned, once per blueprint row
        found: dict[str, list[str]] = {}
        for link in self.links:
            found.setdefault(link.source, []).append(link.target)
        return {k: tuple(v) for k, v in found.items()}

    @property
    def deepest_lane(self) -> int:
        """The most experiences in one stage and layer: the blueprint's height follows it."""
        return max((len(self.lane(s, layer)) for s in self.stages for layer in ("frontstage", "backstage")), default=0)


@dataclass(frozen=True)
class EnablerRow:
    """A backstage experience and its bundle.

    `spend`, `npv` and `roi` add up the bundle's members funded in the plan that funds the
    enabler (this plan when it is funded). `unlocked` is the whole plan's optimum with the
    enabler less the optimum without it; None when the with/without solves were not run or
    one side has no plan.
    """

    id: str
    name: str
    funded: bool
    members: tuple[str, ...]
    funded_members: tuple[str, ...]
    spend: float
    npv: float
    roi: float | None
    own_npv: float
    pv_cost: float
    unlocked: float | None
    with_npv: float | None
    without_npv: float | None

    @property
    def dependents(self) -> tuple[str, ...]:
        return self.members[1:]


@dataclass(frozen=True)
class JourneyRow:
    """One customer journey across the silos."""

    journey: str
    owners: tuple[str, ...]
    experiences: int
    funded: int
    spend: float
    npv: float
    stages: tuple[str, ...]
    product_lines: tuple[str, ...]
    channels: tuple[str, ...]


@dataclass(frozen=True)
class OverlapGroup:
    """Experiences marked as reaching the same customers at the same stage (two or more, as the optimiser groups them).

    `funded_npv` adds up the funded members' own NPVs, as if their uplifts added up;
    `overlap` is the present value of the benefit that sum counts twice (1 - prod(1 - u)
    instead of the sum), which the plan's NPV leaves out: the group's NPV is the difference.
    """

    group: str
    stage: str
    members: tuple[str, ...]
    funded: tuple[str, ...]
    channels: tuple[str, ...]
    funded_npv: float = 0.0
    overlap: float = 0.0

    @property
    def npv(self) -> float:
        return self.funded_npv - self.overlap


@dataclass(frozen=True)
class Fragmentation:
    one_offs: tuple[str, ...]  # experiences in no journey
    one_off_spend: float
    one_off_npv: float
    shared_journeys: tuple[str, ...]  # journeys with more than one owner
    overlaps: tuple[OverlapGroup, ...]

    @property
    def overlap(self) -> float:
        """The benefit (present value) all overlap groups would count twice: the funded experiences' own NPVs less the plan's NPV."""
        return sum(o.overlap for o in self.overlaps)


@dataclass(frozen=True)
class ExperienceView:
    blueprint: Blueprint
    enablers: tuple[EnablerRow, ...]
    journeys: tuple[JourneyRow, ...]
    fragmentation: Fragmentation

    def bundles_of(self, experience_id: str) -> tuple[EnablerRow, ...]:
        """The bundles not funded that the experience belongs to: its reason for being left out."""
        return self._unfunded_bundles.get(experience_id, ())

    @functools.cached_property
    def _unfunded_bundles(self) -> dict[str, tuple[EnablerRow, ...]]:
        found: dict[str, list[EnablerRow]] = {}
        for enabler in self.enablers:
            if not enabler.funded:
                for member in dict.fromkeys(enabler.members):
                    found.setdefault(member, []).append(enabler)
        return {k: tuple(v) for k, v in found.items()}


def build_experience_view(plan: Plan, bundles: Sequence[Bundle] | None = None) -> ExperienceView:
    """The experience view of the plan; `bundles` (from `planner.analysis.bundles.enabler_bundles`) adds what each enabler unlocks."""
    labels = plan.quarters
    by_id = {d.experience.id: d for d in plan.decisions}
    portfolio = plan.portfolio
    return ExperienceView(
        blueprint=_blueprint(plan, labels),
        enablers=_enablers(portfolio, by_id, {b.enabler: b for b in bundles or ()}),
        journeys=_journeys(plan),
        fragmentation=_fragmentation(plan),
    )


def _blueprint(plan: Plan, labels: Sequence[str]) -> Blueprint:
    portfolio = plan.portfolio
    funded = {d.experience.id for d in plan.funded}
    nodes = tuple(
        BlueprintNode(d.experience.id, d.experience.name, d.experience.journey_stage, d.experience.layer, d.experience.channel,
                      d.funded, label_of(labels, d.go_live_quarter), float(d.npv))
        for d in plan.decisions
    )
    links = tuple(BlueprintLink(source, target, source in funded and target in funded)
                  for source, targets in needs(portfolio).items() for target in targets)
    return Blueprint(stage_order(portfolio), nodes, links)


def _enablers(portfolio: Portfolio, by_id: dict[str, Decision], solved: dict[str, Bundle]) -> tuple[EnablerRow, ...]:
    rows = []
    backstage = [e for e in portfolio.experiences if e.layer == "backstage"]
    all_members = members_of_bundles(portfolio, (e.id for e in backstage if e.id not in solved))
    for experience in backstage:
        own = by_id[experience.id]
        bundle = solved.get(experience.id)
        if bundle is not None:
            members, chosen = bundle.members, bundle.funded_members
            spend, npv = bundle.spend, bundle.npv
        else:  # without the solves, the plan's own funded members (nothing when the enabler is out)
            members = all_members[experience.id]
            picked = [by_id[m] for m in members if by_id[m].funded] if own.funded else []
            chosen = tuple(d.experience.id for d in picked)
            spend, npv = sum(d.total_spend for d in picked), sum(d.npv for d in picked)
            cost = sum(d.pv_cost for d in picked)
        if bundle is not None:
            cost = bundle.pv_cost
        rows.append(EnablerRow(
            id=experience.id, name=experience.name, funded=own.funded, members=members, funded_members=chosen,
            spend=float(spend), npv=float(npv), roi=float(npv / cost) if cost > 0 else None, own_npv=float(own.npv),
            pv_cost=float(cost),
            unlocked=None if bundle is None else bundle.unlocked,
            with_npv=None if bundle is None else bundle.with_npv, without_npv=None if bundle is None else bundle.without_npv,
        ))
    return tuple(rows)


def _journeys(plan: Plan) -> tuple[JourneyRow, ...]:
    order = stage_order(plan.portfolio)
    groups: dict[str, list[Decision]] = {}
    for decision in plan.decisions:
        if decision.experience.journey:
            groups.setdefault(decision.experience.journey, []).append(decision)
    rows = []
    for journey, decisions in groups.items():
        experiences = [d.experience for d in decisions]
        funded = [d for d in decisions if d.funded]
        rows.append(JourneyRow(
            journey=journey,
            owners=tuple(dict.fromkeys(e.owner for e in experiences if e.owner)),
            experiences=len(decisions), funded=len(funded),
            spend=float(sum(d.total_spend for d in funded)), npv=float(sum(d.npv for d in funded)),
            stages=tuple(s for s in order if any(e.journey_stage == s for e in experiences)),
            product_lines=tuple(dict.fromkeys(e.product_line for e in experiences)),
            channels=tuple(dict.fromkeys(e.channel for e in experiences)),
        ))
    return tuple(sorted(rows, key=lambda r: (-r.npv, r.journey.casefold())))


def _fragmentation(plan: Plan) -> Fragmentation:
    one_offs = [d for d in plan.decisions if not d.experience.journey]
    funded_one_offs = [d for d in one_offs if d.funded]
    journeys = _journeys(plan)
    lost: dict[str, float] = {}
    for cost in plan.costs:
        if cost.kind == "overlap":  # labelled "Overlap in <group>" by planner.rules.overlap
            lost[cost.label] = lost.get(cost.label, 0.0) - cost.pv_benefit
    by_id = {d.experience.id: d for d in plan.decisions}
    overlaps = []
    for group, members in overlap_groups(plan.portfolio):
        decisions = [by_id[plan.portfolio.experiences[i].id] for i in members]
        overlaps.append(OverlapGroup(
            group, decisions[0].experience.journey_stage, tuple(d.experience.id for d in decisions),
            tuple(d.experience.id for d in decisions if d.funded), tuple(dict.fromkeys(d.experience.channel for d in decisions)),
            funded_npv=float(sum(d.npv for d in decisions if d.funded)), overlap=float(lost.get(f"Overlap in {group}", 0.0)),
        ))
    return Fragmentation(
        one_offs=tuple(d.experience.id for d in one_offs),
        one_off_spend=float(sum(d.total_spend for d in funded_one_offs)),
        one_off_npv=float(sum(d.npv for d in funded_one_offs)),
        shared_journeys=tuple(j.journey for j in journeys if len(j.owners) > 1),
        overlaps=tuple(overlaps),
    )


def label_of(labels: Sequence[str], quarter: int | None) -> str | None:
    """A quarter's label; quarters past the horizon (payback in the tail) and before it (work in flight) are labelled too."""
    if quarter is None:
        return None
    if 0 <= quarter < len(labels):
        return labels[quarter]
    return shift_label(labels[0], quarter)
