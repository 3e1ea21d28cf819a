"""The second round of the quarterly planning story: Northgate Bank's workbook at the start of 2027Q2.

Finance's update after 2027Q1 closed, built from the bundled example (make_example.py):

- the horizon now starts in 2027Q2 and still ends in 2028Q4 (seven quarters);
- actuals on the In flight sheet for the six experiences the Q1 plan started in 2027Q1:
  four are done, the agent knowledge base is on track, and the customer data platform is
  late and over its budget (remaining one-off cost revised from 467k to 620k);
- revised estimates: the rate-switch reminder's pilot shows a third less uplift, the vendor
  quote for personalised offers is 40% higher, and the card-to-phone experience now reaches
  half as many customers again;
- one new experience, travel card controls in the app;
- new money: the board cut 2027Q4 to EUR 1.0m, and the total left for 2027Q2-2028Q4 is
  EUR 7.7m (EUR 9m less the EUR 1.265m spent in 2027Q1, rounded down); Digital loses five
  team-weeks in 2027Q3 to an incident review.

Run `python scenarios/make_q2_example.py` to rewrite scenarios/q2-actuals.xlsx; then
`planner roll <Q1 plan.json> scenarios/q2-roll.yaml` (docs/roll.md).
"""

from __future__ import annotations

import argparse
import importlib.util
from dataclasses import replace
from pathlib import Path

from planner.core.domain import Commitment, Experience, Portfolio, Team, validate_portfolio

HERE = Path(__file__).resolve().parent
WORKBOOK = HERE / "q2-actuals.xlsx"

_SPEC = importlib.util.spec_from_file_location("make_example", HERE / "make_example.py")
example = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(example)

# Actuals at the end of 2027Q1: (option, started, spent to date, remaining one-off cost or None, status).
ACTUALS: dict[str, tuple[str, int, float, float | None, str]] = {
    "CX-101": ("standard", -1, 310_000, None, "done"),
    "CX-603": ("standard", -1, 250_000, None, "done"),
    "CX-203": ("lean", -1, 190_000, None, "done"),
    "CX-B06": ("lean", -1, 160_000, None, "done"),
    "CX-B03": ("lean", -1, 95_000, None, "on track"),
    "CX-B01": ("lean", -1, 260_000, 620_000, "late"),
}
# Revised estimates: experience id -> (field, multiplier); "cost" scales every option's one-off cost.
REVISED: dict[str, tuple[str, float]] = {"CX-601": ("uplift", 2 / 3), "CX-102": ("cost", 1.4), "CX-304": ("reach", 1.5)}
NEW = example.Row(
    "CX-606", "Travel card controls in the app", example.USE, example.APP, example.CARDS, example.FRONT, example.DIGITAL,
    60_000, "fraud claim avoided", 45, (0.02, 0.04, 0.06), 120_000, 4_000, 10, (), 1, example.LSP,
    "Tell the app where you are travelling, and the card works there without a blocked payment at the till.")
BUDGET_2027Q4 = 1_000_000.0
TOTAL_BUDGET = 7_700_000.0
DIGITAL_2027Q3 = 40.0


def revised(experience: Experience) -> Experience:
    field, factor = REVISED.get(experience.id, ("", 1.0))
    if field == "uplift":
        return replace(experience, uplift_low=experience.uplift_low * factor, uplift_base=experience.uplift_base * factor,
                       uplift_high=experience.uplift_high * factor)
    if field == "cost":
        return replace(experience, options=tuple(replace(o, one_off_cost=round(o.one_off_cost * factor, -3)) for o in experience.options))
    if field == "reach":
        return replace(experience, reach_per_quarter=experience.reach_per_quarter * factor)
    return experience


def in_flight(experience: Experience) -> Experience:
    if experience.id not in ACTUALS:
        return experience
    option, start, spent, remaining, status = ACTUALS[experience.id]
    return replace(experience, commitment=Commitment(option, start, remaining, float(spent), status))


def q2_portfolio() -> Portfolio:
    """The Q2 workbook's portfolio, validated."""
    q1 = example.example_portfolio()
    settings = replace(q1.settings, first_quarter="2027Q2", horizon_quarters=7)
    budget = list(q1.budget[1:])
    budget[2] = BUDGET_2027Q4
    teams = tuple(Team(t.name, tuple(DIGITAL_2027Q3 if (t.name == example.DIGITAL and q == 1) else c for q, c in enumerate(t.capacity[1:])))
                  for t in q1.teams)
    experiences = tuple(in_flight(revised(replace(e, earliest_start=max(0, e.earliest_start - 1)))) for e in q1.experiences)
    new = replace(example.experience(NEW), journey="Report fraud or a lost card", owner=example.LIU)
    portfolio = Portfolio(experiences + (new,), teams, tuple(budget), settings, TOTAL_BUDGET)
    return validate_portfolio(portfolio)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=WORKBOOK, help="workbook to write")
    args = parser.parse_args()
    from planner.inputs.workbook_writer import write_portfolio

    write_portfolio(q2_portfolio(), args.output)


if __name__ == "__main__":
    main()
