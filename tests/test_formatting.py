"""The one formatting module: how money, shares, counts, quarters and marginal values read."""

from __future__ import annotations

import subprocess
import sys

import pytest

from planner.core.formatting import limit_value, marginal_value, money, number, per_unit, percent, quarter, seconds, signed_money


@pytest.mark.parametrize(("value", "expected"), [
    (1_156_000, "€1.16m"), (81_416.7, "€81.4k"), (-16_939, "−€16.9k"), (950, "€950"), (None, "–"), (2.5e9, "€2.50bn"),
    (999.6, "€1,000"), (1_000, "€1.00k"), (12_345_678, "€12.3m"), (123_456_789, "€123m"), (float("nan"), "–"), (float("inf"), "–"),
])
def test_money(value, expected):
    assert money(value) == expected


def test_money_in_full_and_in_other_currencies():
    assert money(1_156_000.4, "EUR", compact=False) == "€1,156,000"
    assert money(-1500, "GBP") == "−£1.50k"
    assert money(1500, "SEK") == "SEK 1.50k"


@pytest.mark.parametrize(("value", "expected"), [(16_300, "+€16.3k"), (-16_300, "−€16.3k"), (0, "€0"), (None, "–")])
def test_signed_money(value, expected):
    assert signed_money(value) == expected


def test_percent_number_quarter_seconds():
    assert percent(-0.114) == "−11.4%"
    assert percent(0.07436, 2) == "7.44%"
    assert percent(None) == "–"
    assert number(12_500) == "12,500"
    assert number(-3.25, 1) == "−3.2"
    assert quarter("2027Q2") == "2027Q2"
    assert quarter(None) == "–"
    assert quarter(None, "not funded") == "not funded"
    assert seconds(60) == "60.00 s"


def test_marginal_values_name_their_unit():
    assert marginal_value(0.35, "EUR") == "€0.35 of NPV per extra €1"
    assert marginal_value(3.0, "team-weeks", "USD") == "$3.00 of NPV per extra team-week"
    assert marginal_value(12_500, "team-weeks") == "€12.5k of NPV per extra team-week"
    assert per_unit(-0.5) == "−€0.50"
    assert limit_value(1_400_000, "EUR") == "€1.40m"
    assert limit_value(120, "team-weeks") == "120.0 team-weeks"


def test_formatting_imports_nothing_heavy():
    """Anything may import the formatting module: it must not pull in the solver stack or the renderers."""
    code = "import sys, planner.core.formatting; print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulp', 'numpy', 'pandas', 'jinja2') or m.startswith('planner.')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "['planner.core', 'planner.core.formatting']"
