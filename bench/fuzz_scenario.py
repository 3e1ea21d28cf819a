"""Fuzz the scenario loader: mutated copies of scenarios/*.yaml must load or fail with located problems, never a traceback.

Each case starts from a bundled scenario and applies a few seeded mutations: keys
misspelt, recased or swapped for other known keys; values swapped for awkward ones (YAML
1.1 booleans and octals, tags, aliases, anchors, decimal commas, huge, empty, non-finite,
nested); lines deleted, duplicated, re-indented or swapped; unicode, control characters,
a byte-order mark and invalid UTF-8. The outcome must be a Scenario that the bundled
example portfolio accepts or refuses with located problems, or an InputError whose every
problem names the file and a line or a key path. Anything else is a finding: the case's
text is printed (and written with --keep) so it can become a test.

tests/test_fuzz_scenario.py runs 300 cases with a fixed seed in the test suite; this
script runs as many as you like:

    python bench/fuzz_scenario.py                      # 5,000 cases, seed 1
    python bench/fuzz_scenario.py --cases 50000 --seed 7 --keep /tmp/fuzz-findings
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
SCENARIOS = REPOSITORY / "scenarios"

KEYS = (
    "name", "description", "workbook", "extends", "budget", "capacity", "adjust", "forced_in", "forced_out", "stop",
    "horizon_quarters", "discount_rate", "uplift_estimate", "objective", "balance", "roi_hurdle", "solver",
    "time_limit_seconds", "gap", "start_quarters", "per_quarter", "total", "change", "where", "min_share", "max_share",
)
AWKWARD_VALUES = (
    "NO", "yes", "off", "010", "0o17", "0x1F", "1:30", "1_000", "1e-3", "1e999", ".inf", "-.inf", ".nan", "~", "null", "",
    "!!int free", "!!bool npv", "!!map npv", "!!str 5", "!!binary aGVsbG8=", "!!python/object:os.system x", "!local x",
    "*a", "&a x", "&a [1, 2]", "[*a, *a]", "<<: *a", "6,5%", "-2,5%", "8,000,000", "{total: 8,000,000}", "+250000",
    "-250000", "-150%", "+10%", "50%", "150%", "-0", "0", "1", "-1", "12k", "€1,000", "$5", "2027Q3", "FY28 Q2",
    "2027-01-01", "[]", "{}", "[1, [2, [3, [4]]]]", "{a: {b: {c: d}}}", "'quoted'", '"double \\u00e9"', "'unterminated",
    '"unterminated', "[", "{", "]", "}", "|", ">", "- a", "? a", ": b", "#", "%YAML 1.1", "---", "...", "true", "False",
    "CX-101, CX-102", "[CX-101, CX-999]", "Dígital", "all teams", "Ω" * 50, "x" * 5000, "\t", "a\tb", "é", "🙂",
    "\u202e", "\u00a0", "[" * 60 + "]" * 60, "{2027Q1: 40, 2027Q9: 10}", "[100, 200, -5]", "{channel: app}",
    "{journey_stage: get help, min_share: 15%}", "- {where: {channel: app}, uplift: 0.5}", "example-portfolio.xlsx",
    "base.yaml", "nowhere.yaml", "q2-roll.yaml", "/etc/passwd", "../scenarios/base.yaml", ".",
)
SNIPPETS = (
    "budget:\n  per_quarter: -10%\n  total: 8000000\n",
    "budget:\n  per_quarter: {2027Q3: 900000}\n",
    "budget: -10%\n",
    "capacity:\n  Digital: -20%\n  all teams: +10%\n",
    "capacity:\n  Digital: [40, 40, 30]\n",
    "adjust:\n  - where: {channel: app}\n    uplift: 0.5\n",
    "adjust:\n  - where:\n      journey_stage: [buy, get help]\n    cost: +20%\n",
    "balance:\n  - {journey_stage: get help, min_share: 15%}\n",
    "forced_in: [CX-101]\nforced_out: [CX-205]\n",
    "stop: [CX-B03]\n",
    "horizon_quarters: 8\ndiscount_rate: 6%\nroi_hurdle: 50%\n",
    "uplift_estimate: low\nobjective: reach\nsolver: highs\n",
    "a: &a [x, x, x]\nb: [*a, *a, *a]\n",
    "base: &base {gap: 0.1}\n<<: *base\n",
)


@dataclass
class Finding:
    """A case whose outcome was not a Scenario or a located InputError."""

    case: int
    text: bytes
    error: str


def mutate(text: str, rng: random.Random) -> bytes:
    """A bundled scenario with one to four seeded mutations."""
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 4)):
        lines = rng.choice(_LINE_MUTATIONS)(lines, rng)
    data = "".join(lines).encode("utf-8", "surrogatepass")
    roll = rng.random()
    if roll < 0.03:
        return b"\xef\xbb\xbf" + data  # a byte-order mark, as Notepad writes
    if roll < 0.06:
        cut = rng.randrange(len(data) + 1)
        return data[:cut] + bytes([rng.choice([0x80, 0xff, 0xc3, 0x00, 0x07, 0x1b])]) + data[cut:]
    return data


def _pick(lines: list[str], rng: random.Random) -> int:
    return rng.randrange(len(lines)) if lines else 0


def _new_value(lines: list[str], rng: random.Random, value) -> list[str]:
    """A random `key: value` line with its value replaced by value(old value)."""
    n = _pick(lines, rng)
    if lines and ":" in lines[n]:
        key, _, rest = lines[n].partition(":")
        lines[n] = f"{key}: {value(rest.strip())}\n"
    return lines


def _swap_value(lines: list[str], rng: random.Random) -> list[str]:
    return _new_value(lines, rng, lambda old: rng.choice(AWKWARD_VALUES))


def _swap_key(lines: list[str], rng: random.Random) -> list[str]:
    n = _pick(lines, rng)
    if lines and ":" in lines[n]:
        key, _, rest = lines[n].partition(":")
        indent = key[: len(key) - len(key.lstrip())]
        name = key.strip()
        choices = [rng.choice(KEYS), name.upper(), name[:-1] or "x", name + name[-1:], name.replace("_", " "),
                   name.replace("a", "а"), f"'{name}'", f"!!str {name}", "? " + name, "1", "true", "~"]
        lines[n] = f"{indent}{rng.choice(choices)}:{rest}"
    return lines


def _add_line(lines: list[str], rng: random.Random) -> list[str]:
    line = f"{rng.choice(KEYS)}: {rng.choice(AWKWARD_VALUES)}\n"
    lines.insert(_pick(lines, rng), line)
    return lines


def _add_snippet(lines: list[str], rng: random.Random) -> list[str]:
    lines.extend(rng.choice(SNIPPETS).splitlines(keepends=True))
    return lines


def _duplicate_line(lines: list[str], rng: random.Random) -> list[str]:
    if lines:
        n = _pick(lines, rng)
        lines.insert(n, lines[n])
    return lines


def _delete_line(lines: list[str], rng: random.Random) -> list[str]:
    if lines:
        del lines[_pick(lines, rng)]
    return lines


def _swap_lines(lines: list[str], rng: random.Random) -> list[str]:
    if len(lines) > 1:
        a, b = rng.sample(range(len(lines)), 2)
        lines[a], lines[b] = lines[b], lines[a]
    return lines


def _indent(lines: list[str], rng: random.Random) -> list[str]:
    if lines:
        n = _pick(lines, rng)
        lines[n] = rng.choice(["  ", " ", "\t", "    "]) + lines[n] if rng.random() < 0.6 else lines[n].lstrip()
    return lines


def _insert_character(lines: list[str], rng: random.Random) -> list[str]:
    if lines:
        n = _pick(lines, rng)
        at = rng.randrange(len(lines[n]) + 1)
        lines[n] = lines[n][:at] + rng.choice(["&", "*", "!", "%", "@", "`", "|", ">", "'", '"', "#", "{", "[", ",", ":",
                                                "\u00e9", "\u200b", "\ufeff", "\x85", "\u2028", "\x1b", "\r"]) + lines[n][at:]
    return lines


def _tag_or_alias(lines: list[str], rng: random.Random) -> list[str]:
    return _new_value(lines, rng, lambda old: f"{rng.choice(['!!int', '!!str', '!!float', '!!seq', '!!map', '!x', '&a', '*a'])} {old}")


_LINE_MUTATIONS = (_swap_value, _swap_value, _swap_key, _add_line, _add_snippet, _duplicate_line, _delete_line, _swap_lines,
                   _indent, _insert_character, _tag_or_alias)


def prepare_folder(folder: Path) -> list[Path]:
    """The bundled scenarios copied into `folder`, with stand-ins for their workbooks; returns the scenarios."""
    for path in SCENARIOS.iterdir():
        if path.suffix in (".yaml", ".xlsx"):
            shutil.copy(path, folder / path.name)
    return sorted(folder.glob("*.yaml"))


_LOCATED = re.compile(r", (line \d+|key \S)")


def check(path: Path, portfolio) -> str | None:
    """None when loading `path` (and applying it to `portfolio`) ends well; otherwise what went wrong."""
    from planner.core.errors import InputError
    from planner.inputs.scenario import apply_scenario, load_scenario

    names = {p.name for p in path.parent.iterdir()}
    try:
        scenario = load_scenario(path)
        apply_scenario(portfolio, scenario)
    except InputError as error:
        unlocated = [str(p) for p in error.problems
                     if p.where.split(",")[0] not in names or not _LOCATED.search(p.where)]
        return f"problems without a file and a line or key: {unlocated}" if unlocated else None
    except Exception:  # noqa: BLE001 - anything else is the finding
        return traceback.format_exc()
    return None


def fuzz(cases: int, seed: int, folder: Path, portfolio) -> tuple[list[Finding], dict[str, int]]:
    """Run `cases` mutated scenarios in `folder`; the findings and how many cases loaded or were refused."""
    rng = random.Random(seed)
    originals = prepare_folder(folder)
    sources = {path: path.read_text(encoding="utf-8") for path in originals}
    findings, outcomes = [], {"loaded": 0, "refused": 0}
    for case in range(cases):
        source = rng.choice(originals)
        text = mutate(sources[source], rng)
        path = folder / f"fuzz-{case}.yaml"
        path.write_bytes(text)
        problem = check(path, portfolio)
        if problem is not None:
            findings.append(Finding(case, text, problem))
        else:
            outcomes["refused" if _refused(path, portfolio) else "loaded"] += 1
        path.unlink()
    return findings, outcomes


def _refused(path: Path, portfolio) -> bool:
    from planner.core.errors import InputError
    from planner.inputs.scenario import apply_scenario, load_scenario

    try:
        apply_scenario(portfolio, load_scenario(path))
    except InputError:
        return True
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="Write each finding's file into this folder.")
    options = parser.parse_args()
    sys.path.insert(0, str(REPOSITORY))
    from planner.inputs.workbook import read_portfolio

    portfolio = read_portfolio(SCENARIOS / "example-portfolio.xlsx")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-scenario-") as folder:
        findings, outcomes = fuzz(options.cases, options.seed, Path(folder), portfolio)
    seconds = time.monotonic() - started
    print(f"{options.cases} cases (seed {options.seed}) in {seconds:.1f} s: {outcomes['loaded']} loaded, "
          f"{outcomes['refused']} refused with located problems, {len(findings)} findings")
    for finding in findings:
        text = finding.text.decode("utf-8", "replace")
        shown = text if len(text) < 3000 else text[:3000] + f"\n[... {len(text) - 3000} more characters; --keep writes it whole]"
        print(f"\n--- case {finding.case}:\n{shown}\n{finding.error[-3000:]}")
        if options.keep:
            options.keep.mkdir(parents=True, exist_ok=True)
            (options.keep / f"finding-{finding.case}.yaml").write_bytes(finding.text)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
