"""What a scenario is: the frozen data a scenario file is read into (planner.inputs.scenario_read)
and applied from (planner.inputs.scenario_apply). The keys are documented in planner.inputs.scenario.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.core.domain import Experience, normalise_id
from planner.core.errors import Problem
from planner.rules.balance import DIMENSIONS, BalanceRule

__all__ = ["ADJUST_FACTORS", "ALL_TEAMS", "DIMENSIONS", "ESTIMATES", "FILTER_KEYS", "OBJECTIVES", "Adjustment", "Amount",
           "BalanceRule", "Filter", "Scenario", "key_place"]

OBJECTIVES = ("npv", "benefit", "reach")
ESTIMATES = ("low", "base", "high")
FILTER_KEYS = ("id", "journey_stage", "channel", "product_line", "layer", "team")
ADJUST_FACTORS = ("cost", "uplift", "reach", "value")
ALL_TEAMS = "all teams"


@dataclass(frozen=True)
class Amount:
    """A value from a scenario: absolute (1200000), relative to the input ("-10%" -> x0.9) or added to it ("+250000")."""

    value: float
    relative: bool = False
    added: bool = False

    def apply(self, base: float) -> float:
        if self.added:
            return base + self.value
        return base * self.value if self.relative else self.value


@dataclass(frozen=True)
class Filter:
    """Which experiences a rule applies to; every key given must match (values are alternatives)."""

    id: tuple[str, ...] = ()
    journey_stage: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    product_line: tuple[str, ...] = ()
    layer: tuple[str, ...] = ()
    team: tuple[str, ...] = ()

    def matches(self, experience: Experience) -> bool:
        for key in FILTER_KEYS:
            wanted = getattr(self, key)
            actual = experience.id if key == "id" else getattr(experience, key)
            if wanted and normalise_id(actual) not in {normalise_id(w) for w in wanted}:
                return False
        return True

    def describe(self) -> str:
        parts = [f"{key.replace('_', ' ')} {' or '.join(getattr(self, key))}" for key in FILTER_KEYS if getattr(self, key)]
        return ", ".join(parts) or "all experiences"


@dataclass(frozen=True)
class Adjustment:
    """Multipliers on the experiences a filter selects."""

    where: Filter
    cost: float = 1.0
    uplift: float = 1.0
    reach: float = 1.0
    value: float = 1.0



@dataclass(frozen=True)
class Scenario:
    """The changes a scenario makes; None or empty means "as in the workbook"."""

    name: str = "base"
    description: str = ""
    workbook: str = ""
    source: str = ""
    extends: tuple[str, ...] = ()
    budget_per_quarter: tuple[Amount, ...] | None = None
    budget_by_quarter: tuple[tuple[str, Amount], ...] = ()
    total_budget: Amount | None = None
    capacity: tuple[tuple[str, tuple[Amount, ...] | None, tuple[tuple[str, Amount], ...]], ...] = ()
    adjustments: tuple[Adjustment, ...] = ()
    forced_in: tuple[str, ...] = ()
    forced_out: tuple[str, ...] = ()
    # In-flight experiences to stop; load_scenario also lists them in forced_out, which the optimiser reads.
    stop: tuple[str, ...] = ()
    horizon_quarters: int | None = None
    discount_rate: float | None = None
    uplift_estimate: str = "base"
    objective: str = "npv"
    balance: tuple[BalanceRule, ...] = ()
    roi_hurdle: float | None = None
    solver: str | None = None
    time_limit_seconds: float | None = None
    gap: float | None = None
    start_quarters: str | None = None
    certify: bool = False
    # What the rule families added later read from their own keys (planner.rules), by family name:
    # (("hiring", HiringSettings(...)),). Rules.of passes them to the optimiser.
    rule_settings: tuple[tuple[str, Any], ...] = ()
    # Where each key path was set ("base.yaml, line 7"), so problems found later name the line.
    places: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)
    # What the loader read in a way the file does not spell out ("CX-1, CX-2" as two ids, a
    # default name), located; `planner validate SCENARIO.yaml` lists them.
    notes: tuple[Problem, ...] = field(default=(), compare=False, repr=False)


def key_place(scenario: Scenario, key_path: str) -> str:
    """'base.yaml, line 7, key forced_in': the file and line that set a key path (or its nearest parent)."""
    places = dict(scenario.places)
    path = key_path
    while path:
        if path in places:
            return f"{places[path]}, key {key_path}"
        parent = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", path)
        path = "" if parent == path else parent
    return f"{Path(scenario.source).name if scenario.source else 'scenario'}, key {key_path}"
