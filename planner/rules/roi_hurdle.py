"""The ROI hurdle family: the portfolio's NPV / PV of its costs at least a hurdle (scenario key
`roi_hurdle`). Money a family spends (capacity bought) counts in both: its PV is taken off
the NPV and added to the costs. Its marginal value is the NPV a hurdle 1.0 (100 points)
lower would add.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from planner.core.domain import Portfolio
from planner.rules.base import Build, Family, Reader, RuleSpec, Rules, Usage

TOLERANCE = 1e-6


def parse(reader: Reader, data: dict) -> dict[str, Any]:
    raw = data["roi_hurdle"]
    try:
        text = str(raw).strip()
        value = -reader.share(text[1:]) if text.startswith("-") else reader.share(raw)
        if not -1.0 <= value <= 100.0:
            raise ValueError
        return {"roi_hurdle": value}
    except ValueError:
        reader.problem("roi_hurdle", f"{raw!r} is not a number or percentage between -100% and 10000%; type 50% or 0.5{reader.hint(raw)}")
        return {}


def specs(portfolio: Portfolio, rules: Rules) -> list[RuleSpec]:
    if rules.roi_hurdle is None:
        return []
    return [RuleSpec("roi_hurdle", "roi_hurdle", "Portfolio ROI hurdle", None, None, rules.roi_hurdle, "ROI", "at least")]


def rows(build: Build) -> None:
    """Portfolio ROI = NPV / PV cost >= hurdle, linear as: sum (NPV - hurdle x PV cost) x >= 0."""
    for spec in build.specs:
        if spec.kind == "roi_hurdle":
            coefficients = build.cols.npv[build.column_ids] - spec.limit * build.cols.pv_cost[build.column_ids]
            build.rows.add([spec.name], "G", 0.0, 1.0 / max(1.0, float(np.abs(coefficients).max(initial=0.0))),
                           np.zeros(len(coefficients)), np.arange(len(coefficients)), coefficients,
                           [f"the portfolio ROI must be at least {spec.limit:.0%}"])


def roi(usage: Usage) -> float:
    pv_cost = usage.pv_cost + usage.extra_pv_cost
    return usage.total_npv / pv_cost if pv_cost > 0 else 0.0


def check(usage: Usage) -> list[str]:
    hurdle = usage.rules.roi_hurdle
    npv, pv_cost = usage.total_npv, usage.pv_cost + usage.extra_pv_cost
    if hurdle is not None and npv < hurdle * pv_cost - TOLERANCE * max(1.0, abs(npv)):
        return [f"the portfolio ROI {npv / pv_cost if pv_cost else 0:.1%} is below the hurdle of {hurdle:.0%}"]
    return []


def used(spec: RuleSpec, usage: Usage) -> float:
    return roi(usage)


def conflict(portfolio: Portfolio, spec: RuleSpec, needed: float) -> str:
    return f"the portfolio ROI hurdle of {spec.limit:.0%} cannot be met together with the mandatory and forced-in experiences"


FAMILY = Family(
    name="roi_hurdle", plan_wide=True, keys=("roi_hurdle",), parse=parse, specs=specs, rows=rows, check=check, used=used, conflict=conflict,
    marginal="the NPV a hurdle lower by 1.0 (100 points of ROI) would add",
)
