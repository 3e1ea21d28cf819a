"""How a number reads: the one place that words money, percentages, counts, quarters, seconds
and marginal values for a reader.

The forms are the finance reader's: `€1.16m`, `€450k`, `−€17k` (a true minus sign), `12.5%`,
`1,234`, and "–" for a value that is missing or not finite. The HTML renderer registers these
functions as its Jinja2 filters, the charts take them as axis formatters, and any other
place that words a number (CLI tables, reasons) should call them too, so a page never shows
one amount two ways. This module imports nothing from planner, so anything may import it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "INR": "₹"}
MISSING = "–"
MINUS = "−"


def _sign(value: float) -> str:
    return MINUS if value < 0 else ""


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def symbol(currency: str) -> str:
    """The currency's symbol ("€"), or its code and a space ("SEK ") where it has no common symbol."""
    return SYMBOLS.get(currency, f"{currency} ")


def money(value: float | None, currency: str = "EUR", compact: bool = True) -> str:
    """€1.16m, €450k, −€17k; `compact=False` gives every unit: €1,156,000."""
    if _missing(value):
        return MISSING
    size = abs(value)
    if not compact or size < 1_000:
        return f"{_sign(value)}{symbol(currency)}{size:,.0f}"
    # size >= 1,000 here, so one of the three always matches.
    limit, suffix = next(step for step in ((1e9, "bn"), (1e6, "m"), (1e3, "k")) if size >= step[0])
    scaled = size / limit
    digits = 2 if scaled < 10 else 1 if scaled < 100 else 0
    return f"{_sign(value)}{symbol(currency)}{scaled:.{digits}f}{suffix}"


def signed_money(value: float | None, currency: str = "EUR") -> str:
    """A change in money: "+€1.2m", "−€17k", "€0"."""
    if value is None:
        return MISSING
    return ("+" if value > 0 else "") + money(value, currency)


def percent(value: float | None, digits: int = 1) -> str:
    """A share as a percentage: 0.125 -> "12.5%"."""
    if _missing(value):
        return MISSING
    return f"{_sign(value)}{abs(value) * 100:.{digits}f}%"


def number(value: float | None, digits: int = 0) -> str:
    """A count or a quantity with thousands separators: "1,234", "12.5"."""
    if _missing(value):
        return MISSING
    return f"{_sign(value)}{abs(value):,.{digits}f}"


def quarter(value: str | None, missing: str = MISSING) -> str:
    """A quarter's label ("2027Q1"), or `missing` where there is none (not funded, no payback)."""
    return value if value else missing


def seconds(value: float | None) -> str:
    """A duration: "1.25 s"."""
    return MISSING if value is None else f"{value:.2f} s"


def per_unit(value: float | None, currency: str = "EUR") -> str:
    """Money per unit of money or time, to the cent below a thousand: '€0.72', '€12.5k'."""
    if _missing(value):
        return MISSING
    return money(value, currency) if abs(value) >= 1_000 else f"{_sign(value)}{symbol(currency)}{abs(value):,.2f}"


def marginal_value(value: float, unit: str, currency: str = "EUR") -> str:
    """What one more unit of a rule is worth: '€0.35 of NPV per extra €1', '€12.5k of NPV per extra team-week'."""
    worth = per_unit(value, currency)
    if unit == currency:
        return f"{worth} of NPV per extra {money(1, currency)}"
    singular = unit[:-1] if unit.endswith("s") else unit
    return f"{worth} of NPV per extra {singular}"


def limit_value(value: float, unit: str, currency: str = "EUR") -> str:
    """A rule's limit in its own unit: money for a budget, "120.0 team-weeks" for a capacity."""
    return money(value, currency) if unit == currency else f"{number(value, 1)} {unit}"


def bundle_reason(bundle, currency: str = "EUR") -> str:
    """Why an enabler's bundle is not funded, worded from its numbers (a reports.experience_view.EnablerRow).

    It states what the bundle as a whole would return and what funding it would cost the
    plan, so no member's reason points at another member's.
    """
    head = f"Part of the {bundle.id} bundle"
    if bundle.with_npv is None and bundle.without_npv is not None:  # valued, and no plan funds it
        return f"{head}: no plan that funds {bundle.id} meets the rules."
    taken = f"with {', '.join(m for m in bundle.funded_members if m != bundle.id)}" if len(bundle.funded_members) > 1 else "alone"
    returns = (f"{head}: funded {taken}, it returns {money(bundle.npv, currency)} "
               f"on {money(bundle.spend, currency)} (ROI {percent(bundle.roi)})")
    if bundle.unlocked is None:
        return f"{returns}."
    if bundle.unlocked < 0:
        return f"{returns}, and the whole plan is worth {money(-bundle.unlocked, currency)} less: the money does more elsewhere."
    return f"{returns}, and the whole plan is worth {money(bundle.unlocked, currency)} more."


# The names templates use: both renderers register these as Jinja2 filters ({{ x|money(currency) }}).
FILTERS: dict[str, Callable[..., str]] = {
    "money": money, "signed_money": signed_money, "percent": percent, "number": number, "quarter": quarter,
    "seconds": seconds, "marginal_value": marginal_value, "limit_value": limit_value, "per_unit": per_unit,
    "bundle_reason": bundle_reason,
}


def duration(seconds: float) -> str:
    """A wait in words, rounded as an estimate is: "40 s", "2 minutes"."""
    if seconds < 90:
        return f"{max(1, round(seconds / 5) * 5 if seconds >= 10 else round(seconds))} s"
    return f"{round(seconds / 60)} minutes"
