"""Best of five timings of the optimiser's Python stages (greedy, decisions, check, model build) on one workbook.

    python bench/optimise_stages.py WORKBOOK

Fixed start quarters, CBC's settings; no solver runs. Used to compare the rule-family
registry (planner.rules) with the code before it (docs/benchmarks.md, "Rule families").
"""

from __future__ import annotations

import sys
import time

from planner.inputs.scenario import Scenario, apply_scenario
from planner.inputs.workbook import read_portfolio
from planner.optimise import optimiser as optimise


def best(function, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main(path: str) -> None:
    scenario = Scenario(start_quarters="fixed", gap=0.001)
    portfolio = apply_scenario(read_portfolio(path), scenario)
    rules = optimise.Rules.of(scenario)
    cols = optimise.columns(portfolio)
    keep = optimise.columns_on_offer(portfolio, rules, cols)
    chosen, _ = optimise.greedy_baseline(portfolio, rules, cols, keep)
    decisions = optimise.make_decisions(portfolio, rules, cols, chosen)
    stages = {
        "greedy baseline": lambda: optimise.greedy_baseline(portfolio, rules, cols, keep),
        "plan assembly (make_decisions)": lambda: optimise.make_decisions(portfolio, rules, cols, chosen),
        "independent check (check_plan)": lambda: optimise.check_plan(portfolio, scenario, decisions),
        "model (matrix form)": lambda: optimise.build_model(portfolio, rules, cols, keep),
    }
    for label, function in stages.items():
        print(f"{label:32s} {best(function):6.3f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
