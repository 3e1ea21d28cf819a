"""The project's error classes: one root, one subclass per kind of failure, each with its exit code.

The CLI maps these to exit codes in one place (`planner.cli`); library code raises them and
never prints.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in an input, located precisely enough for a person to fix it.

    `where` is e.g. 'inputs.xlsx, sheet Experiences, row 14, column "Reach per quarter"' or
    'base.yaml, line 3, key budget.total'. `severity` is "error" or "warning".
    """

    where: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class PlannerError(Exception):
    """Root of every error the planner raises on purpose."""

    exit_code = 1


class InputError(PlannerError):
    """The inputs (workbook or scenario) are invalid; carries every problem found in one pass."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | Problem | str, warnings: list[Problem] | None = None):
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.warnings: list[Problem] = list(warnings or [])
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the inputs"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class InfeasibleError(PlannerError):
    """No plan satisfies the scenario's rules; `conflicts` says which rules, in the user's words."""

    exit_code = 3

    def __init__(self, conflicts: list[str]):
        self.conflicts = list(conflicts)
        super().__init__(
            "No plan satisfies all the rules. The rules in conflict:\n"
            + "\n".join(f"  - {c}" for c in self.conflicts)
        )


class SolverError(PlannerError):
    """The solver failed, or returned a plan that breaks a rule (caught by the independent check)."""

    exit_code = 4
