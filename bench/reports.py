"""Time the reports of the 10,000-experience benchmark plan: report.html, report.xlsx, plan.csv.

    python bench/reports.py --size 10000 --repeat 3 --write docs/benchmarks.md

Plans `random_portfolio(size, seed)` from bench/generate.py once (fixed start quarters,
CBC, 0.1% gap), then writes each report `--repeat` times as `write_reports` does: the
renderer-neutral report model, the file rendered in memory, written atomically. Each
format is timed on its own (wall and CPU seconds, median of the repeats), with the peak of
Python memory allocated while writing it (one more write, traced by tracemalloc) and the
file's size. Prints the
"Reports" section of docs/benchmarks.md; `--write` replaces that section only.

Target: each of report.html and report.xlsx written in under 2 s.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import random_portfolio  # noqa: E402
from run import load_note, replace_section, section_opening  # noqa: E402

from planner.optimise.optimiser import plan_portfolio  # noqa: E402
from planner.publish import write_reports  # noqa: E402
from planner.inputs.scenario import Scenario  # noqa: E402

TARGET_SECONDS = 2.0
TARGETS = ("html", "xlsx")


@dataclass(frozen=True)
class Timing:
    format: str
    wall: float
    cpu: float
    peak_mb: float
    size_mb: float


def time_format(plan, format: str, repeat: int, folder: Path) -> Timing:
    """Median wall and CPU seconds of `repeat` plain writes; then one write under tracemalloc for the peak."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        (path,) = write_reports(plan, folder, [format])
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    tracemalloc.start()
    write_reports(plan, folder, [format])
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return Timing(format, statistics.median(walls), statistics.median(cpus), peak, path.stat().st_size / 2**20)


def section(timings: list[Timing], plan, args: argparse.Namespace, command: str, load_before: float) -> str:
    lines = section_opening("Reports", command) + [
        f"The reports of the plan of `random_portfolio({args.size}, {args.seed})` (fixed start quarters, CBC; "
        f"{len(plan.funded):,} of {len(plan.decisions):,} experiences funded), each written {args.repeat} times as "
        "`write_reports` writes it (report model, rendering in memory, atomic write). Seconds are the median of the "
        "repeats; *peak MB* is the most Python memory allocated while writing, from one more write traced by "
        "tracemalloc. "
        f"Target: report.html and report.xlsx each under {TARGET_SECONDS:g} s.",
        "",
        "| file | wall s | CPU s | peak MB | file MB | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    names = {"html": "report.html", "xlsx": "report.xlsx", "csv": "plan.csv"}
    for t in timings:
        verdict = ("pass" if t.wall < TARGET_SECONDS else "**FAIL**") if t.format in TARGETS else "-"
        lines.append(f"| {names[t.format]} | {t.wall:.2f} | {t.cpu:.2f} | {t.peak_mb:.0f} | {t.size_mb:.1f} | {verdict} |")
    lines += load_note(load_before)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", type=Path, help="replace the Reports section of this report (docs/benchmarks.md)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    portfolio = random_portfolio(args.size, args.seed)
    portfolio = replace(portfolio, settings=replace(portfolio.settings, start_quarters="fixed", solver="cbc"))
    plan = plan_portfolio(portfolio, Scenario(name=f"bench {args.size}", gap=0.001, time_limit_seconds=120))
    print(f"planned: {plan.solve.status}, {len(plan.funded)} funded", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as folder:
        timings = [time_format(plan, format, args.repeat, Path(folder)) for format in ("html", "xlsx", "csv")]
    command = shlex.join(["python", "bench/reports.py", *(argv if argv is not None else sys.argv[1:])])
    text = section(timings, plan, args, command, load_before)
    print(text)
    if args.write:
        args.write.write_text(replace_section(args.write.read_text(), "Reports", text))
        print(f"wrote the Reports section of {args.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
