"""Fuzzing the workbook reader in CI: 300 seeded mutations of the bundled example, none may crash.

The mutations (cells, types, headers, sheet names, row and cell references, zip bytes) are
bench/fuzz_workbook.py's, which runs longer sweeps. Every outcome must be a clean portfolio
or problems located in the file; an exception of any kind fails with the seed to replay:
`python bench/fuzz_workbook.py --replay SEED -o case.xlsx`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from planner.core.errors import InputError
from planner.inputs.workbook import read_portfolio

_BENCH = Path(__file__).resolve().parent.parent / "bench" / "fuzz_workbook.py"
FIRST_SEED, COUNT = 20_261_202, 300


def _fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_workbook", _BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fuzz = _fuzz()


def test_mutated_workbooks_give_a_portfolio_or_located_problems_never_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "fuzzed.xlsx"
    outcomes: dict[str, int] = {"clean": 0, "problems": 0}
    for seed, data in fuzz.cases(FIRST_SEED, COUNT):
        path.write_bytes(data)
        try:
            outcomes[fuzz.outcome(path)] += 1
        except BaseException as error:  # a Rust panic is a BaseException: it must fail the test, with its seed
            pytest.fail(f"seed {seed}: {type(error).__name__}: {error}")
    # Both outcomes occur: the mutations neither all break the file nor all leave it harmless.
    assert outcomes["clean"] >= 10 and outcomes["problems"] >= 100, outcomes


def test_read_portfolio_raises_input_error_for_a_mutation_with_problems(tmp_path: Path) -> None:
    path = tmp_path / "fuzzed.xlsx"
    for seed, data in fuzz.cases(FIRST_SEED, 50):
        path.write_bytes(data)
        if fuzz.outcome(path) == "problems":
            with pytest.raises(InputError) as raised:
                read_portfolio(path)
            assert raised.value.problems and all(p.where.startswith("fuzzed.xlsx") for p in raised.value.problems)
            return
    pytest.fail("none of 50 mutations had a problem")


def test_the_same_seed_makes_the_same_workbook() -> None:
    assert fuzz.mutated(7) == fuzz.mutated(7) and fuzz.mutated(7) != fuzz.mutated(8)


def test_seed_101326_a_zip_of_an_unknown_version_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    # Found by `bench/fuzz_workbook.py --count 2000 --seed 100000`: zipfile raised NotImplementedError
    # ("zip file version 15.3") out of the file check.
    path = tmp_path / "fuzzed.xlsx"
    path.write_bytes(fuzz.mutated(101_326))
    assert fuzz.outcome(path) == "problems"


def test_seed_201397_a_header_over_32767_characters_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    # Found by `bench/fuzz_workbook.py --count 3000 --seed 200000`: the too-long-text check raised out of
    # the header row (where no cell error is caught); it now belongs to reading a cell's value.
    path = tmp_path / "fuzzed.xlsx"
    path.write_bytes(fuzz.mutated(201_397))
    assert fuzz.outcome(path) in ("clean", "problems")
