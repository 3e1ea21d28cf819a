"""Time each stage of `plan_portfolio` on its own, in one warm process: where the time goes.

    python bench/stages.py WORKBOOK [fixed|free] [cbc|highs]

Reads the workbook twice (first and warm), then runs the stages `plan_portfolio` runs, one
at a time: economics of every choice, greedy baseline, the model in matrix form, its MPS file, the
LP relaxation beside the MIP (solver processes), plan assembly, the independent check and
the marginal values; then the whole `plan_portfolio` call, warm. Gaps as in bench/run.py.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from planner.optimise import optimiser as optimise
from planner.optimise.model import build_model
from planner.optimise.solve import start_solve, wait_for, write_model
from planner.inputs.scenario import Scenario, apply_scenario
from planner.inputs.workbook import read_portfolio

GAPS = {"fixed": 0.001, "free": 0.005}


def timed(label: str, function, *args):
    """Run one stage; print its wall-clock and CPU seconds (this process and the solver processes that ended)."""
    started, cpu = time.perf_counter(), cpu_seconds()
    result = function(*args)
    print(f"{label:32s} {time.perf_counter() - started:6.2f} s wall {cpu_seconds() - cpu:6.2f} s CPU", flush=True)
    return result


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children that have ended: the load distorts them less than wall-clock."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbook", type=Path)
    parser.add_argument("mode", nargs="?", choices=("fixed", "free"), default="fixed")
    parser.add_argument("solver", nargs="?", choices=("cbc", "highs"), default="cbc")
    args = parser.parse_args()
    timed("read (first)", read_portfolio, args.workbook)
    portfolio = timed("read (again)", read_portfolio, args.workbook)
    scenario = Scenario(solver=args.solver, start_quarters=args.mode, gap=GAPS[args.mode], time_limit_seconds=300)
    planned = apply_scenario(portfolio, scenario)
    rules = optimise.Rules.of(scenario)
    cols = timed("economics of every choice", optimise.columns, planned)
    keep = optimise.columns_on_offer(planned, rules, cols)
    greedy, _ = timed("greedy baseline", optimise.greedy_baseline, planned, rules, cols, keep)
    model = timed("model (matrix form)", build_model, planned, rules, cols, keep)
    with tempfile.TemporaryDirectory(prefix="planner-stages-") as folder:
        written = timed("MPS file", write_model, model, folder, args.solver == "cbc")  # CBC's MIP reads the negated copy

        def solve():
            runs = [start_solve(written, args.solver, True, 300, scenario.gap, name="lp"),
                    start_solve(written, args.solver, False, 300, scenario.gap, greedy, name="mip")]
            wait_for(runs, None)
            return [run.outcome() for run in runs]

        lp, mip = timed("LP beside MIP (solver processes)", solve)
    decisions = timed("plan assembly", optimise.make_decisions, planned, rules, cols, mip.chosen)
    timed("independent check", optimise.check_plan, planned, scenario, decisions)
    usage, _ = timed("plan usage", optimise.plan_usage, planned, rules, decisions)
    timed("marginal values", optimise.rule_uses, planned, usage, lp.duals)
    plan = timed("plan_portfolio, warm", optimise.plan_portfolio, portfolio, scenario)
    print(f"status {plan.solve.status}, gap {plan.solve.gap:.4%}")


if __name__ == "__main__":
    main()
