"""Differential benchmark: CBC against HiGHS on seeded random portfolios, with SCIP as the third opinion.

Each portfolio (40-400 experiences by default; the knobs of tests/reference.py's
`random_spec`: free and fixed starts, dependency chains, one- and two-sided exclusions,
mandatory, forced-in and forced-out items, balance rules, an ROI hurdle, small and large
uplifts, tight and loose budgets; with --overlap, one to three overlap groups of 2-4
members each) is planned by the planner with CBC and with HiGHS, gap
target 0 and a time limit per solve. Every plan is re-scored from its decisions by the
independent reference (broken rules, a reported objective that is not the plan's, a plan
below the greedy baseline). Where the two disagree (objectives apart beyond 1e-6, one
"infeasible", an error), or either did not prove optimality, SCIP solves the reference's
own model and is the judge: false claims of optimality, reported gaps smaller than the
true gap, false "infeasible". Every disagreement is saved under the out folder as a
workbook with a scenario YAML next to it (`planner plan <case>/scenario.yaml` replays it)
and the case's spec and findings in case.json.

    python bench/differential.py --count 1000 --seed 0 --workers 2 --out bench/out/differential

Results go to <out>/results.jsonl one line per portfolio as it finishes: a run stopped
part way resumes where it left off with the same command. The summary is a markdown table
for docs/benchmarks.md, with the command that produced it.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import multiprocessing
import os
import platform
import resource
import shlex
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from reference import (CaseSpec, Finding, Optimum, build_case, honesty_findings, infeasible_findings, make_problem,  # noqa: E402
                       plan_decisions, random_spec, score_plan, scip_optimum)

SOLVERS = ("cbc", "highs")
AGREE = 1e-6  # relative difference of two objectives still called the same
# Finding kinds, in the order the table lists them.
KINDS = ("false optimal", "wrong gap", "false infeasible", "wrong objective", "broken rules", "worse than greedy", "beats reference",
         "error", "crash")


def case_spec(seed: int, index: int, smallest: int, largest: int, time_limit: float, overlap: bool = False) -> CaseSpec:
    """Portfolio `index` of the run: the same on every machine for the same seed, sizes and --overlap."""
    rng = np.random.default_rng([seed, index])
    return replace(random_spec(rng, smallest, largest, overlap=overlap), gap=0.0, time_limit=time_limit)


def solve(spec: CaseSpec, solver: str) -> tuple[dict, object]:
    """Plan the case with one solver: (a summary of the answer, the Plan or the error)."""
    from planner.core.errors import InfeasibleError, SolverError
    from planner.optimise.optimiser import plan_portfolio

    portfolio, scenario = build_case(spec)
    started = time.perf_counter()
    try:
        plan = plan_portfolio(portfolio, replace(scenario, solver=solver))
    except InfeasibleError as error:
        return {"status": "infeasible", "seconds": time.perf_counter() - started, "message": str(error)[:500]}, error
    except SolverError as error:
        return {"status": "error", "seconds": time.perf_counter() - started, "message": str(error)[:500]}, error
    except Exception as error:  # a crash is a result here: counted and saved, never the end of the run
        return {"status": "crash", "seconds": time.perf_counter() - started,
                "message": "".join(traceback.format_exception(error))[-1500:]}, error
    info = plan.solve
    return {"status": info.status, "seconds": time.perf_counter() - started, "objective": info.objective, "gap": info.gap,
            "bound": info.best_bound, "message": info.message[:300]}, plan


def why_judge(answers: dict[str, dict], index: int, audit_every: int) -> str:
    """Why SCIP judges this portfolio ("" when the two solvers' agreement is taken as the truth).

    CBC and HiGHS solve the same model, so a fault in the model (a rule written wrong, a
    choice wrongly left out) makes them agree on a wrong answer: every "infeasible" and
    every `audit_every`-th portfolio go to SCIP as well.
    """
    statuses = {a["status"] for a in answers.values()}
    if statuses == {"infeasible"}:
        return "both infeasible"
    if statuses != {"optimal"}:
        return "disagree" if len(statuses) > 1 else f"both {statuses.pop()}"
    a, b = (answers[s]["objective"] for s in SOLVERS)
    if abs(a - b) > AGREE * max(1.0, abs(a), abs(b)):
        return "disagree"
    return "audit" if audit_every and index % audit_every == 0 else ""


def findings_of(problem, solver: str, answer: dict, result, optimum: Optimum, plan_exists: bool) -> list[Finding]:
    """The honesty findings of one solver's answer against the optimum (status "unknown": self-checks only)."""
    status = answer["status"]
    if status == "infeasible":
        found = infeasible_findings(optimum, answer["message"])
        if not found and plan_exists and optimum.status != "infeasible":
            found = [Finding("false infeasible", "the planner says no plan exists; the other solver's plan breaks no rule")]
        return found
    if status == "error":
        # An error hides nothing when no plan exists; it is a finding once a valid plan is known (SCIP's, or the other solver's).
        return [Finding("error", answer["message"].splitlines()[0])] if plan_exists else []
    if status == "crash":
        return [Finding("crash", answer["message"].strip().splitlines()[-1])]
    return honesty_findings(problem, result, optimum)


def run_case(seed: int, index: int, smallest: int, largest: int, time_limit: float, judge_limit: float, audit_every: int,
             out: str, overlap: bool = False) -> dict:
    """Everything about portfolio `index`: both solvers' answers, the judge if needed, findings, where it was saved."""
    cpu_before = _cpu_seconds()
    spec = case_spec(seed, index, smallest, largest, time_limit, overlap)
    portfolio, scenario = build_case(spec)
    problem = make_problem(portfolio, scenario)
    answers, results = {}, {}
    for solver in SOLVERS:
        answers[solver], results[solver] = solve(spec, solver)
    judged = why_judge(answers, index, audit_every)
    if judged:
        optimum = scip_optimum(problem, time_limit=judge_limit)
    else:
        # Both proved the same optimum: that is the truth this case is judged by.
        optimum = Optimum("optimal", max(a["objective"] for a in answers.values()), None, method="CBC and HiGHS")
    valid_plans = {solver for solver in SOLVERS if answers[solver]["status"] in ("optimal", "feasible", "heuristic")
                   and not score_plan(problem, plan_decisions(results[solver])).violations}
    findings = {solver: findings_of(problem, solver, answers[solver], results[solver], optimum,
                                    optimum.objective is not None or bool(valid_plans - {solver})) for solver in SOLVERS}
    record = {
        "index": index, "spec": _spec_data(spec), "described": spec.describe(), "answers": answers, "judged": judged,
        "reference": {"method": optimum.method, "status": optimum.status, "objective": optimum.objective, "bound": optimum.bound,
                      "seconds": optimum.seconds, "note": optimum.note},
        "findings": {solver: [asdict(f) for f in found] for solver, found in findings.items()},
        # case.json copied to tests/data/differential/<name>.json becomes a test case for these solvers.
        "solvers": [solver for solver in SOLVERS if findings[solver]],
        "saved": None,
        # This process and the solver processes it waited for: the load a case puts on the machine, whatever else runs.
        "cpu_seconds": _cpu_seconds() - cpu_before,
    }
    if judged == "disagree" or any(findings.values()):
        record["saved"] = save_case(Path(out) / f"case-{index:04d}", portfolio, scenario, record)
    return record


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _spec_data(spec: CaseSpec) -> dict:
    data = asdict(spec)
    data.pop("extra", None)
    return data


def save_case(folder: Path, portfolio, scenario, record: dict) -> str:
    """The case as a user would hand it in: portfolio.xlsx, scenario.yaml beside it, and case.json."""
    from planner.inputs.workbook_writer import write_portfolio

    folder.mkdir(parents=True, exist_ok=True)
    write_portfolio(portfolio, folder / "portfolio.xlsx")
    (folder / "scenario.yaml").write_text(scenario_yaml(scenario, record["described"]))
    (folder / "case.json").write_text(json.dumps(record, indent=1, default=str) + "\n")
    return str(folder)


def scenario_yaml(scenario, described: str) -> str:
    """The scenario's rules as the YAML a user would write (the workbook holds budget, capacity and settings)."""
    data: dict = {"name": scenario.name, "description": described, "workbook": "portfolio.xlsx"}
    if scenario.forced_in:
        data["forced_in"] = list(scenario.forced_in)
    if scenario.forced_out:
        data["forced_out"] = list(scenario.forced_out)
    if scenario.balance:
        data["balance"] = [{rule.dimension: rule.value, **({"min_share": rule.min_share} if rule.min_share is not None else {}),
                            **({"max_share": rule.max_share} if rule.max_share is not None else {})} for rule in scenario.balance]
    if scenario.roi_hurdle is not None:
        data["roi_hurdle"] = scenario.roi_hurdle
    data.update({"objective": scenario.objective, "gap": scenario.gap, "time_limit_seconds": scenario.time_limit_seconds,
                 "start_quarters": scenario.start_quarters})
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# ---------------------------------------------------------------------------------------
# The run: resumable, progress on stdout, a markdown summary


def load_done(results: Path, config: dict) -> dict[int, dict]:
    """Records of a previous run with the same configuration (the run resumes after them)."""
    config_path = results.parent / "config.json"
    if config_path.exists() and json.loads(config_path.read_text()) != config:
        raise SystemExit(f"{results.parent} holds a run with other settings ({config_path}); choose another --out or remove it")
    results.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(json.dumps(config, indent=1) + "\n")
    done = {}
    if results.exists():
        for line in results.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                done[record["index"]] = record
    return done


def progress_line(record: dict, finished: int, count: int) -> str:
    answers = record["answers"]
    parts = [f"{s} {answers[s]['status']} {answers[s].get('objective', math.nan):,.0f} ({answers[s]['seconds']:.1f} s)" for s in SOLVERS]
    found = [f"{s}: {f['kind']}" for s, fs in record["findings"].items() for f in fs]
    verdict = ("; ".join(found) if found else "no finding" if record["judged"] else "agree") + (f" [{record['judged']}: SCIP {record['reference']['status']} "
                                                         f"{record['reference']['objective']}]" if record["judged"] else "")
    return f"[{finished}/{count}] #{record['index']} n={record['spec']['experiences']} {record['spec']['start_quarters']}: {', '.join(parts)} -> {verdict}"


def summary(records: list[dict], command: str, seconds: float | None) -> str:
    """A markdown table of the counts, per solver, and the command."""
    counts = {s: collections.Counter() for s in SOLVERS}
    for record in records:
        for solver in SOLVERS:
            status = record["answers"][solver]["status"]
            counts[solver]["said " + ("timeout" if status in ("feasible", "heuristic") else status)] += 1
            for kind in {f["kind"] for f in record["findings"][solver]}:
                counts[solver][kind] += 1
    reasons = collections.Counter(r["judged"] for r in records if r["judged"])
    judged = [r for r in records if r["judged"]]
    undecided = sum(1 for r in judged if r["reference"]["status"] not in ("optimal", "infeasible"))
    lines = [
        f"{len(records)} portfolios. CBC and HiGHS proved the same optimum on {sum(1 for r in records if r['judged'] in ('', 'audit'))}; "
        f"SCIP judged {len(judged)} ({', '.join(f'{n} {why}' for why, n in sorted(reasons.items()))}), "
        f"{undecided} of them undecided at SCIP's time limit (its best plan is then a lower bound on the optimum).",
        "",
        "| | " + " | ".join(s.upper() for s in SOLVERS) + " |",
        "|---|" + "---:|" * len(SOLVERS),
    ]
    rows = [("said: proven optimal", "said optimal"), ("said: infeasible", "said infeasible"),
            ("said: time-out (feasible or heuristic plan)", "said timeout"), ("said: error, no plan", "said error"),
            ("said: crash", "said crash")]
    rows += [(f"finding: {kind}" + (" (no plan where one exists)" if kind == "error" else ""), kind) for kind in KINDS if kind != "crash"]
    for label, key in rows:
        lines.append(f"| {label} | " + " | ".join(str(counts[s][key]) for s in SOLVERS) + " |")
    times = {s: [r["answers"][s]["seconds"] for r in records] for s in SOLVERS}
    lines.append("| median / max seconds | " + " | ".join(
        f"{np.median(times[s]):.2f} / {max(times[s]):.1f}" if times[s] else "-" for s in SOLVERS) + " |")
    cpu = sum(r.get("cpu_seconds", 0.0) for r in records)
    wall = (f"{seconds / 60:.1f} min wall on {os.cpu_count()} cores, load average {os.getloadavg()[1]:.1f} over the last 5 min; "
            if seconds else "")
    lines += ["", f"Command: `{command}` ({wall}{cpu / 60:.1f} CPU min in all, {cpu / max(1, len(records)):.1f} CPU s per portfolio; "
                  f"Python {platform.python_version()})"]
    saved = [r["saved"] for r in judged if r["saved"]]
    if saved:
        lines += ["", "Disagreements saved (workbook, scenario.yaml, case.json):"]
        for record in (r for r in judged if r["saved"]):
            kinds = sorted({f"{s}: {f['kind']}" for s, fs in record["findings"].items() for f in fs})
            lines.append(f"- `{record['saved']}` ({record['judged']}): {record['described']}; " + ("; ".join(kinds) if kinds else "no finding"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="CBC vs HiGHS vs SCIP on seeded random portfolios.")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--min", type=int, default=40, dest="smallest")
    parser.add_argument("--max", type=int, default=400, dest="largest")
    parser.add_argument("--time-limit", type=float, default=5.0, help="seconds per planner solve (default 5)")
    parser.add_argument("--judge-limit", type=float, default=30.0, help="seconds for SCIP where the solvers disagree (default 30)")
    parser.add_argument("--audit-every", type=int, default=10,
                        help="SCIP also judges every N-th portfolio the solvers agree on (0: never; default 10)")
    parser.add_argument("--overlap", action="store_true",
                        help="every portfolio gets one to three overlap groups of 2-4 members (the other knobs drawn as without)")
    parser.add_argument("--out", type=Path, default=Path("bench/out/differential"))
    parser.add_argument("--report", action="store_true",
                        help="only write the summary of the portfolios done so far (a run cut short, or still running)")
    args = parser.parse_args(argv)
    command = "python bench/differential.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    config = {"seed": args.seed, "min": args.smallest, "max": args.largest, "time_limit": args.time_limit, "judge_limit": args.judge_limit,
              "audit_every": args.audit_every, **({"overlap": True} if args.overlap else {})}
    results = args.out / "results.jsonl"
    done = load_done(results, config)
    todo = [i for i in range(args.count) if i not in done]
    if args.report:
        records = [done[i] for i in range(args.count) if i in done]
        text = (f"{len(records)} of the {args.count} portfolios done; the same command without --report resumes.\n\n" if todo else "")
        text += summary(records, command.replace(" --report", ""), None)
        (args.out / "summary.md").write_text(text + "\n")
        print(text)
        return
    print(f"{len(done)} of {args.count} portfolios done before; {len(todo)} to go, {args.workers} workers", flush=True)
    started = time.perf_counter()
    # spawn: a forked worker would inherit whatever solver threads the parent has.
    pool = ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        with results.open("a") as sink:
            index_of = {pool.submit(run_case, args.seed, i, args.smallest, args.largest, args.time_limit, args.judge_limit,
                                    args.audit_every, str(args.out), args.overlap): i for i in todo}
            pending = set(index_of)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    try:
                        record = future.result()
                    except Exception as error:  # the harness itself (generator, reference) failed: stop, say where
                        raise SystemExit(f"portfolio {index_of[future]} broke the harness: {error!r}") from error
                    done[record["index"]] = record
                    sink.write(json.dumps(record, default=str) + "\n")
                    sink.flush()
                    print(progress_line(record, len(done), args.count), flush=True)
    except KeyboardInterrupt:
        # Finished portfolios are in results.jsonl; the same command resumes after them.
        pool.shutdown(wait=False, cancel_futures=True)
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        raise SystemExit(f"interrupted after {len(done)} of {args.count}; run the same command to resume")
    pool.shutdown()
    records = [done[i] for i in range(args.count) if i in done]
    text = summary(records, command, time.perf_counter() - started if not len(todo) < len(records) else None)
    (args.out / "summary.md").write_text(text + "\n")
    print()
    print(text)


if __name__ == "__main__":
    main()
