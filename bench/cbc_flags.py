"""Which CBC flags prove true optima: each flag set against HiGHS on seeded random portfolios.

Evidence for the CBC settings in planner.optimise.model (issue 9, symptom 1): small free-start
portfolios with large uplifts and one-sided exclusions, solved to gap 0 by CBC under each
flag set (minimising the negated objective, as the planner does to keep warm starts) and
by HiGHS; a CBC "Optimal" more than 1e-7 relative below HiGHS's optimum is a false claim.

    python bench/cbc_flags.py --count 300 --first-seed 100 --sizes 20 25 30 40 --only "off-off (old)" "preprocess off"

Measured 2026-12-02 (2 shared cores, load ~12): 285 solved portfolios (15 infeasible),
old flags (-preprocess off -feas off) one false optimum (n=20, seed 280: 9,750,371.39
proven "optimal", true 9,766,543.25), preprocessing off with the pump on none; CBC seconds
701 vs 752 in total.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from generate import random_portfolio  # noqa: E402

from planner.core.economics import columns  # noqa: E402
from planner.optimise.model import Rules, build_model  # noqa: E402
from planner.optimise.solve import cbc_command, solve_model, write_model  # noqa: E402
from planner.optimise.optimiser import columns_on_offer  # noqa: E402

FLAG_SETS = {
    "max, off-off": ["-max", "-preprocess", "off", "-feas", "off"],
    "off-off (old)": ["-preprocess", "off", "-feas", "off"],
    "preprocess off": ["-preprocess", "off"],
    "feas off": ["-feas", "off"],
    "default": [],
}


def hard_portfolio(n: int, seed: int):
    """A random free-start portfolio with uplifts scaled up and some exclusions made one-sided."""
    portfolio = random_portfolio(n, seed)
    rng = np.random.default_rng(seed + 10_000)
    scale = rng.uniform(3, 12)
    experiences = []
    for e in portfolio.experiences:
        e = replace(e, uplift_low=min(1.0, e.uplift_low * scale), uplift_base=min(1.0, e.uplift_base * scale),
                    uplift_high=min(1.0, e.uplift_high * scale))
        if e.excludes and rng.random() < 0.5:
            e = replace(e, excludes=())  # the other side keeps it: one-sided
        experiences.append(e)
    # Extra one-sided exclusions between optional frontstage experiences nothing requires.
    required = {r for e in experiences for r in e.requires}
    optional = [i for i, e in enumerate(experiences)
                if e.layer == "frontstage" and not e.mandatory and not e.requires and e.id not in required]
    extra = rng.choice(optional, size=(max(1, n // 20), 2), replace=False)
    for a, b in extra:
        if not experiences[a].excludes:
            experiences[a] = replace(experiences[a], excludes=(experiences[b].id,))
    return replace(portfolio, experiences=tuple(experiences))


def cbc_objective(written, flags: list[str], folder: str) -> tuple[str, float, float]:
    # "-max" solves the file as written; the others minimise the negated objective.
    negated = written.path if "-max" in flags else written.negated_path
    started = time.perf_counter()
    out = subprocess.run([cbc_command().path, negated, *flags, "-ratio", "0", "-sec", "30", "-solve", "-solution", os.path.join(folder, "s.sol")],
                         capture_output=True, text=True).stdout
    seconds = time.perf_counter() - started
    result = re.findall(r"^Result - (.*)$", out, re.MULTILINE)
    objective = re.findall(r"^Objective value:\s+(-?[0-9.eE+]+)", out, re.MULTILINE)
    # These portfolios' optima are positive: the magnitude is the NPV whichever the sense.
    return (result[-1] if result else "?"), (abs(float(objective[-1])) if objective else float("nan")), seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--sizes", type=int, nargs="+", default=[40, 80, 150])
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--only", nargs="+", choices=list(FLAG_SETS), help="flag sets to compare (default: all)")
    args = parser.parse_args()
    if args.only:
        for name in set(FLAG_SETS) - set(args.only):
            del FLAG_SETS[name]
    wrong = {name: [] for name in FLAG_SETS}
    seconds = {name: 0.0 for name in FLAG_SETS}
    for seed in range(args.first_seed, args.first_seed + args.count):
        n = args.sizes[seed % len(args.sizes)]
        portfolio = hard_portfolio(n, seed)
        rules = Rules()
        cols = columns(portfolio)
        model = build_model(portfolio, rules, cols, columns_on_offer(portfolio, rules, cols))
        with tempfile.TemporaryDirectory() as folder:
            written = write_model(model, folder, negate_objective=True)
            found = {}
            for name, flags in FLAG_SETS.items():
                found[name] = cbc_objective(written, flags, folder)
                seconds[name] += found[name][2]
            best = max((o for _, o, _ in found.values() if o == o), default=float("nan"))
            if best != best:
                print(f"n={n} seed={seed}: no plan (infeasible)", flush=True)
                continue
            if any(not r.startswith("Optimal") or o < best - 1e-7 * max(1, abs(best)) for r, o, _ in found.values()):
                # The variants disagree (or one stopped): HiGHS at gap 0 decides the optimum.
                reference = solve_model(model, "highs", 600, 0.0)
                best = max(best, reference.objective) if reference.status == "optimal" else best
            for name, (result, objective, took) in found.items():
                if result.startswith("Optimal") and objective < best - 1e-7 * max(1, abs(best)):
                    wrong[name].append((n, seed, objective, best))
                    print(f"WRONG {name}: n={n} seed={seed} cbc={objective:.4f} best={best:.4f}", flush=True)
            print(f"n={n} seed={seed} " + " ".join(f"{k}={r[:8]} {t:.1f}s" for k, (r, o, t) in found.items()), flush=True)
    for name in FLAG_SETS:
        print(f"{name:16} false optima {len(wrong[name]):3d} / {args.count}   CBC seconds {seconds[name]:8.1f}")


if __name__ == "__main__":
    main()
