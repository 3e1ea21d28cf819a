"""Fuzzed scenario files (issue 10): 300 seeded mutations of scenarios/*.yaml, and not one traceback.

Each mutated file must load into a Scenario that the bundled example portfolio accepts or
refuses with located problems, or fail with an InputError whose every problem names the
file and a line or a key path. The mutations and the check live in bench/fuzz_scenario.py,
which runs the longer fuzz (python bench/fuzz_scenario.py --cases 50000).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from planner.core.resources import bundled_folder
from planner.inputs.workbook import read_portfolio

BENCH = Path(__file__).resolve().parent.parent / "bench" / "fuzz_scenario.py"
CASES = 300
SEED = 20261202


def fuzz_module():
    spec = importlib.util.spec_from_file_location("fuzz_scenario", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fuzzing():
    return fuzz_module()


@pytest.fixture(scope="module")
def example():
    return read_portfolio(bundled_folder("scenarios") / "example-portfolio.xlsx")


def test_300_fuzzed_scenario_files_load_or_fail_with_located_problems(fuzzing, example, tmp_path):
    findings, outcomes = fuzzing.fuzz(CASES, SEED, tmp_path, example)
    report = "\n\n".join(f"case {f.case}:\n{f.text.decode('utf-8', 'replace')[:2000]}\n{f.error[-2000:]}" for f in findings)
    assert not findings, report
    # Not a fuzz that only ever fails at the first line: both outcomes happen.
    assert outcomes["loaded"] >= 20 and outcomes["refused"] >= 100, outcomes


def test_the_check_catches_a_traceback_and_an_unlocated_problem(fuzzing, example, tmp_path, monkeypatch):
    # The fuzz would be blind if its check passed everything: break the loader and see it reported.
    from planner.core.errors import InputError, Problem

    (tmp_path / "s.yaml").write_text("name: x\n", encoding="utf-8")
    monkeypatch.setattr("planner.inputs.scenario.load_scenario", lambda path: 1 / 0)
    assert "ZeroDivisionError" in fuzzing.check(tmp_path / "s.yaml", example)

    def unlocated(path):
        raise InputError(Problem("", "something is wrong"))

    monkeypatch.setattr("planner.inputs.scenario.load_scenario", unlocated)
    assert "without a file and a line or key" in fuzzing.check(tmp_path / "s.yaml", example)
