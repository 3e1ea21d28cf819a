"""What every rule family shares: the rules in force, a rule's name and limit, the row builder,
the plan's use of resources, and the Family record that the registry lists.

A rule family (planner.rules.budget, .capacity, ...) is one module holding everything it
owns: the scenario keys it reads, the model rows it adds, how the greedy baseline and the
independent check account for it, how an infeasibility names it, and what its marginal
value means. The model builder, the solver glue, the greedy baseline and the plan check
(planner.optimise) only walk `planner.rules.FAMILIES`.

This layer sits between core and inputs: the scenario reader (inputs) asks the families
for their keys, and the optimiser (optimise) asks them for rows, checks and wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.core.domain import Experience, Portfolio, normalise_id
from planner.core.economics import Columns, discount_factors

# Weights of slack in the elastic model: blaming a budget or capacity (weighted per whole
# limit) names amounts a person can act on, so dropping a mandatory item or a dependency
# is the last resort.
CHOICE_SLACK_WEIGHT = 1000.0
LINK_SLACK_WEIGHT = 100.0
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Rules:
    """The scenario rules the model enforces beyond the portfolio itself (keys are normalised ids).

    `settings` holds what families added later read from the scenario, by family name
    (see Scenario.rule_settings): ("hiring", HiringSettings) and the like.
    """

    forced_in: frozenset[str] = frozenset()
    forced_out: frozenset[str] = frozenset()
    objective: str = "npv"
    balance: tuple = ()
    roi_hurdle: float | None = None
    settings: tuple[tuple[str, Any], ...] = ()

    def must_fund(self, experience: Experience) -> bool:
        """Mandatory, forced in, or in flight and not stopped (stopping is forcing out)."""
        return (experience.mandatory or experience.key in self.forced_in
                or (experience.commitment is not None and experience.key not in self.forced_out))

    def setting(self, family: str, default: Any = None) -> Any:
        """What the scenario set for a family (None when it set nothing)."""
        return dict(self.settings).get(family, default)

    @classmethod
    def of(cls, scenario) -> "Rules":
        """The rules of a planner.inputs.scenario.Scenario."""
        return cls(
            forced_in=frozenset(normalise_id(i) for i in scenario.forced_in),
            forced_out=frozenset(normalise_id(i) for i in scenario.forced_out),
            objective=scenario.objective,
            balance=scenario.balance,
            roi_hurdle=scenario.roi_hurdle,
            settings=tuple(getattr(scenario, "rule_settings", ())),
        )


@dataclass(frozen=True)
class RuleSpec:
    """A rule with a limit as the model names it (budget, capacity, balance, hurdle, hiring cap).

    `sense` is "at most" or "at least"; `kind` is the family's name; `detail` is what the
    family needs to know which rule this is (a balance rule, a hiring price)."""

    name: str
    kind: str
    label: str
    quarter: int | None
    team: str | None
    limit: float
    unit: str
    sense: str = "at most"
    balance: Any = None


@dataclass(frozen=True)
class RuleCost:
    """Money a family adds to or takes from the plan beyond the experiences' own, in one quarter:
    capacity bought (a cost), benefit lost where experiences reach the same customers (a
    negative benefit). `quarter` may lie in the tail after the horizon (benefits only)."""

    kind: str
    label: str
    team: str | None
    quarter: int
    amount: float  # in `unit`: team-weeks bought
    unit: str
    spend: float  # money spent in that quarter
    pv_cost: float
    benefit: float = 0.0  # benefit added in that quarter (negative: lost)
    pv_benefit: float = 0.0


def free_name(name: str, taken: set[str]) -> str:
    """`name`, or `name`_2, _3, ... : the first not in `taken` (compared case-insensitively), which it joins."""
    candidate, number = name, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{name}_{number}"
    taken.add(candidate.casefold())
    return candidate


def unique_slugs(values: list[str], fallback: str) -> list[str]:
    taken: set[str] = set()
    return [free_name(re.sub(r"[^A-Za-z0-9]+", "_", value).strip("_")[:30] or fallback, taken) for value in values]


def team_slugs(portfolio: Portfolio) -> dict[str, str]:
    """Each team's name as rule names spell it (capacity_<slug>_2027Q1), by team name."""
    return dict(zip([team.name for team in portfolio.teams], unique_slugs([team.name for team in portfolio.teams], "team")))


def must_fund_why(experience: Experience, rules: Rules) -> str:
    """Why an experience must be funded, in the user's words."""
    if experience.mandatory:
        return "mandatory"
    return "forced in by the scenario" if experience.key in rules.forced_in else "in flight"


class Rows:
    """The rows and extra variables of a model while it is built, family by family, in file order.

    Each family adds a block of rows at once: their names, sense, right-hand side, slack
    weight and entries (row within the block, variable, coefficient) as arrays. A family
    may add continuous variables of its own (`add_variables`: numbered after the binary
    choices) and put entries in rows another family added (`add_entries`, by rule name).
    """

    def __init__(self, binaries: int) -> None:
        self.binaries = binaries
        self.names: list[str] = []
        self.taken: set[str] = set()
        self.row_of: dict[str, int] = {}  # each row by the name its family asked for
        self.sense: list[np.ndarray] = []
        self.rhs: list[np.ndarray] = []
        self.weight: list[np.ndarray] = []
        self.entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.descriptions: dict[str, str] = {}
        self.extra_names: list[str] = []
        self.extra_objective: list[float] = []

    def add(self, names: list[str], sense, rhs, weight, rows, variables, coefficients, meanings: list[str] | None = None) -> None:
        """Append len(names) rows; `sense`, `rhs` and `weight` are one value for all or one per row."""
        count = len(names)
        first = len(self.names)
        unique = [free_name(name, self.taken) for name in names]
        for n, name in enumerate(names):
            self.row_of.setdefault(name, first + n)
        self.names += unique
        self.sense.append(np.broadcast_to(np.asarray(sense, dtype="<U1"), (count,)))
        self.rhs.append(np.broadcast_to(np.asarray(rhs, dtype=float), (count,)))
        self.weight.append(np.broadcast_to(np.asarray(weight, dtype=float), (count,)))
        coefficients = np.broadcast_to(np.asarray(coefficients, dtype=float), np.shape(variables))
        nonzero = coefficients != 0
        self.entries.append((np.asarray(rows, dtype=np.int64)[nonzero] + first, np.asarray(variables, dtype=np.int64)[nonzero],
                             coefficients[nonzero]))
        for name, meaning in zip(unique, meanings or ()):
            if meaning:
                self.descriptions[name] = meaning

    def add_variables(self, names: list[str], objective: list[float]) -> list[int]:
        """Continuous variables >= 0 (bounded by rows their family adds); their numbers in the model."""
        first = self.binaries + len(self.extra_names)
        self.extra_names += names
        self.extra_objective += list(objective)
        return list(range(first, first + len(names)))

    def add_entries(self, row_names: list[str], variables: list[int], coefficients: list[float]) -> None:
        """Entries in rows already added, by the names their families asked for; a name not there is skipped."""
        found = [(self.row_of[name], v, c) for name, v, c in zip(row_names, variables, coefficients) if name in self.row_of and c != 0]
        if found:
            rows, variables, coefficients = zip(*found)
            self.entries.append((np.array(rows, dtype=np.int64), np.array(variables, dtype=np.int64), np.array(coefficients, dtype=float)))


@dataclass(frozen=True)
class Build:
    """What a family's rows are built from: the inputs, the rules, the kept columns and their variables."""

    portfolio: Portfolio
    rules: Rules
    cols: Columns
    keep: np.ndarray
    column_ids: np.ndarray  # variable v is column column_ids[v]
    bounds: np.ndarray  # experience i's variables are bounds[i] .. bounds[i + 1] - 1
    labels: list[str]  # experience labels for rule names
    specs: list[RuleSpec]
    rows: Rows

    def discount(self) -> np.ndarray:
        """Each horizon quarter's discount factor."""
        return discount_factors(self.portfolio.settings, self.portfolio.horizon)


@dataclass
class Usage:
    """What a set of funded choices uses, recomputed from the inputs, as the families account for it.

    `spend` and `attention` are the choices' own (by quarter; teams x quarters);
    `choice_spend`, `choice_experience` one entry per choice. Families that buy resources
    (hiring) add to `extra_spend`, `extra_capacity` and `costs` in `account`, before any
    family checks or measures its rule.
    """

    portfolio: Portfolio
    rules: Rules
    spend: np.ndarray
    attention: np.ndarray
    choice_spend: np.ndarray
    choice_experience: np.ndarray
    npv: float
    pv_cost: float
    # Per choice: the experience's index, the option, the start quarter (the independent check reads them).
    choice_option: tuple = ()
    choice_start: np.ndarray = None
    extra_spend: np.ndarray = None
    extra_capacity: np.ndarray = None
    costs: list[RuleCost] = field(default_factory=list)

    def __post_init__(self) -> None:
        horizon = self.portfolio.horizon
        if self.choice_start is None:
            self.choice_start = np.zeros(0, dtype=np.int64)
        if self.extra_spend is None:
            self.extra_spend = np.zeros(horizon)
        if self.extra_capacity is None:
            self.extra_capacity = np.zeros((len(self.portfolio.teams), horizon))

    @property
    def total_spend(self) -> np.ndarray:
        """Spend by quarter, the choices' and what families bought."""
        return self.spend + self.extra_spend

    @property
    def extra_pv_cost(self) -> float:
        return float(sum(cost.pv_cost for cost in self.costs))

    @property
    def extra_pv_benefit(self) -> float:
        return float(sum(cost.pv_benefit for cost in self.costs))

    @property
    def total_npv(self) -> float:
        """The choices' NPV with what the families add or take."""
        return self.npv + self.extra_pv_benefit - self.extra_pv_cost


def attention_of(portfolio: Portfolio, cols: Columns, chosen: np.ndarray) -> np.ndarray:
    """Team-weeks by team and quarter (teams x horizon) of a set of columns, spread evenly over their delivery."""
    horizon = portfolio.horizon
    attention = np.zeros((len(portfolio.teams), horizon))
    if not len(chosen):
        return attention
    mask = np.zeros(len(cols), dtype=bool)
    mask[chosen] = True
    q = np.arange(horizon)[None, :]
    for t, (ids, weekly) in enumerate(cols.attention):
        ids, weekly = ids[mask[ids]], weekly[mask[ids]]
        delivering = (q >= cols.start[ids][:, None]) & (q < (cols.start[ids] + cols.delivery[ids])[:, None])
        attention[t] = (delivering * weekly[:, None]).sum(axis=0)
    return attention


@dataclass(frozen=True)
class Reader:
    """What a family's scenario parser may call on the file being read (planner.inputs.scenario passes one).

    `problem(key_path, message, mapping, key)` records a located error, `note(...)` a
    located warning, `unknown_keys(mapping, known, prefix)` reports keys not in `known`,
    `text(value)` gives a YAML scalar as the user typed it, `amounts(key_path, value,
    mapping, key)` reads one amount, a list per quarter or {2027Q1: amount}.
    """

    problem: Callable[..., None]
    note: Callable[..., None]
    unknown_keys: Callable[..., None]
    text: Callable[[Any], str]
    amounts: Callable[..., tuple]
    share: Callable[[Any], float]  # '15%' -> 0.15; ValueError when it is not a share
    hint: Callable[[Any], str]  # '; write 6.5% with a decimal point' and the like, or ''


def did_you_mean(value: str, known: list[str]) -> str:
    """' (did you mean "CX-101"?)' for the closest known value, ignoring case as ids do; "" when none is close."""
    import difflib

    by_case = {k.casefold(): k for k in known}
    hint = difflib.get_close_matches(value.casefold(), list(by_case), n=1, cutoff=0.6)
    return f' (did you mean "{by_case[hint[0]]}"?)' if hint else ""


@dataclass(frozen=True)
class Family:
    """One rule family: everything it owns, as functions (None where the family has nothing to say).

    - keys / parse(reader, data) -> {Scenario field: value}: the scenario keys it reads;
      problems(portfolio, scenario, place) -> [Problem]: what needs the portfolio to check
      (place(key_path) locates a key in the scenario's files).
    - specs(portfolio, rules) -> [RuleSpec]: its rules with a limit, in report order.
    - rows(build): its model rows (and variables) in matrix form.
    - account(usage): what it buys, added to the usage before any check (greedy, check, report).
    - check(usage) -> [str]: every way the usage breaks its rules, from the inputs alone.
    - used(spec, usage) -> float: the plan's use of one of its rules (the report's "used").
    - conflict(portfolio, spec, needed) -> str: its words when an infeasibility needs this
      rule relaxed to `needed`.
    - marginal: what its rules' marginal value means, for a reader.
    - shown(settings or None) -> str: its settings in words, for `planner validate`
      (families whose settings land in Scenario.rule_settings).
    """

    name: str
    keys: tuple[str, ...] = ()
    parse: Callable[..., dict] | None = None
    problems: Callable[..., list] | None = None
    specs: Callable[..., list[RuleSpec]] | None = None
    rows: Callable[[Build], None] | None = None
    account: Callable[[Usage], None] | None = None
    check: Callable[[Usage], list[str]] | None = None
    used: Callable[[RuleSpec, Usage], float] | None = None
    conflict: Callable[..., str] | None = None
    marginal: str = ""
    shown: Callable[[Any], str] | None = None
    # Whether its `account` can add anything for these inputs (portfolio, rules): scoring a
    # set of columns skips the accounting when no family can.
    adds: Callable[..., bool] | None = None
    # Only a whole plan can be checked against it (balance, hurdle): the greedy baseline checks it
    # at the end, where it fills the other families' rules as it goes.
    plan_wide: bool = False
