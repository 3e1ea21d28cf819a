"""The plan: the optimiser's answer for one scenario, as plain frozen data.

A Plan holds, per experience, the decision (option, start and go-live quarter, or not
funded with the reason), its spend and attention by quarter and its economics; the
portfolio's totals; every budget and capacity rule with its use and marginal value; the
solver's status, gap and bounds; and the greedy baseline beside the optimum. Reports
(`planner.reports`) read only this.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.core.domain import Experience, Portfolio, quarter_labels
from planner.core.economics import payback_quarter
from planner.inputs.scenario import Scenario
from planner.rules.base import RuleCost


# A rule is binding when its slack is within this share of its limit (of 1, for limits below 1):
# costs are lumpy, so a plan rarely spends a budget to the cent; within 0.1% (the default
# gap target) a finance reader calls it spent.
BINDING_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Decision:
    """What the plan does with one experience.

    Quarters are 0-based indices into the horizon; `go_live_quarter` is the quarter at whose
    end the experience goes live (benefits start the quarter after). For an experience not
    funded, option and quarters are None, the money tuples are zeros and `reason` says why.
    """

    experience: Experience
    funded: bool
    option: str | None
    start_quarter: int | None
    go_live_quarter: int | None
    spend: tuple[float, ...]
    benefit: tuple[float, ...]
    attention: tuple[tuple[str, tuple[float, ...]], ...]
    pv_benefit: float
    pv_cost: float
    npv: float
    payback_quarter: int | None
    reason: str = ""
    # Undiscounted net cash by quarter over the horizon and the tail quarters the settings count.
    net_cash: tuple[float, ...] = ()

    @property
    def roi(self) -> float | None:
        return self.npv / self.pv_cost if self.pv_cost > 0 else None

    @property
    def total_spend(self) -> float:
        return sum(self.spend)


@dataclass(frozen=True)
class RuleUse:
    """One budget or capacity rule: its limit, what the plan uses, and what one more unit is worth.

    `name` is the rule's solver name (budget_2027Q1, capacity_digital_2027Q2); `label` reads
    like the inputs. `marginal_value` is the NPV one more unit (one currency unit, one
    team-week) would add at the margin: the shadow price of the rule in the LP relaxation.
    The rule is `binding` when the plan uses it to its limit; a rule can have a marginal
    value and still slack in the plan, when nothing left fits in what remains.
    """

    name: str
    kind: str  # "budget", "total_budget", "capacity", "balance" or "roi_hurdle"
    label: str
    quarter: int | None
    team: str | None
    limit: float
    used: float
    unit: str
    marginal_value: float
    sense: str = "at most"

    @property
    def binding(self) -> bool:
        """Whether the plan uses the rule to its limit: slack within BINDING_TOLERANCE of the limit."""
        return self.slack <= BINDING_TOLERANCE * max(1.0, abs(self.limit))

    @property
    def slack(self) -> float:
        """How far the plan is from the limit (never negative for a valid plan)."""
        return self.limit - self.used if self.sense == "at most" else self.used - self.limit


@dataclass(frozen=True)
class SolveInfo:
    """How the plan was found, stated honestly.

    `status` is "optimal" (proven within `gap_target`), "feasible" (a plan, not proven
    optimal: see `gap`) or "heuristic" (the solver gave nothing in time; the plan is the
    best of the heuristics, named by `heuristic`, with its gap to the LP bound). `gap` is
    the relative gap between the plan's NPV and the best bound the solver proved.
    `certificate` says what a second solver found (see planner.optimise.optimiser.optimiser.certify).
    """

    solver: str
    status: str
    objective: float
    best_bound: float | None
    lp_bound: float | None
    gap: float | None
    gap_target: float
    time_limit_seconds: float
    build_seconds: float
    solve_seconds: float
    check_seconds: float
    variables: int
    constraints: int
    message: str = ""
    heuristic: str = ""  # which heuristic gave a "heuristic" plan: LP rounding with repair, or the greedy ROI ranking
    certificate: Certificate | None = None

    @property
    def proven_optimal(self) -> bool:
        """Proven by the solver, and not contradicted by a second solver when one was asked."""
        return self.status == "optimal" and (self.certificate is None or self.certificate.agree)

    @property
    def status_text(self) -> str:
        """The status in words for a report: a second solver's verdict is part of it when there is one."""
        if self.certificate is None:
            return self.status
        return f"{self.status}; {self.certificate.message}"


@dataclass(frozen=True)
class Certificate:
    """A second solver's answer to the same model, beside the first's.

    `agree` holds when both proved optimality and their objectives are within the gap
    target of each other and of each other's bounds; otherwise `message` names the
    disagreement with both objectives and both bounds.
    """

    solver: str
    status: str
    objective: float | None
    best_bound: float | None
    agree: bool
    message: str


@dataclass(frozen=True)
class Baseline:
    """The spreadsheet habit the optimiser must beat: rank by ROI, fund down the list."""

    npv: float
    spend: float
    funded: tuple[str, ...]
    feasible: bool
    message: str = ""


@dataclass(frozen=True)
class Plan:
    """The plan. `costs` is what rule families add to or take from it beyond the experiences'
    own cash (capacity bought by the hiring family, benefit lost where experiences of one
    overlap group reach the same customers), by quarter: it counts in the totals (NPV, PV of
    benefits and costs, spend and benefit by quarter, payback), not in any one decision."""

    portfolio: Portfolio
    scenario: Scenario
    decisions: tuple[Decision, ...]
    rules: tuple[RuleUse, ...]
    solve: SolveInfo
    greedy: Baseline
    costs: tuple[RuleCost, ...] = ()

    @property
    def quarters(self) -> list[str]:
        return quarter_labels(self.portfolio.settings)

    @property
    def funded(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.funded)

    @property
    def not_funded(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if not d.funded)

    @property
    def npv(self) -> float:
        return sum(d.npv for d in self.funded) - sum(c.pv_cost - c.pv_benefit for c in self.costs)

    @property
    def pv_benefit(self) -> float:
        return sum(d.pv_benefit for d in self.funded) + sum(c.pv_benefit for c in self.costs)

    @property
    def pv_cost(self) -> float:
        return sum(d.pv_cost for d in self.funded) + sum(c.pv_cost for c in self.costs)

    @property
    def roi(self) -> float | None:
        return self.npv / self.pv_cost if self.pv_cost > 0 else None

    @property
    def spend_by_quarter(self) -> tuple[float, ...]:
        horizon = self.portfolio.horizon
        bought = [0.0] * horizon
        for cost in self.costs:
            if cost.quarter < horizon:
                bought[cost.quarter] += cost.spend
        return tuple(sum(d.spend[q] for d in self.funded) + bought[q] for q in range(horizon))

    @property
    def total_spend(self) -> float:
        return sum(self.spend_by_quarter)

    @property
    def benefit_by_quarter(self) -> tuple[float, ...]:
        horizon = self.portfolio.horizon
        added = [0.0] * horizon
        for cost in self.costs:
            if cost.quarter < horizon:
                added[cost.quarter] += cost.benefit
        return tuple(sum(d.benefit[q] for d in self.funded) + added[q] for q in range(horizon))

    @property
    def payback_quarter(self) -> int | None:
        """First quarter at which cumulative undiscounted net cash of the funded set is >= 0.

        It counts the tail quarters the settings count, so it may fall after the horizon.
        """
        settings = self.portfolio.settings
        net = [0.0] * (settings.horizon_quarters + settings.tail_quarters)
        for decision in self.funded:
            flows = decision.net_cash or tuple(b - s for b, s in zip(decision.benefit, decision.spend))
            for q, value in enumerate(flows):
                net[q] += value
        for cost in self.costs:
            net[cost.quarter] += cost.benefit - cost.spend
        return payback_quarter(net)

    def attention_by_team(self) -> dict[str, tuple[float, ...]]:
        horizon = self.portfolio.horizon
        totals = {team.name: [0.0] * horizon for team in self.portfolio.teams}
        for decision in self.funded:
            for team, weeks in decision.attention:
                row = totals[team]
                for q in range(horizon):
                    row[q] += weeks[q]
        return {team: tuple(row) for team, row in totals.items()}

    @property
    def binding_rules(self) -> tuple[RuleUse, ...]:
        return tuple(r for r in self.rules if r.binding)

    @property
    def gain_over_greedy(self) -> float:
        return self.npv - self.greedy.npv
