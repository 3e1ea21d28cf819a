"""The one definition of every figure a report names: what it divides by, what moves, what stays fixed.

Several figures look alike and are not: ROI divides NPV by the present value of costs, NPV
per euro spent by undiscounted spend; "what one more euro is worth" is a shadow value (the
LP relaxation of the plan, nothing re-planned), a frontier slope (two plans, each fully
re-optimised) or a budget shadow value over one experience's quarters (explain). Each has
one name and one sentence here, and every place that shows it uses them: the CLI's
headers, the HTML and Excel column headers and glossary (templates/sections/glossary.html.j2,
the Glossary sheet), the CSV headers, and docs/model.md's "Definitions" (a test checks that
the words match). This module imports nothing from planner, so anything may import it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """A figure's name as every report prints it, and its definition in one or two sentences."""

    key: str
    name: str
    definition: str


TERMS: tuple[Term, ...] = (
    Term("npv", "NPV",
         "Present value of benefits minus present value of costs (one-off and run), each quarter's cash discounted at the "
         "plan's annual rate from the end of its quarter to the start of the plan's first quarter."),
    Term("spend", "Spend",
         "Undiscounted one-off and run costs inside the horizon: what the budget sees."),
    Term("roi", "ROI",
         "NPV divided by the present value of costs, over the whole life the plan counts (the horizon, and the tail "
         "quarters where the settings count them); 80% means each euro of costs, in present value, returns 0.80 of NPV "
         "on top of itself."),
    Term("remaining_spend", "Remaining spend",
         "In a plan rolled forward: undiscounted spend from the new first quarter on; money spent before it is sunk "
         "and not included."),
    Term("roi_remaining", "ROI on remaining spend",
         "In a plan rolled forward: NPV from the new first quarter on divided by the present value of the costs still "
         "to pay; sunk cash is in neither, so work that is nearly paid for shows a high figure. Not the whole-life ROI."),
    Term("npv_per_spend", "NPV per euro spent",
         "NPV divided by undiscounted spend over the horizon: how far each euro of budget goes. Not ROI, which divides "
         "by the present value of costs."),
    Term("shadow_value", "Shadow value",
         "What one more unit of a binding rule (one euro of budget, one team-week) adds to NPV, from the LP relaxation "
         "of the plan: choices may be fractional at the margin and nothing is re-planned, so it holds for a small "
         "change only."),
    Term("scaled_budget_shadow_value", "Shadow value of the scaled budget",
         "On the frontier: what one more euro of budget adds to NPV when every quarter's budget and the total grow alike, "
         "from the LP relaxation (the shadow values of all the budget rules, weighted by how much each grows); nothing is "
         "re-planned. It exceeds the total budget's own shadow value when quarterly budgets bind too."),
    Term("frontier_slope", "Frontier slope",
         "The change in the best NPV between two budgets on the frontier divided by the change in budget, each plan "
         "fully re-optimised: the average NPV each extra euro buys over that step."),
    Term("budget_shadow_value", "Budget shadow value over its quarters",
         "For an experience left out for budget: the shadow values of the quarters it would spend in, weighted by its "
         "spend; it would need more NPV per euro spent than this to displace what the plan funds."),
    Term("npv_lost_without_it", "NPV lost without it",
         "For a funded experience: the plan's NPV less the best NPV with the experience forced out, a re-solve: what it is "
         "worth to the plan after what its money and team time would earn elsewhere."),
    Term("restated_npv", "Restated NPV",
         "The previous plan's NPV counted from the new first quarter on, discounted to it: its cash in the quarters "
         "now closed is sunk and left out, so it compares like with like with this plan's NPV."),
    Term("npv_bridge", "NPV bridge",
         "From the previous plan's NPV to this plan's, by cause: each cause applied in turn in a fixed order, each "
         "step a re-evaluation of the plan as it stands or a re-solve, so the steps add up to the whole change."),
    Term("like_for_like", "Like for like",
         "Two scenarios' totals compare like for like when they rest on the same estimates; a scenario that changes "
         "uplift, cost, reach, value, the discount rate or the horizon is flagged: its NPV rests on other assumptions."),
    # The words of the experience view (issue 13): bundles, journeys, fragmentation.
    Term("prerequisite", "Prerequisite",
         "An experience another one requires (the Requires column): the other can start only once it is live. A "
         "backstage prerequisite is an enabler."),
    Term("enabler", "Enabler",
         "A backstage experience (systems, data, processes, training) that frontstage work requires. It earns nothing "
         "customers see, so its own NPV is a loss; its worth is what it unlocks."),
    Term("needs_it", "Work that needs it",
         "The experiences that require an enabler, directly or through another experience that requires it."),
    Term("bundle", "Bundle",
         "An enabler with the work that needs it. The bundle's spend, NPV and ROI add up its members funded in the best "
         "plan that funds the enabler."),
    Term("unlocks", "Unlocks",
         "What an enabler is worth to the plan: the best NPV of the whole plan with the enabler less the best NPV with "
         "it forced out, each an optimum. Negative when the money and team time its bundle needs return more elsewhere."),
    Term("journey", "Journey",
         "What a customer sets out to do (\"get a mortgage\"), across journey stages, channels and product lines."),
    Term("owner", "Owner",
         "The one executive accountable for a journey across product lines and channels, not a team."),
    Term("journey_stage", "Journey stage",
         "Where in the journey an experience sits; reports list stages in journey order (discover, choose, buy, use, "
         "get help, renew or leave, unless the workbook's Settings give another order)."),
    Term("one_off", "One-off",
         "An experience in no journey: work nobody owns end to end."),
    Term("overlap_group", "Overlap group",
         "Experiences that reach the same customers at the same stage, often from different channels. Together their "
         "uplift is 1 - the product of (1 - each uplift), not the sum; the plan's NPV leaves out the benefit the sum "
         "would count twice."),
)

# The experience view's words, in the order a glossary lists them; every report that shows
# bundles or journeys uses these names (tests/test_vocabulary.py checks the four reports).
BUNDLE_TERMS = ("prerequisite", "enabler", "needs_it", "bundle", "unlocks")
JOURNEY_TERMS = ("journey", "owner", "journey_stage", "one_off", "overlap_group")

# Other words once used for the same things; no report prints them (tests/test_vocabulary.py).
VARIANTS: dict[str, tuple[str, ...]] = {
    "needs_it": ("Enables", "Enabled work", "Dependents", "Dependants", "Dependent work"),
    "enabler": ("Backstage enabler", "Enabling capability", "Platform dependency"),
    "bundle": ("Package", "Enabler group"),
    "journey_stage": ("Stages", "Customer stage", "Lifecycle stage"),
    "owner": ("Journey owner", "Accountable team"),
    "one_off": ("Orphan", "Standalone experience"),
}

_BY_KEY = {term.key: term for term in TERMS}

# The terms each report kind prints, in the order its glossary lists them.
REPORT_TERMS: dict[str, tuple[str, ...]] = {
    "report": ("npv", "spend", "roi", "shadow_value") + BUNDLE_TERMS + JOURNEY_TERMS,
    "quarterly": ("npv", "remaining_spend", "roi_remaining", "restated_npv", "npv_bridge", "shadow_value") + BUNDLE_TERMS
                 + JOURNEY_TERMS,
    "frontier": ("npv", "spend", "roi", "frontier_slope", "scaled_budget_shadow_value", "shadow_value"),
    "compare": ("npv", "spend", "roi", "like_for_like", "journey_stage"),
    "explanations": ("npv", "spend", "npv_per_spend", "npv_lost_without_it", "budget_shadow_value", "shadow_value")
                    + BUNDLE_TERMS,
    "tornado": ("npv",),
}


def term(key: str) -> Term:
    return _BY_KEY[key]


def name(key: str) -> str:
    """The name a report prints for a figure ("ROI on remaining spend")."""
    return _BY_KEY[key].name


def column(key: str) -> str:
    """The figure's name as a CSV column of a what-if report: "frontier_slope", "npv_per_euro_spent"."""
    return "_".join(_BY_KEY[key].name.lower().split())


@dataclass(frozen=True)
class Glossary:
    """The terms of one report, and the names its tables use for ROI and spend (they differ in a rolled-forward plan)."""

    terms: tuple[Term, ...]
    roi: Term
    spend: Term

    def __getitem__(self, key: str) -> Term:
        return _BY_KEY[key]


def glossary(kind: str) -> Glossary:
    """The glossary of a report kind ("report", "quarterly", "compare", ...)."""
    terms = tuple(_BY_KEY[k] for k in REPORT_TERMS.get(kind, ("npv",)))
    rolled = kind == "quarterly"
    return Glossary(terms, _BY_KEY["roi_remaining" if rolled else "roi"], _BY_KEY["remaining_spend" if rolled else "spend"])


def markdown() -> str:
    """The definitions as docs/model.md states them: one bullet per term."""
    return "\n".join(f"- **{t.name}**: {t.definition}" for t in TERMS)
