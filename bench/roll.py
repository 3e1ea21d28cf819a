"""Time `planner roll` on the example's two-quarter story: roll_forward, and its NPV bridge within it.

    python bench/roll.py [--repeat 3]

Plans scenarios/q1-plan.yaml once (its plan.json in a temporary folder), then rolls it forward
with scenarios/q2-roll.yaml `--repeat` times after one warm-up; prints each roll's seconds and
the bridge's share (planner.cycle.bridge: re-evaluations and up to four small keep-or-drop
re-solves). Record the machine's load (`uptime`) beside the numbers in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from planner.cycle import roll as rolling
from planner.cycle.roll import read_plan_state, roll_forward, write_plan_state
from planner.inputs.scenario import load_scenario
from planner.inputs.workbook import read_workbook
from planner.optimise.optimiser import plan_portfolio

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    first = load_scenario(ROOT / "scenarios" / "q1-plan.yaml")
    portfolio, _, _ = read_workbook(first.workbook)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan.json"
        write_plan_state(plan_portfolio(portfolio, first), path)
        previous = read_plan_state(path)
    second = load_scenario(ROOT / "scenarios" / "q2-roll.yaml")
    new, _, warnings = read_workbook(second.workbook)
    bridge_seconds: list[float] = []
    build = rolling.build_bridge

    def timed(*arguments):
        started = time.perf_counter()
        result = build(*arguments)
        bridge_seconds.append(time.perf_counter() - started)
        return result

    rolling.build_bridge = timed
    roll_forward(previous, new, second, tuple(warnings))  # warm-up
    bridge_seconds.clear()
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        roll_forward(previous, new, second, tuple(warnings))
        seconds.append(time.perf_counter() - started)
    print(f"roll_forward: {', '.join(f'{s:.2f}' for s in seconds)} s; of which the NPV bridge: "
          f"{', '.join(f'{s:.2f}' for s in bridge_seconds)} s")


if __name__ == "__main__":
    main()
