"""Time `planner explain` on every experience of the bundled example (issue 14, point 7).

    python bench/explain.py                      # the library call, as the CLI makes it
    python bench/explain.py --cli                # the command itself, in a child process
    python bench/explain.py --rows /tmp/ex.csv   # also keep the explanations, to compare runs
    python bench/explain.py --reasons 2000       # the reasons alone (no search) on a generated portfolio

Reports wall seconds; CPU seconds of this process and all its children (the executor's
worker processes and every solver process, from resource.getrusage once they have exited);
the load average before and after (os.getloadavg: the machine is shared, so a wall time
means little without it); and the re-solves by kind (library call only: "without it" for a
funded experience, "forced in" for the first solve of one not funded, then per search step
"bound check" / "halving", each a forced-in re-solve or, on a tie, a whole-plan one).

Target: at most 30 s wall on 2 cores with the default settings (steps 2, 2 workers).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

TARGET_SECONDS = 30.0


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_library(workers: int, steps: int, rows: Path | None) -> tuple[int, Counter]:
    from planner.analysis.explain import explain
    from planner.analysis.variants import write_csv
    from planner.core.executor import close_all
    from planner.core.resources import EXAMPLE_SCENARIO
    from planner.inputs.scenario import load_scenario
    from planner.inputs.workbook import read_portfolio

    scenario = load_scenario(EXAMPLE_SCENARIO)
    portfolio = read_portfolio(scenario.workbook)

    def progress(done: int, total: int) -> None:
        print(f"\rexplain: {done}/{total} experiences", end="\n" if done >= total else "", file=sys.stderr, flush=True)

    result = explain(portfolio, scenario, steps=steps, workers=workers, progress=progress)
    close_all()  # the worker processes exit, so their CPU time is counted
    kinds: Counter = Counter()
    for item in result.items:
        for kind, count in item.solve_kinds:
            kinds[kind] += count
    if rows is not None:
        write_csv(rows, result.to_rows())
    return len(result.items), kinds


def run_cli(workers: int, steps: int, rows: Path | None) -> tuple[int, Counter]:
    from planner.core.resources import EXAMPLE_SCENARIO

    with tempfile.TemporaryDirectory() as output:
        command = [str(Path(sys.executable).with_name("planner")), "explain", str(EXAMPLE_SCENARIO), "--steps", str(steps),
                   "--workers", str(workers), "-o", output]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        written = Path(output) / "explanations.csv"
        with written.open(newline="", encoding="utf-8") as file:
            table = list(csv.DictReader(file))
        if rows is not None:
            rows.write_bytes(written.read_bytes())
    return len(table), Counter({"all kinds (the CLI's CSV gives totals only)": sum(int(r["solves"]) for r in table)})


def run_reasons(experiences: int) -> None:
    """Plan a generated portfolio (bench/generate.py, seed 1; gap 1%), then time the reasons alone."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from generate import random_portfolio

    from planner.analysis.explain import explain
    from planner.inputs.scenario import Scenario
    from planner.optimise.optimiser import plan_portfolio

    portfolio, scenario = random_portfolio(experiences, seed=1), Scenario(time_limit_seconds=120, gap=0.01)
    started = time.perf_counter()
    plan = plan_portfolio(portfolio, scenario)
    planned = time.perf_counter()
    result = explain(portfolio, scenario, search=False, plan=plan)
    done = time.perf_counter()
    print(f"{experiences} generated experiences ({sum(not e.funded for e in result.items)} not funded): plan {planned - started:.1f} s "
          f"({plan.solve.status}), the reasons (explain --no-search) {done - planned:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", action="store_true", help="run `planner explain` in a child process instead of the library call")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--rows", type=Path, help="write the explanations (CSV) here")
    parser.add_argument("--reasons", type=int, metavar="N", help="time the reasons alone on a generated portfolio of N experiences")
    args = parser.parse_args()
    if args.reasons:
        run_reasons(args.reasons)
        return
    load_before = os.getloadavg()
    started, cpu_started = time.monotonic(), cpu_seconds()
    experiences, kinds = (run_cli if args.cli else run_library)(args.workers, args.steps, args.rows)
    wall, cpu = time.monotonic() - started, cpu_seconds() - cpu_started
    load_after = os.getloadavg()
    how = "planner explain scenarios/base.yaml" if args.cli else "explain() (library)"
    print(f"{how}: {experiences} experiences, steps {args.steps}, {args.workers} workers, {os.cpu_count()} cores")
    print(f"wall {wall:.1f} s, CPU {cpu:.1f} s (this process and its children)")
    print("load average (1, 5, 15 min): before " + " ".join(f"{v:.2f}" for v in load_before)
          + ", after " + " ".join(f"{v:.2f}" for v in load_after))
    solves = sum(count for kind, count in kinds.items() if not kind.endswith("no re-solve"))
    print(f"re-solves: {solves} - " + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())))
    print(f"target {TARGET_SECONDS:.0f} s wall: {'pass' if wall <= TARGET_SECONDS else 'MISS'}")


if __name__ == "__main__":
    main()
