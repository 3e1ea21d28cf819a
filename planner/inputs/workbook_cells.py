"""Reading one cell of the input workbook: its value as its column's kind, or a CellError saying what is wrong.

Numbers as text, percentages, thousands separators, an amount's currency (refused unless it
is the workbook's), yes/no spellings, quarters, months, error values and formulas with no
calculated value: each kind's parser is here, and the messages quote the cell as typed.
"""

from __future__ import annotations

import contextvars
import datetime
import math
import re
from collections.abc import Callable
from typing import Any

from planner.core.domain import LAYERS, MONTHS, tidy_quarter
from planner.inputs.workbook_file import ExcelError, Marker, Uncalculated
from planner.inputs.workbook_format import Column, squash


_CHOICE_ALIASES = {
    "front": "frontstage", "frontoffice": "frontstage", "back": "backstage", "backoffice": "backstage",
}
_YES = frozenset({"yes", "y", "true", "1", "x", "ja", "oui"})
_NO = frozenset({"no", "n", "false", "0", ""})
# The spellings the template's list offers, read without a closer look.
YES_NO_WORDS = {"yes": True, "no": False}


class CellError(ValueError):
    """A cell's value does not fit its column; the message says what was found and what is expected."""


# No portfolio has amounts (money, customers, team-weeks) above 10^15, and a solver loses
# precision long before; such a number is a typo or a stand-in for "unlimited".
LARGEST = 1e15
# Whole numbers are counts of quarters (horizon, delivery, ramp, tail): 100 years is plenty,
# and a typo of 10^9 would otherwise have the planner build a label for every quarter.
LARGEST_WHOLE = 400


_NUMBER_JUNK = re.compile(r"[\s\u00a0\u202f']")
# A currency written with an amount: a sign, or a three-letter code before or after the number.
_CURRENCY_SIGNS: dict[str, tuple[str, ...]] = {
    "€": ("EUR",), "£": ("GBP",), "¥": ("JPY", "CNY"), "₹": ("INR",), "₣": ("CHF",), "₽": ("RUB",), "₩": ("KRW",),
    "$": ("USD", "AUD", "CAD", "NZD", "SGD", "HKD", "MXN"),
}
_CURRENCY_MARK = re.compile(r"[€£¥₹₣₽₩$]|(?<![A-Za-z])[A-Za-z]{3}(?![A-Za-z])")
# The workbook's currency (Settings), while a workbook is read: an amount in another is refused.
WORKBOOK_CURRENCY: contextvars.ContextVar[str] = contextvars.ContextVar("workbook_currency", default="")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def _show(raw: Any) -> str:
    """A cell value as a message quotes it."""
    if isinstance(raw, str):
        return f'"{raw}"'
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


# Control characters: invisible in Excel, dropped by XML (so by report.xlsx), passed into HTML and CSV.
# The reader removes them from every text, the same way everywhere, and `validate` lists where.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The most characters an Excel cell holds: a longer text could not be written into report.xlsx.
LONGEST_TEXT = 32_767


def read_text(raw: Any, column: Column) -> str:
    if raw.__class__ is str:
        return CONTROL_CHARACTERS.sub("", raw).strip() if CONTROL_CHARACTERS.search(raw) else raw.strip()
    # Excel stores a typed 101 as the number 101.0; an id or name means the text "101".
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def _number(raw: Any, percent_allowed: bool = False) -> float:
    if raw.__class__ is float and raw - raw == 0:  # finite: inf - inf and nan - nan are nan
        return raw
    if isinstance(raw, float) or (isinstance(raw, int) and not isinstance(raw, bool)):
        if math.isfinite(raw):
            return float(raw)
    elif isinstance(raw, str):
        text = _NUMBER_JUNK.sub("", raw)
        if _CURRENCY_MARK.search(text):
            text = _without_currency(raw, text)
        percent = text.endswith("%")
        text = text[:-1] if percent else text
        if _GROUPED_NUMBER.fullmatch(text):
            text = text.replace(",", "")
        if _PLAIN_NUMBER.fullmatch(text):
            if percent and not percent_allowed:
                raise CellError(f"{_show(raw)} is a percentage; expected a number")
            return float(text) / 100 if percent else float(text)
    elif isinstance(raw, (datetime.date, datetime.time, datetime.timedelta)):
        raise CellError(f"{raw} is a date or time; expected a number")
    raise CellError(f"{_show(raw)} is not a number")


def _without_currency(raw: str, text: str) -> str:
    """The number's text without its currency; CellError if that currency is not the workbook's.

    "$1,000" in a EUR workbook is not 1,000 euros: converting is finance's call, not the reader's.
    """
    marks = _CURRENCY_MARK.findall(text)
    bare = _CURRENCY_MARK.sub("", text)
    if not (_PLAIN_NUMBER.fullmatch(bare.removesuffix("%")) or _GROUPED_NUMBER.fullmatch(bare.removesuffix("%"))):
        return text  # not a number with a currency: reported as not a number
    currency = WORKBOOK_CURRENCY.get().upper()
    for mark in marks:
        codes = _CURRENCY_SIGNS.get(mark, (mark.upper(),))
        if currency and currency not in codes and _CURRENCY_SIGNS.get(currency, ()) != codes:
            named = f"{codes[0]} ({mark})" if mark in _CURRENCY_SIGNS else mark.upper()
            raise CellError(f"{_show(raw)} is an amount in {named}, not in the workbook's currency {currency} (Settings); "
                             f"convert it to {currency} and type the number")
    return bare


def _amount(raw: Any, column: Column) -> float:
    value = _number(raw)
    if value < 0:
        raise CellError(f"{_show(raw)} is negative; expected a number >= 0")
    return _not_huge(value, raw)


def _positive(raw: Any, column: Column) -> float:
    value = _number(raw)
    if value <= 0:
        raise CellError(f"{_show(raw)} is not above 0; expected a positive number")
    return _not_huge(value, raw)


def _not_huge(value: float, raw: Any) -> float:
    if value > LARGEST:
        raise CellError(f"{_show(raw)} is too large; expected at most {LARGEST:,.0f} (10^15)")
    return value


def _whole(raw: Any, column: Column) -> int:
    value = _number(raw)
    if not value.is_integer() or value < column.minimum:
        raise CellError(f"{_show(raw)} is not a whole number >= {column.minimum}")
    if value > LARGEST_WHOLE:
        raise CellError(f"{_show(raw)} quarters is too many; expected a whole number from {column.minimum} to {LARGEST_WHOLE}")
    return int(value)


def _fraction(raw: Any, column: Column) -> float:
    value = _number(raw, percent_allowed=True)
    if 0 <= value <= 1:
        return value
    name = column.label.casefold()
    if value > 1:
        # A typed 15 may mean 15% or an error; guessing would silently scale the benefit.
        shown = f"{value:g}"
        raise CellError(f"{name} {shown} is not between 0 and 1; type {shown}% or {value / 100:g}")
    raise CellError(f"{name} {value:g} is not between 0 and 1")


def _yes_no(raw: Any, column: Column) -> bool:
    if isinstance(raw, bool):
        return raw
    word = read_text(raw, column).casefold()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise CellError(f"{_show(raw)} is not yes or no")


def _ids(raw: Any, column: Column) -> tuple[str, ...]:
    """Texts separated by commas, semicolons or line breaks (ids, or a list such as the journey's stages)."""
    return tuple(part.strip() for part in re.split(r"[,;\n]", read_text(raw, column)) if part.strip())


def _choice(raw: Any, column: Column) -> str:
    if raw in column.choices:
        return raw
    word = squash(read_text(raw, column))
    word = _CHOICE_ALIASES.get(word, word) if column.choices == LAYERS else word
    for choice in column.choices:
        if squash(choice) == word:
            return choice
    raise CellError(f"{_show(raw)} is not a {column.label.casefold()}; expected {' or '.join(column.choices)}")


def _label(year: int, quarter: int) -> str:
    return f"{year}Q{quarter}"


def _quarter(raw: Any, column: Column) -> str:
    """A quarter label in its standard spelling; which calendar it belongs to is checked once Settings are read."""
    if isinstance(raw, (datetime.date, datetime.datetime)):
        return _label(raw.year, (raw.month - 1) // 3 + 1)
    try:
        return tidy_quarter(read_text(raw, column))
    except ValueError:
        raise CellError(f"{_show(raw)} is not a quarter like 2027Q1 or FY28 Q1") from None


def _month(raw: Any, column: Column) -> int:
    """A month as its number 1-12 or its name ('April', 'apr')."""
    if isinstance(raw, str) and raw.strip()[:3].casefold() in [m[:3].casefold() for m in MONTHS] and not raw.strip().isdigit():
        return [m[:3].casefold() for m in MONTHS].index(raw.strip()[:3].casefold()) + 1
    try:
        value = _number(raw)
    except CellError:
        raise CellError(f"{_show(raw)} is not a month; expected 1 to 12 or a month's name") from None
    if not value.is_integer() or not 1 <= value <= 12:
        raise CellError(f"{_show(raw)} is not a month; expected 1 to 12 or a month's name")
    return int(value)


_PARSERS: dict[str, Callable[[Any, Column], Any]] = {
    "raw": lambda raw, column: raw, "text": read_text, "id": read_text, "team": read_text, "ids": _ids, "list": _ids, "amount": _amount, "positive": _positive,
    "whole": _whole, "fraction": _fraction, "yesno": _yes_no, "choice": _choice, "quarter": _quarter,
    "month": _month,
}


def parse_value(raw: Any, column: Column) -> Any:
    """A filled cell's value as its column's kind; CellError if it does not fit."""
    if raw.__class__ is ExcelError:
        raise CellError(f"{raw} is an Excel error value (a formula that failed); expected {expected_value(column)}: "
                         "fix the formula or type the value")
    if raw.__class__ is str and len(raw) > LONGEST_TEXT:
        raise CellError(f"is a text of {len(raw):,} characters; at most {LONGEST_TEXT:,} fit in an Excel cell: shorten it")
    if raw.__class__ is Uncalculated:
        raise CellError(f"formula {raw} has no calculated value (the file was saved by a program that does not calculate "
                         "formulas); open it in Excel or LibreOffice and save it, or type the value")
    return _PARSERS[column.kind](raw, column)


def marker_problem(marker: Marker) -> str:
    if marker.__class__ is ExcelError:
        return f"{marker}, an Excel error value (a formula that failed): fix the formula or type the header"
    return f"formula {marker} with no calculated value: open the file in Excel or LibreOffice and save it, or type the header"


def id_key(identifier: str) -> str:
    """domain.normalise_id for an id already read (stripped text): the cheap half of it."""
    return identifier.casefold()


def is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def is_numeric(raw: Any) -> bool:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return True
    try:
        _number(raw)
    except CellError:
        return False
    return True


def put_back_markers(rows: list[list[Any]], marks: dict[tuple[int, int], Marker]) -> None:
    """Put each cell calamine misreads (an error value, an uncalculated formula) back in its place."""
    for (row, column), marker in marks.items():
        if row < len(rows) and column < len(rows[row]):
            rows[row][column] = marker


def expected_value(column: Column) -> str:
    return {
        "amount": "a number >= 0", "positive": "a number > 0", "fraction": "a fraction between 0 and 1",
        "whole": f"a whole number >= {column.minimum}", "quarter": "a quarter like 2027Q1 or FY28 Q1", "yesno": "yes or no",
        "choice": " or ".join(column.choices), "ids": "experience ids separated by commas", "list": "texts separated by commas",
    }.get(column.kind, f"the {column.label.casefold()}")

