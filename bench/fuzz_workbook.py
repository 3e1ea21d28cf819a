"""Fuzz the workbook reader: mutated copies of the bundled example, each read as `planner validate` reads it.

Every outcome must be a clean portfolio or located problems (InputError's list); a Python
exception, a Rust panic or a killed process is a crash. The mutations are made at the zip
and XML level (fast, and able to make what no spreadsheet program writes): cell values and
types, headers and other texts, sheet names, row and cell references, and the zip's bytes.

tests/test_fuzz_workbook.py runs a bounded, seeded slice in CI; this script runs as many as
asked, each in the same process, and prints the seed of any crash to replay it:

    python bench/fuzz_workbook.py --count 5000 --seed 1
    python bench/fuzz_workbook.py --replay 1234 -o /tmp/case.xlsx   # write one case to look at
"""

from __future__ import annotations

import argparse
import io
import random
import re
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from planner.core.errors import Problem
from planner.inputs.workbook import read_workbook

EXAMPLE = Path(__file__).resolve().parent.parent / "scenarios" / "example-portfolio.xlsx"

Members = dict[str, bytes]

_CELL = re.compile(rb"<c\b[^>]*?(?:/>|>.*?</c>)", re.S)
_TEXT = re.compile(rb"<t\b[^>]*>([^<]*)</t>")
_SHEET_NAME = re.compile(rb'<sheet name="([^"]*)"')
_ROW_NUMBER = re.compile(rb'<row r="(\d+)"')
_REFERENCE = re.compile(rb'\br="([A-Z]+)(\d+)"')

# Values finance (or an attacker) types: junk numbers, other currencies, error codes, control
# characters, huge and tiny numbers, dates, formulas.
_TEXTS = ["12k", "$1,000", "£1,000", "€1,000", "1,00,000", "-5", "15%", "1e400", "nan", "inf", "TBC", "", " ", "#DIV/0!",
          "yes", "maybe", "2027Q3", "FY28 Q1", "Total", "CX-B01", "cx-b01", "Digital", "a_x0007_b", "x" * 40_000,
          "<b>bold</b>", "=1+1", "Owner", "Uplift", "Run cots per quarter", "Opex / qtr (EUR)", "\u202e", "ID", "Team"]
_NUMBERS = ["-1", "0", "1", "1.5", "15", "1e20", "1e308", "-0", "0.0000001", "400", "401", "99999999999999999999", "NaN", "1E"]
_ERRORS = ["#REF!", "#DIV/0!", "#N/A", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "junk"]


def _escape(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode("utf-8")


def _random_cell(rng: random.Random, reference: bytes) -> bytes:
    kind = rng.randrange(7)
    if kind == 0:
        return b'<c r="' + reference + b'" t="inlineStr"><is><t>' + _escape(rng.choice(_TEXTS)) + b"</t></is></c>"
    if kind == 1:
        return b'<c r="' + reference + b'"><v>' + rng.choice(_NUMBERS).encode() + b"</v></c>"
    if kind == 2:
        return b'<c r="' + reference + b'" t="e"><v>' + rng.choice(_ERRORS).encode() + b"</v></c>"
    if kind == 3:
        return b'<c r="' + reference + b'"><f>' + _escape(rng.choice(["A1*2", "SUM(B2:B9)", "1/0", "NOW()"])) + b"</f></c>"
    if kind == 4:
        return b'<c r="' + reference + b'" t="' + rng.choice([b"b", b"s", b"str", b"d", b"n", b"zz"]) + b'"><v>' + \
            rng.choice([b"1", b"0", b"999999", b"-1", b"2027-02-30", b"x", b""]) + b"</v></c>"
    if kind == 5:
        return b""  # the cell removed: a blank
    return b'<c r="' + reference + b'" t="inlineStr"><is><t>' + _escape("".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(1, 12)))) + b"</t></is></c>"


def _mutate_cells(members: Members, rng: random.Random) -> None:
    sheets = [m for m in members if m.startswith("xl/worksheets/sheet")]
    if not sheets:
        return
    name = rng.choice(sheets)
    xml = members[name]
    cells = list(_CELL.finditer(xml))
    if not cells:
        return
    for match in sorted(rng.sample(cells, min(len(cells), rng.randrange(1, 6))), key=lambda m: -m.start()):
        reference = _REFERENCE.search(match.group(0))
        shown = reference.group(1) + reference.group(2) if reference else b"A1"
        xml = xml[:match.start()] + _random_cell(rng, shown) + xml[match.end():]
    members[name] = xml


def _mutate_header(members: Members, rng: random.Random) -> None:
    """A header (row 1) cell replaced by another text: an alias, a misspelling, a blank, a duplicate."""
    sheets = [m for m in members if m.startswith("xl/worksheets/sheet")]
    if not sheets:
        return
    name = rng.choice(sheets)
    xml = members[name]
    cells = [m for m in _CELL.finditer(xml) if re.search(rb'r="[A-Z]+1"', m.group(0))]
    if not cells:
        return
    match = rng.choice(cells)
    reference = _REFERENCE.search(match.group(0))
    text = rng.choice(["", "Uplift", "Owner", "Journey", "Opex / qtr (EUR)", "Run cots per quarter", "ID", "Team", "Notes",
                       "Reach", "Value", "Cost", "Option", "Mandatory", "Comments", "Teams", "Budget"])
    new = b"" if not text else (b'<c r="' + reference.group(0)[3:-1] + b'" t="inlineStr"><is><t>' + _escape(text) + b"</t></is></c>")
    members[name] = xml[:match.start()] + new + xml[match.end():]


def _mutate_sheet_names(members: Members, rng: random.Random) -> None:
    xml = members.get("xl/workbook.xml", b"")
    names = list(_SHEET_NAME.finditer(xml))
    if not names:
        return
    match = rng.choice(names)
    new = rng.choice([b"Sheet1", b"experiences", b"Options", b"Settings", b"Capacity", b"", b"Funding options", b"X" * 40])
    members["xl/workbook.xml"] = xml[:match.start(1)] + new + xml[match.end(1):]


def _mutate_references(members: Members, rng: random.Random) -> None:
    """A row or cell moved far away (a stray value at the sheet's end), or references made inconsistent."""
    sheets = [m for m in members if m.startswith("xl/worksheets/sheet")]
    if not sheets:
        return
    name = rng.choice(sheets)
    xml = members[name]
    rows = list(_ROW_NUMBER.finditer(xml))
    if not rows:
        return
    match = rng.choice(rows)
    number = rng.choice([b"1048576", b"300000", b"0", b"1", b"99999999999", b"2"])
    xml = xml[:match.start(1)] + number + xml[match.end(1):]
    references = list(_REFERENCE.finditer(xml))
    if references and rng.random() < 0.5:
        reference = rng.choice(references)
        xml = xml[:reference.start(1)] + rng.choice([b"XFD", b"AAA", b"ZZ", b"A"]) + xml[reference.end(1):]
    members[name] = xml


def _mutate_xml_bytes(members: Members, rng: random.Random) -> None:
    if not members:
        return
    name = rng.choice(sorted(members))
    data = bytearray(members[name])
    for _ in range(rng.randrange(1, 4)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    if rng.random() < 0.3:
        del data[rng.randrange(len(data) + 1):]
    members[name] = bytes(data)


def _drop_member(members: Members, rng: random.Random) -> None:
    if members:
        del members[rng.choice(sorted(members))]


_MEMBER_MUTATIONS: list[Callable[[Members, random.Random], None]] = [
    _mutate_cells, _mutate_cells, _mutate_header, _mutate_sheet_names, _mutate_references, _mutate_xml_bytes, _drop_member,
]


def _zip(members: Members, rng: random.Random) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a duplicate member is written on purpose
        for name, data in members.items():
            archive.writestr(name, data)
        if members and rng.random() < 0.05:
            name = rng.choice(sorted(members))
            archive.writestr(name, members[name])
    data = bytearray(buffer.getvalue())
    if rng.random() < 0.15:  # the zip's own bytes: headers, sizes, compressed streams
        for _ in range(rng.randrange(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    if rng.random() < 0.05:
        del data[rng.randrange(len(data)):]
    return bytes(data)


def mutated(seed: int, source: bytes | None = None) -> bytes:
    """The example workbook with 1-3 mutations, the same for the same seed."""
    rng = random.Random(seed)
    with zipfile.ZipFile(io.BytesIO(source or EXAMPLE.read_bytes())) as archive:
        members = {entry.filename: archive.read(entry) for entry in archive.infolist()}
    for _ in range(rng.randrange(1, 4)):
        rng.choice(_MEMBER_MUTATIONS)(members, rng)
    return _zip(members, rng)


def outcome(path: Path) -> str:
    """'clean', 'problems' (located), or raise AssertionError describing what is wrong with the outcome."""
    portfolio, errors, warnings_found = read_workbook(path)
    for problem in (*errors, *warnings_found):
        assert isinstance(problem, Problem) and problem.where.startswith(path.name) and problem.message, problem
    if portfolio is None:
        assert errors, "no portfolio and no error"
        return "problems"
    assert not errors, errors
    return "clean"


def cases(first_seed: int, count: int) -> Iterator[tuple[int, bytes]]:
    source = EXAMPLE.read_bytes()
    for seed in range(first_seed, first_seed + count):
        yield seed, mutated(seed, source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000, help="mutated workbooks to read (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--replay", type=int, help="write the case of this seed to -o and read it once")
    parser.add_argument("-o", "--output", type=Path, default=Path("fuzz-case.xlsx"))
    args = parser.parse_args(argv)
    if args.replay is not None:
        args.output.write_bytes(mutated(args.replay))
        print(f"{args.output}: {outcome(args.output)}")
        return 0
    counts = {"clean": 0, "problems": 0, "crash": 0}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed.xlsx"
        for seed, data in cases(args.seed, args.count):
            path.write_bytes(data)
            try:
                counts[outcome(path)] += 1
            except BaseException:  # noqa: BLE001 - a crash of any kind (a Rust panic is a BaseException) is what is sought
                counts["crash"] += 1
                print(f"seed {seed}: crash\n{traceback.format_exc()}", file=sys.stderr)
    seconds = time.perf_counter() - start
    print(f"{args.count} workbooks in {seconds:.1f} s: {counts['clean']} clean, {counts['problems']} with located problems, "
          f"{counts['crash']} crashes")
    return 1 if counts["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
