"""Scenarios: a named set of changes to the inputs, read from YAML and validated at the boundary.

A scenario names its input workbook (relative to the scenario file), may `extends:` another
scenario (its keys are inherited; a key set here replaces the inherited one, and the
sub-keys of `budget` and `capacity` merge), and may change:

    name: Budget cut 10%
    extends: base.yaml
    workbook: example-portfolio.xlsx
    budget:                         # or budget: -10% (every quarter and the total, like change)
      per_quarter: -10%             # a number, a change, a list (one per quarter) or {2027Q3: 900000}
      total: 8000000                # optional cap over the horizon (a number or a change)
    capacity:
      Digital: -20%                 # a team: a number, a change, a list or {2027Q1: 40}
      all teams: +10%
    adjust:                         # multipliers on a filtered set of experiences
      - where: {channel: app}       # id, journey_stage, channel, product_line, layer, team
        uplift: 0.5                 # or -50%; also cost, reach, value
    forced_in: [CX-101]
    forced_out: [CX-205]
    stop: [CX-301]                  # stop work in flight (In flight sheet, or `planner roll`); forced out
    horizon_quarters: 8
    discount_rate: 6%
    uplift_estimate: low            # low, base or high
    objective: npv                  # npv, benefit or reach
    balance:                        # share of spend per journey stage, channel, product line, layer
      - {journey_stage: get help, min_share: 15%}
    roi_hurdle: 50%                 # portfolio NPV / PV cost at least this
    solver: cbc                     # cbc or highs
    time_limit_seconds: 60
    gap: 0.001
    start_quarters: free            # free or fixed
    certify: true                   # re-solve with the second solver and say whether they agree

A change is a signed percentage (-10%: times 0.9) or a signed amount (+250000: added).
The YAML is read by `planner.inputs.yaml12` (YAML 1.2 scalars; no aliases, anchors or tags).
Every problem is reported in one pass with the file, line and key path; problems that
need the portfolio (unknown ids, teams, quarters) come from `scenario_problems`. What the
loader reads in a way the file does not spell out is kept as located notes
(`Scenario.notes`, `applied_notes`), and `scenario_values` says where each value in effect
comes from: both are listed by `planner validate SCENARIO.yaml`.
"""

from planner.inputs.scenario_apply import applied_notes, apply_scenario, scenario_problems, scenario_values
from planner.inputs.scenario_read import (KNOWN_KEYS, decimal_comma_hint, load_scenario, parse_amount, parse_change, parse_share,
                                          read_yaml, referenced_file, _File, _parse_rule_keys)
from planner.inputs.scenario_types import (ADJUST_FACTORS, ALL_TEAMS, DIMENSIONS, ESTIMATES, FILTER_KEYS, OBJECTIVES, Adjustment, Amount,
                                           BalanceRule, Filter, Scenario, key_place)
from planner.rules.base import did_you_mean

__all__ = [
    "ADJUST_FACTORS", "ALL_TEAMS", "DIMENSIONS", "ESTIMATES", "FILTER_KEYS", "KNOWN_KEYS", "OBJECTIVES", "Adjustment", "Amount",
    "BalanceRule", "Filter", "Scenario", "applied_notes", "apply_scenario", "decimal_comma_hint", "did_you_mean", "key_place",
    "load_scenario", "parse_amount", "parse_change", "parse_share", "read_yaml", "referenced_file", "scenario_problems",
    "scenario_values", "_File", "_parse_rule_keys",
]
