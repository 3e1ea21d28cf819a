"""Solving a built model: write it once as an MPS file, run each solve in a process of its own, read back what the solver proved.

`write_model` writes the model's arrays straight to an MPS file with index names only
(X0000000, C0000000), so no id ever becomes a solver name. `start_solve` runs the CBC
binary, or a Python process running HiGHS, in a new process group that the caller can
stop at its deadline; `solve_model` is the one-call form. The status is reported
honestly: PuLP calls a solve that stopped at its time limit "Optimal", so the status here
comes from the solver's own result (CBC's log, HiGHS's model status), with the best bound
and the proven gap.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pulp

from planner.core.cancel import raise_if_cancelled
from planner.core.errors import SolverError
from planner.core.scratch import solver_folder
from planner.optimise.model import Model

# In a maximisation PuLP's CBC interface gives a constraint's dual (.pi) as the NPV gained
# per extra unit of its right-hand side, HiGHS's the opposite sign (pinned in tests/test_model.py).
DUAL_SIGN = {"cbc": 1.0, "highs": -1.0}

@dataclass(frozen=True)
class SolveOutcome:
    """What one solve established: status, chosen columns, objective, bound, duals, timings.

    Statuses: "optimal" (proven within the gap target), "feasible" (a plan, not proven),
    "infeasible" (proven by the solver), "no_solution" (stopped before a usable plan).
    `objective` is recomputed from the plan read (never copied from the solver's log);
    `incumbent` is the value the solver reported for its best plan, for the cross-check.
    """

    status: str
    chosen: tuple[int, ...]
    objective: float
    best_bound: float | None
    duals: dict[str, float]
    seconds: float
    message: str = ""
    # Elastic models: each rule's slack in the solution (how far the rule had to give).
    slack: dict[str, float] = field(default_factory=dict)
    # The caller stopped the solver at its deadline.
    stopped: bool = False
    incumbent: float | None = None
    # LP relaxations: each column's value, by column id (LP rounding starts from it).
    column_values: np.ndarray | None = field(default=None, compare=False, repr=False)



# ---------------------------------------------------------------------------------------
# Solving: the model is written once, and each solve runs in a process of its own
#
# The parent builds the model and writes it as an MPS file; the LP relaxation and the MIP
# then run side by side as separate processes (the CBC binary itself, or a Python process
# running HiGHS), each in its own process group so that the caller can stop it, solver and
# all, at its deadline. Nothing is pickled, no Python process is forked, and HiGHS never
# runs in the caller's process (its threads do not survive a fork).


# What a file column that is not a binary choice holds (WrittenModel.variable_of_column).
EXTRA = -2
SLACK = -1


@dataclass(frozen=True)
class WrittenModel:
    """A model written as an MPS file, with the map from the file's columns and rows back to it.

    File column j (named X0000000 + j) is model variable j (a family's continuous variables
    follow the binaries), and, in an elastic model, file column len(variables) +
    len(extra_names) + r is the slack of row r; row r (named C0000000 + r) is the rule
    `rows[r]`. `variable_of_column[j]` is the index in `model.variables` of file column j
    (EXTRA for a family's continuous variable, SLACK for an elastic slack), `cost` its objective coefficient, `slack_column` the file
    column of each rule's slack (elastic models). `negated_path`, when asked for, is the
    same model minimising the negated objective (how CBC solves the MIP: see `start_solve`).
    """

    model: Model
    path: str
    variable_of_column: np.ndarray
    cost: np.ndarray
    rows: tuple[str, ...]
    slack_column: dict[str, int]
    negated_path: str | None = None


def write_model(model: Model, folder: str, negate_objective: bool = False) -> WrittenModel:
    """Write the model as `folder`/model.mps (a maximisation; the solver is told the sense).

    With `negate_objective`, also `folder`/model.min.mps: the same file with every
    objective coefficient negated, written from the same text at little extra cost.
    Names are index-based (X0000000..., C0000000...): no user text reaches the file.
    """
    count = len(model.column_ids)
    extras = len(model.extra_names)
    slacks = len(model.constraints) if model.elastic else 0
    cost = np.concatenate([model.objective, model.extra_objective, -model.slack_weight[:slacks]])
    variable_of_column = np.concatenate([np.arange(count), np.full(extras, EXTRA), np.full(slacks, SLACK)]).astype(np.int64)
    path = os.path.join(folder, "model.mps")
    head = _rows_text(model)
    rest = _rhs_and_bounds(model, count, slacks)
    column_lines = _column_lines(model, cost, slacks, negate_objective)
    _write_text(path, head, column_lines[0], rest)
    negated_path = None
    if negate_objective:
        negated_path = os.path.join(folder, "model.min.mps")
        _write_text(negated_path, head, column_lines[1], rest)
    slack_column = {name: count + extras + r for r, name in enumerate(model.constraints)} if model.elastic else {}
    return WrittenModel(model, path, variable_of_column, cost, model.constraints, slack_column, negated_path)


def _column_lines(model: Model, cost: np.ndarray, slacks: int, negated_too: bool = False) -> list[bytes]:
    """The COLUMNS section: one line per entry, the objective first in each column; with
    `negated_too`, also the same section with the objective negated (sorted and named once).

    The binaries sit between INTORG/INTEND markers; a family's continuous variables and
    the slacks come after them. Every variable has an entry: its experience's choice rule.
    """
    count = len(model.column_ids)
    first_slack = count + len(model.extra_names)
    row, variable, coefficient = model.entries
    has_cost = np.nonzero(cost)[0]
    slack_rows = np.arange(slacks)
    # The slack relaxes its row in the direction that makes the rule easier.
    slack_sign = np.where(model.sense[:slacks] == "L", -1.0, 1.0)
    columns = np.concatenate([has_cost, variable, first_slack + slack_rows])
    rows = np.concatenate([np.full(len(has_cost), -1), row, slack_rows])
    values = np.concatenate([cost[has_cost], coefficient, slack_sign])
    order = _by_column_then_row(columns, rows)
    columns, rows, values = columns[order], rows[order], values[order]
    binaries_end = int(np.searchsorted(columns, count))
    negate = rows < 0 if negated_too else None
    integers = _entry_lines(columns[:binaries_end], rows[:binaries_end], values[:binaries_end],
                            None if negate is None else negate[:binaries_end])
    continuous = _entry_lines(columns[binaries_end:], rows[binaries_end:], values[binaries_end:],
                              None if negate is None else negate[binaries_end:])
    return [b"".join([b"    MARK      'MARKER'                 'INTORG'\n", first,
                      b"    MARK      'MARKER'                 'INTEND'\n", second]) for first, second in zip(integers, continuous)]


def _by_column_then_row(columns: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The order of the entries by column, then row (np.lexsort's). A model's entries come sorted
    by variable then row, so a stable sort by column alone usually gives it, much faster; checked."""
    order = np.argsort(columns, kind="stable")
    ordered_columns, ordered_rows = columns[order], rows[order]
    same_column = ordered_columns[1:] == ordered_columns[:-1]
    if np.any(same_column & (ordered_rows[1:] < ordered_rows[:-1])):
        return np.lexsort((rows, columns))
    return order


def _digits(count: int) -> np.ndarray:
    """Seven ASCII digits for each number below `count`, as a (count x 7) byte array: row 12 is b"0000012"."""
    numbers = np.arange(max(count, 1), dtype=np.int32)
    return (numbers[:, None] // 10 ** np.arange(6, -1, -1, dtype=np.int32) % 10 + ord("0")).astype(np.uint8)


def _value_texts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the text of each distinct value as a zero-padded byte array, which distinct value each value is).

    Each distinct value is formatted once, with repr, which keeps every double exact.
    """
    distinct, which = np.unique(values, return_inverse=True)
    # One repr of the list (in C) gives each float's repr, comma-separated.
    texts = np.array(repr(distinct.tolist())[1:-1].encode("ascii").split(b", ") if len(distinct) else [b""])
    return texts.view(np.uint8).reshape(len(texts), texts.dtype.itemsize), which.reshape(-1)


def _negated_texts(text_bytes: np.ndarray) -> np.ndarray:
    """The texts of the negated values: repr(-x) is repr(x) with its sign toggled (x finite and not 0)."""
    count, width = text_bytes.shape
    negated = np.zeros((count, width + 1), dtype=np.uint8)
    minus = text_bytes[:, 0] == ord("-")
    negated[minus, :width - 1] = text_bytes[minus, 1:]
    negated[~minus, 0] = ord("-")
    negated[~minus, 1:] = text_bytes[~minus]
    return negated


def _entry_lines(columns: np.ndarray, rows: np.ndarray, values: np.ndarray, negate: np.ndarray | None = None,
                 chunk: int = 500_000) -> list[bytes]:
    """'    X0000012  C0000003  2.5' lines; row -1 is the objective. With `negate` (a mask of the
    entries), also the same lines with those values negated: [lines] or [lines, negated lines].

    Built as byte arrays, a chunk of lines at a time: Python string formatting per entry
    took most of the build on large models. Names fill their fixed-format fields (8
    characters): CBC reads a short name followed by a number as one bad field. The second
    variant rewrites only the negated values in the same grid of names.
    """
    text_bytes, which = _value_texts(values)
    width = text_bytes.shape[1]
    if negate is not None:
        negated_bytes = _negated_texts(text_bytes)
        width += 1
    column_digits = _digits(int(columns.max(initial=0)) + 1)
    row_digits = _digits(int(rows.max(initial=0)) + 1)
    parts: list[list[bytes]] = [[], []]
    for begin in range(0, len(columns), chunk):
        end = begin + chunk
        j, r, w = columns[begin:end], rows[begin:end], which[begin:end]
        grid = np.zeros((len(j), 25 + width), dtype=np.uint8)
        grid[:, :24] = np.frombuffer(b"    X0000000  C0000000  ", dtype=np.uint8)
        grid[:, 5:12] = column_digits[j]
        grid[:, 15:22] = row_digits[np.maximum(r, 0)]
        grid[r < 0, 14:22] = np.frombuffer(b"OBJ     ", dtype=np.uint8)
        grid[:, 24:24 + text_bytes.shape[1]] = text_bytes[w]
        grid[:, -1] = ord("\n")
        parts[0].append(grid[grid != 0].tobytes())  # drops the padding after each value
        if negate is not None:
            flip = np.nonzero(negate[begin:end])[0]
            grid[flip, 24:24 + width] = negated_bytes[w[flip]]
            parts[1].append(grid[grid != 0].tobytes())
    return [b"".join(part) for part in (parts if negate is not None else parts[:1])]


def _rhs_and_bounds(model: Model, count: int, slacks: int) -> bytes:
    """RHS and BOUNDS sections: binaries are 0..1 integers; an equality rule's slack is at most 1 (its row's whole right-hand side)."""
    rhs = [f"    RHS       C{r:07d}  {v!r}\n" for r, v in zip(np.nonzero(model.rhs)[0].tolist(), model.rhs[model.rhs != 0].tolist())]
    capped = count + len(model.extra_names) + np.nonzero(model.sense[:slacks] == "E")[0]
    bounded = np.concatenate([np.arange(count), capped]).astype(np.int64)
    # ' UP BND       X0000012  1' lines, as one byte array (a line per binary: 1,000,000 at scale).
    grid = np.empty((len(bounded), 26), dtype=np.uint8)
    grid[:] = np.frombuffer(b" UP BND       X0000000  1\n", dtype=np.uint8)
    grid[:, 15:22] = _digits(int(bounded.max(initial=0)) + 1)[bounded]
    return ("RHS\n" + "".join(rhs) + "BOUNDS\n").encode("ascii") + grid.tobytes() + b"ENDATA\n"


def _rows_text(model: Model) -> bytes:
    """The file's opening and ROWS section: the objective, then each rule's sense by row number."""
    return b"*SENSE:Maximize\nNAME          MODEL\nROWS\n N  OBJ\n" + "".join(
        f" {sense}  C{r:07d}\n" for r, sense in enumerate(model.sense.tolist())).encode("ascii") + b"COLUMNS\n"


def _write_text(path: str, head: bytes, column_lines: bytes, rest: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(head)
        handle.write(column_lines)
        handle.write(rest)


# The Python process that runs HiGHS on a written model (see run_highs).
_HIGHS_PROCESS = "import sys; from planner.optimise.solve import run_highs; run_highs(sys.argv[1:])"


@dataclass
class SolverRun:
    """One solve of a written model in its own process group; `outcome()` once it has finished."""

    written: WrittenModel
    solver: str
    relax: bool
    process: subprocess.Popen
    files: str  # the run's files are files + ".sol", ".log", ".json", ".npz"
    started: float
    time_limit: float | None

    def finished(self) -> bool:
        return self.process.poll() is not None

    def stop(self) -> None:
        """Stop the solver and everything it started (nothing happens if it has finished)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()

    def outcome(self) -> SolveOutcome:
        """What the finished solve established, read from its files."""
        read = _read_cbc if self.solver == "cbc" else _read_highs
        status, values, duals, bound, message, incumbent = read(self)
        return _outcome(self.written, self.relax, self.solver, status, values, duals, bound, message,
                        time.perf_counter() - self.started, incumbent)


def start_solve(written: WrittenModel, solver: str, relax: bool, time_limit: float | None, gap: float,
                warm_start: np.ndarray | None = None, name: str = "solve") -> SolverRun:
    """Start solving the written model (its LP relaxation if `relax`) in a new process group.

    `warm_start` (column ids of a feasible plan) gives the solver a first incumbent.
    """
    files = os.path.join(os.path.dirname(written.path), name)
    # CBC gets no start: CBC 2.10.3 given the greedy plan as its -mips start proved a false
    # optimum (bench/differential.py, portfolio 514; tests/data/differential/cbc-false-optimal-
    # warm-start-514.*), which it solves right without the start. The caller keeps the start
    # as a floor instead (a time-out plan is never worse than it). HiGHS keeps its start:
    # its one fault with a start (returning it as "Optimal" at a value not its own) is caught
    # by the worth check in `_outcome`.
    start_values = None if warm_start is None or relax or solver == "cbc" else _start_values(written, warm_start)
    if solver == "cbc" and relax:
        # The LP keeps the maximisation: DUAL_SIGN["cbc"] is pinned for it.
        command = [cbc_command().path, written.path, "-max", "-initialSolve"]
    elif solver == "cbc":
        # The MIP minimises the negated objective: the settings measured by bench/differential.py
        # and bench/cbc_flags.py, and one sign convention keeps the log's numbers (objective,
        # "best possible") read one way.
        if written.negated_path is None:
            raise ValueError("CBC's MIP solve needs the model written with negate_objective=True")
        command = [cbc_command().path, written.negated_path]
        if time_limit is not None:
            # CBC counts CPU seconds by default: on a busy machine it ran far past its limit.
            command += ["-timeMode", "elapsed", "-sec", f"{time_limit:g}"]
        command += [*CBC_SEARCH_OPTIONS, "-ratio", f"{gap:g}", "-solve"]
    if solver == "cbc":
        command += ["-printingOptions", "all", "-solution", files + ".sol"]
        environment = None
    else:
        if start_values is not None:
            np.save(files + ".start.npy", start_values)
        command = [sys.executable, "-c", _HIGHS_PROCESS, written.path, files, "1" if relax else "0",
                   "" if time_limit is None else f"{time_limit:g}", f"{gap:g}", "" if start_values is None else files + ".start.npy"]
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    with open(files + ".log", "wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, env=environment)
    return SolverRun(written, solver, relax, process, files, time.perf_counter(), time_limit)


# CBC's search settings, chosen on evidence (bench/cbc_flags.py; README "Honest solving"):
# correctness first, then speed.
CBC_SEARCH_OPTIONS: tuple[str, ...] = ("-preprocess", "off")


def wait_for(runs: list[SolverRun], seconds: float | None, done=None) -> bool:
    """Wait until every run has finished (or `done()` holds), at most `seconds`; whether that happened."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while True:
        raise_if_cancelled()  # a caller that no longer wants the answer (planner.core.cancel); the caller stops the runs
        if (done() if done is not None else all(run.finished() for run in runs)):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(0.005)


def solve_model(model: Model, solver: str, time_limit: float | None, gap: float, relax: bool = False,
                warm_start: np.ndarray | None = None, wall_limit: float | None = None) -> SolveOutcome:
    """Solve the model (or its LP relaxation) in a solver process and report what the solver proved.

    The process is stopped after `wall_limit` seconds, if given: the outcome then says
    "no_solution" and `stopped`.
    """
    if not model.variables:  # nothing worth funding: the empty plan is optimal, no solver needed
        return SolveOutcome("optimal", (), 0.0, 0.0, {}, 0.0, "nothing to choose")
    with solver_folder() as folder:
        written = write_model(model, folder, negate_objective=solver == "cbc" and not relax)
        run = start_solve(written, solver, relax, time_limit, gap, warm_start)
        try:
            if not wait_for([run], wall_limit):
                return stopped_outcome(wall_limit)
        finally:
            run.stop()
        return run.outcome()


def stopped_outcome(seconds: float) -> SolveOutcome:
    return SolveOutcome("no_solution", (), math.nan, None, {}, seconds, f"stopped after {seconds:g} s without a plan from the solver",
                        stopped=True)


def cbc_command(**options) -> pulp.LpSolver:
    """PuLP 3's bundled CBC. PuLP 3.3 warns that PuLP 4 drops it; this project pins PuLP 3 for it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(**options)


def _outcome(written: WrittenModel, relax: bool, solver: str, status: str, values: np.ndarray, row_duals: np.ndarray,
             bound: float | None, message: str, seconds: float, incumbent: float | None = None) -> SolveOutcome:
    model = written.model
    mine = written.variable_of_column >= 0
    if relax:
        if status != "optimal":  # "infeasible" only when the solver proved it; a stopped LP gives no bound
            return SolveOutcome(status, (), math.nan, None, {}, seconds, message)
        # Duals as PuLP's interface to the same solver would give them (DUAL_SIGN maps them to NPV per unit).
        row = {name: r for r, name in enumerate(written.rows)}
        sign = DUAL_SIGN[solver]
        duals = {spec.name: sign * float(row_duals[row[spec.name]]) for spec in model.rule_specs if spec.name in row}
        objective = float(written.cost @ values)
        by_column = np.zeros(int(model.column_ids.max(initial=-1)) + 1)
        by_column[model.column_ids[written.variable_of_column[mine]]] = values[mine]
        return SolveOutcome("optimal", (), objective, objective, duals, seconds, message, column_values=by_column)
    chosen: tuple[int, ...] = ()
    objective = math.nan
    slack: dict[str, float] = {}
    if status in ("optimal", "feasible"):
        status, message = _verified(status, values[mine], float(written.cost @ values), incumbent, message)
    if status in ("optimal", "feasible"):
        chosen = tuple(sorted(model.column_ids[written.variable_of_column[mine][values[mine] > 0.5]].tolist()))
        # The solver's value of its plan, once the plan is checked to be worth it: CBC writes
        # continuous values to 8 significant digits (an overlap term of EUR 3,704.2272), its
        # log states the objective to 15.
        objective = float(written.cost @ values) if incumbent is None else incumbent
        slack = {name: float(values[j]) for name, j in written.slack_column.items()}
        if bound is not None and status == "optimal":
            bound = max(bound, objective)
    return SolveOutcome(status, chosen, objective, bound, {}, seconds, message, slack=slack, incumbent=incumbent)


# A plan's values are integral within this, and its objective matches the solver's within this share.
INTEGRALITY_TOLERANCE = 1e-6
OBJECTIVE_TOLERANCE = 1e-6


def _verified(status: str, values: np.ndarray, objective: float, incumbent: float | None, message: str) -> tuple[str, str]:
    """The status a solver's plan earns once checked: a fractional plan, or one whose value is not
    the value the solver reported for its incumbent, is not the solver's plan ("no_solution")."""
    fractional = float(np.abs(values - np.round(values)).max(initial=0.0))
    if fractional > INTEGRALITY_TOLERANCE:
        return "no_solution", f"{message}; the solution it wrote is not integral (off by {fractional:.3g}), so it is not a plan"
    if incumbent is not None and abs(objective - incumbent) > OBJECTIVE_TOLERANCE * max(1.0, abs(incumbent)):
        return "no_solution", (f"{message}; the solution it wrote is worth {objective:,.2f}, not the {incumbent:,.2f} "
                               "it reported, so it is not its plan")
    return status, message


_CBC_RESULT = re.compile(r"^Result - (.*)$", re.MULTILINE)
_CBC_BOUND = re.compile(r"best possible (-?[0-9.eE+]+)")
_CBC_GAP_EXIT = re.compile(r"Exiting as integer gap of (-?[0-9.eE+]+)")
_CBC_OBJECTIVE = re.compile(r"^Objective value:\s+(-?[0-9.eE+]+)", re.MULTILINE)
_CBC_LOWER_BOUND = re.compile(r"^Lower bound:\s+(-?[0-9.eE+]+)", re.MULTILINE)
_CBC_WALLCLOCK = re.compile(r"^Time \(Wallclock seconds\):\s+([0-9.eE+]+)", re.MULTILINE)
# CBC re-solves the LP after its search; when that LP is cut short, the time limit had fired.
_CBC_LP_STOPPED = re.compile(r"^Stopped - objective value", re.MULTILINE)
# Within this share of its time limit, CBC's "Optimal solution found" is not taken as proof:
# CBC 2.10.3 has called a search "completed" when its time limit fired (4,000-experience
# portfolio, 1 s limit: "optimal" at 228.36M where a 5 s run found 230.27M).
CBC_TIME_LIMIT_SHARE = 0.95


@dataclass(frozen=True)
class CbcVerdict:
    """What CBC's log establishes about a MIP solve, in the maximisation's sign."""

    status: str  # optimal, feasible, infeasible, no_solution
    incumbent: float | None  # the value of CBC's best plan, as its log states it
    bound: float | None  # the best upper bound its log states
    message: str


def cbc_verdict(log: str, time_limit: float | None, first_line: str = "") -> CbcVerdict:
    """Read CBC's log of a minimisation of the negated objective: status, incumbent and bound.

    The status is CBC's own result line, except that "Optimal solution found" is proof only
    when the time limit cannot have fired (see CBC_TIME_LIMIT_SHARE). Without a result
    line, CBC proved infeasibility at the root ("Problem is infeasible!", its solution file
    saying "Integer infeasible") or was killed or crashed, which establishes nothing.
    """
    results = _CBC_RESULT.findall(log)
    if not results and ("Problem is infeasible" in log or first_line.lower().startswith(("infeasible", "integer infeasible"))):
        return CbcVerdict("infeasible", None, None, first_line or "Problem is infeasible")
    if not results:
        return CbcVerdict("no_solution", None, None, f"CBC gave no result ({_last_line(log)})")
    result = results[-1].strip()
    lowered = result.lower()
    if "infeasible" in lowered:
        return CbcVerdict("infeasible", None, None, result)
    if "unbounded" in lowered:
        raise SolverError(f"CBC reports the model unbounded ({result}); every choice is a 0-1 variable, so the model is wrong")
    objectives = _CBC_OBJECTIVE.findall(log)
    incumbent = -float(objectives[-1]) if objectives and "no feasible solution" not in log.lower() else None
    bounds = [-float(b) for b in _CBC_BOUND.findall(log) + _CBC_LOWER_BOUND.findall(log)]
    bound = min(bounds) if bounds else None
    if incumbent is None:
        return CbcVerdict("no_solution", None, bound, result)
    if result.startswith("Optimal solution found"):
        wallclock = _CBC_WALLCLOCK.findall(log)
        ran_out = time_limit is not None and bool(
            (wallclock and float(wallclock[-1]) >= CBC_TIME_LIMIT_SHARE * time_limit) or _CBC_LP_STOPPED.search(log))
        if ran_out:
            return CbcVerdict("feasible", incumbent, None, f"{result}, but at its {time_limit:g} s time limit: not taken as proof")
        gap_exit = _CBC_GAP_EXIT.findall(log)
        # Stopped within the gap target: the log states the absolute gap it proved.
        bound = incumbent + abs(float(gap_exit[-1])) if gap_exit else incumbent
        return CbcVerdict("optimal", incumbent, bound, result)
    return CbcVerdict("feasible", incumbent, bound, result)


def _start_values(written: WrittenModel, warm_start: np.ndarray) -> np.ndarray:
    """The value of each file column in a plan given as column ids: 1 for its choices, 0 elsewhere,
    and each family variable at the least its own rows allow (`_least_extras`)."""
    chosen = np.zeros(int(written.model.column_ids.max(initial=-1)) + 1, dtype=bool)
    chosen[warm_start[warm_start < len(chosen)]] = True
    mine = written.variable_of_column >= 0
    values = np.zeros(len(written.variable_of_column))
    values[mine] = chosen[written.model.column_ids[written.variable_of_column[mine]]]
    extras = len(written.model.extra_names)
    if extras:
        count = len(written.model.column_ids)
        values[count:count + extras] = _least_extras(written.model, values[:count])
    return values


def _least_extras(model: Model, binaries: np.ndarray) -> np.ndarray:
    """The least value of each family variable (>= 0) that its rows allow once the binaries are set.

    A start with the families' variables at 0 breaks their rows as soon as it funds what they
    account for (capacity beyond a team's, two members of one overlap group), and a solver
    drops a start that breaks a row. Each row holding one family variable bounds it from
    below when the binaries' activity pushes it (capacity bought = the shortfall; an overlap
    product = 1 when all its columns are chosen); rows holding several only bound from above.
    """
    count, extras = len(model.column_ids), len(model.extra_names)
    row, variable, coefficient = model.entries
    activity = np.zeros(len(model.rhs))
    binary = variable < count
    np.add.at(activity, row[binary], coefficient[binary] * binaries[variable[binary]])
    extra = (variable >= count) & (variable < count + extras)
    alone = np.bincount(row[extra], minlength=len(model.rhs)) == 1
    pick = extra & alone[row]
    r, v, a = row[pick], variable[pick] - count, coefficient[pick]
    pushes = ((model.sense[r] == "L") & (a < 0)) | ((model.sense[r] == "G") & (a > 0))
    least = np.zeros(extras)
    np.maximum.at(least, v[pushes], (model.rhs[r[pushes]] - activity[r[pushes]]) / a[pushes])
    return least


def _read_cbc_solution(path: str, columns: int, rows: int) -> tuple[str, np.ndarray, np.ndarray]:
    """CBC's solution file: its first line, each column's value and each row's dual."""
    values = np.zeros(columns)
    duals = np.zeros(rows)
    with open(path, encoding="utf-8", errors="replace") as handle:
        first = handle.readline().strip()
        for line in handle:
            parts = line.split()
            if len(parts) < 4:
                continue
            if parts[0] == "**":  # CBC marks values that break a bound or row
                parts = parts[1:]
            name = parts[1]
            if name[0] == "X":
                values[int(name[1:])] = float(parts[2])
            elif name[0] == "C":
                duals[int(name[1:])] = float(parts[3])
    return first, values, duals


def _read_cbc(run: SolverRun):
    """(status, values, duals, bound, message, incumbent) of a finished CBC run, from its log and solution file.

    PuLP calls a solve stopped by its time limit "Optimal"; the status here comes from CBC's
    log (`cbc_verdict`). On a time-limit stop CBC's solution file can hold a fractional
    node LP instead of its best plan: the values are used only when they are integral and
    worth what the log says the best plan is worth (`_outcome` checks); otherwise the
    solve ends without a plan and the caller falls back to a labelled heuristic.
    """
    written = run.written
    with open(run.files + ".log", encoding="utf-8", errors="replace") as handle:
        log = handle.read()
    if not os.path.exists(run.files + ".sol"):
        raise SolverError(f"CBC stopped without a solution file (exit code {run.process.returncode}): {_last_line(log)}")
    first, values, duals = _read_cbc_solution(run.files + ".sol", len(written.variable_of_column), len(written.rows))
    if run.relax:
        return cbc_lp_status(first), values, duals, None, first, None
    verdict = cbc_verdict(log, run.time_limit, first)
    return verdict.status, values, duals, verdict.bound, verdict.message, verdict.incumbent


def cbc_lp_status(first_line: str) -> str:
    """The LP relaxation's status from the first line of CBC's solution file: infeasible only when proven."""
    if first_line.startswith("Optimal"):
        return "optimal"
    return "infeasible" if first_line.lower().startswith(("infeasible", "primal infeasible")) else "no_solution"


def _read_highs(run: SolverRun):
    """(status, values, duals, bound, message) of a finished HiGHS run, from the files `run_highs` wrote."""
    if not os.path.exists(run.files + ".json"):
        with open(run.files + ".log", encoding="utf-8", errors="replace") as handle:
            raise SolverError(f"HiGHS stopped without a result (exit code {run.process.returncode}): {_last_line(handle.read())}")
    with open(run.files + ".json", encoding="utf-8") as handle:
        result = json.load(handle)
    if result["status"] == "error":
        raise SolverError(f"HiGHS reports the model {result['message'].lower()}; every choice is a 0-1 variable, so the model is wrong")
    arrays = np.load(run.files + ".npz")
    values, duals = arrays["values"], arrays["duals"]
    if len(values) != len(run.written.cost) or len(duals) != len(run.written.rows):  # HiGHS gives no solution when it has none
        values, duals = np.zeros(len(run.written.cost)), np.zeros(len(run.written.rows))
    return result["status"], values, duals, result["bound"], result["message"], result.get("incumbent")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def run_highs(argv: list[str]) -> None:
    """The HiGHS process: solve an MPS file written by `write_model` and write the result beside it.

    argv: MPS path, files prefix, "1" for the LP relaxation, time limit ("" for none), gap,
    and a .npy file of starting column values ("" for none). The objective is negated and
    minimised, as PuLP's own HiGHS interface does, so the duals keep the sign
    DUAL_SIGN["highs"] corrects.
    """
    import highspy

    path, files, relax, time_limit, gap, start = argv
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.readModel(path)
    lp = highs.getLp()
    n = lp.num_col_
    everything = np.arange(n, dtype=np.int32)
    highs.changeColsCost(n, everything, -np.asarray(lp.col_cost_, dtype=float))
    if relax == "1":
        highs.changeColsIntegrality(n, everything, np.array([highspy.HighsVarType.kContinuous] * n))
    else:
        highs.setOptionValue("mip_rel_gap", float(gap))
    if time_limit:
        highs.setOptionValue("time_limit", float(time_limit))
    if start:
        incumbent = highspy.HighsSolution()
        incumbent.col_value = np.load(start).tolist()
        highs.setSolution(incumbent)
    highs.run()
    status = highs.getModelStatus()
    info = highs.getInfo()
    solution = highs.getSolution()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    verdict = highs_verdict(highs.modelStatusToString(status), relax == "1", has_solution)
    # The dual bound of the negated minimisation is minus our upper bound; its objective minus our incumbent.
    bound = -float(info.mip_dual_bound) if relax != "1" and math.isfinite(info.mip_dual_bound) else None
    incumbent = -float(info.objective_function_value) if has_solution and relax != "1" else None
    np.savez(files + ".npz", values=np.asarray(solution.col_value, dtype=float), duals=np.asarray(solution.row_dual, dtype=float))
    with open(files + ".json", "w", encoding="utf-8") as handle:  # written last: its presence says the run finished
        json.dump({"status": verdict, "bound": bound, "message": highs.modelStatusToString(status), "incumbent": incumbent}, handle)


def highs_verdict(model_status: str, relax: bool, has_solution: bool) -> str:
    """Our status for a HiGHS model status (as `modelStatusToString` words it).

    "Infeasible" only when HiGHS proved it: "Infeasible", or "Primal infeasible or
    unbounded" (every column is bounded, so the model cannot be unbounded). A time, node,
    iteration or solution limit or an interrupt is a stop: a plan if HiGHS has one, else none.
    """
    if model_status == "Optimal":
        return "optimal"
    if model_status in ("Infeasible", "Primal infeasible or unbounded"):
        return "infeasible"
    if model_status == "Unbounded":
        return "error"
    return "feasible" if has_solution and not relax else "no_solution"
