"""The choice family: at most one (option, start) per experience; exactly one where it must be funded
(mandatory, forced in by the scenario, or in flight and not stopped); nothing for what is forced out.

Its scenario keys (forced_in, forced_out, stop) change which experiences must or may be
funded, and are read with the other input changes in planner.inputs.scenario.
"""

from __future__ import annotations

import numpy as np

from planner.core.domain import Experience
from planner.rules.base import CHOICE_SLACK_WEIGHT, Build, Family, Rules, Usage, must_fund_why


def _choice_why(experience: Experience, rules: Rules) -> str:
    """`must_fund_why` as the choice rule's sentence says it ("... is forced in and must be funded")."""
    return "forced in" if experience.key in rules.forced_in and not experience.mandatory else must_fund_why(experience, rules)


def rows(build: Build) -> None:
    """At most one (option, start) per experience; exactly one where mandatory or forced in."""
    experiences, rules = build.portfolio.experiences, build.rules
    required = np.array([rules.must_fund(e) for e in experiences], dtype=bool)
    experience_of = build.cols.experience[build.column_ids]
    has_row = required | (np.bincount(experience_of, minlength=len(experiences)) > 0)
    row_of = np.cumsum(has_row) - 1
    listed = np.nonzero(has_row)[0].tolist()
    build.rows.add(
        [f"choose_{build.labels[i]}" for i in listed], np.where(required[listed], "E", "L"), 1.0, CHOICE_SLACK_WEIGHT,
        row_of[experience_of], np.arange(len(build.column_ids)), 1.0,
        [f"{experiences[i].id} ({experiences[i].name}) is {_choice_why(experiences[i], rules)} and must be funded"
         if required[i] else "" for i in listed],
    )


def check(usage: Usage) -> list[str]:
    """Commitments kept, deliveries inside the horizon, nothing forced out funded, everything required funded."""
    portfolio, rules = usage.portfolio, usage.rules
    problems = []
    for i, option, start in zip(usage.choice_experience.tolist(), usage.choice_option, usage.choice_start.tolist()):
        experience = portfolio.experiences[i]
        commitment = experience.commitment
        if commitment is not None:
            if (option.name, start) != (commitment.option, commitment.start_quarter):
                problems.append(f"{experience.id} is in flight with {commitment.option} from quarter {commitment.start_quarter}, "
                                f"but the plan has {option.name} from quarter {start}")
        elif start < experience.earliest_start or start + option.delivery_quarters > portfolio.horizon:
            problems.append(f"{experience.id}: starts in quarter {start} and cannot be delivered within the horizon")
        if experience.key in rules.forced_out:
            problems.append(f"{experience.id} is forced out but funded")
    funded = set(usage.choice_experience.tolist())
    for i, experience in enumerate(portfolio.experiences):
        if rules.must_fund(experience) and i not in funded:
            problems.append(f"{experience.id} must be funded but is not")
    return problems


FAMILY = Family(
    name="choice", rows=rows, check=check,
    marginal="none: a choice rule has no amount to add; an infeasibility names the experience that must be funded",
)
