"""Shared fixtures for the report tests: small hand-built plans and the external-program guard.

Plans are built by hand (`make_plan`) with the project's own economics, so every number in
a Decision is what `planner.core.economics` says it is: the reports can be checked against the
plan without a solver.
"""

from __future__ import annotations

import os
import random
import shutil

import pytest

from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team
from planner.core.economics import cash_flows, payback_quarter, present_value
from planner.optimise.plan import Baseline, Decision, Plan, RuleUse, SolveInfo
from planner.inputs.scenario import Scenario

HOSTILE_NAME = "<script>alert(1)</script>"


def require_program(name: str) -> str:
    """The path of an external program; skip (or fail with PLANNER_REQUIRE_EXTERNAL=1) if missing."""
    path = shutil.which(name)
    if path:
        return path
    skip_unless_required(f"{name} is not installed (apt-get install chromium libreoffice-calc-nogui poppler-utils)")


def skip_unless_required(reason: str) -> None:
    """Skip with the reason printed, or fail when PLANNER_REQUIRE_EXTERNAL=1 (CI) requires the test to run."""
    if os.environ.get("PLANNER_REQUIRE_EXTERNAL") == "1":
        pytest.fail(f"{reason}; PLANNER_REQUIRE_EXTERNAL=1 requires it")
    print(f"skipping: {reason}")
    pytest.skip(reason)


def run_highs_in_this_process() -> None:
    """Solve a one-variable model with PuLP's in-process HiGHS, leaving its thread pool behind."""
    import pulp

    problem = pulp.LpProblem("warm_up", pulp.LpMaximize)
    x = problem.add_variable("x", 0, 1, cat=pulp.LpBinary)
    problem.setObjective(x)
    problem.solve(pulp.HiGHS(msg=False))


def option(name: str, one_off: float, run: float, team: str, weeks: float, quarters: int, share: float) -> FundingOption:
    return FundingOption(name, one_off, run, ((team, weeks),), quarters, share)


def small_portfolio() -> Portfolio:
    """Six experiences over four journey stages, three channels and two product lines."""
    settings = Settings(currency="EUR", first_quarter="2027Q1", horizon_quarters=8, annual_discount_rate=0.08)
    experiences = (
        Experience("CX-101", "Checkout in one tap", "buy", "app", "Mobile", "frontstage", "Digital",
                   200_000, "conversion", 30.0, 0.01, 0.02, 0.03,
                   (option("lean", 150_000, 5_000, "Digital", 12, 1, 0.6), option("standard", 300_000, 10_000, "Digital", 24, 2, 1.0)),
                   requires=("CX-201",)),
        Experience("CX-102", "Store pickup slots", "buy", "store", "Home", "frontstage", "Stores",
                   50_000, "conversion", 40.0, 0.01, 0.03, 0.04,
                   (option("standard", 250_000, 8_000, "Stores", 20, 2, 1.0),)),
        Experience("CX-103", "Chatbot that resolves", "get help", "web", "Mobile", "frontstage", "Service",
                   60_000, "contacts avoided", 6.0, 0.02, 0.05, 0.08,
                   (option("lean", 120_000, 6_000, "Service", 10, 1, 0.5), option("premium", 400_000, 12_000, "Service", 30, 3, 1.0))),
        Experience("CX-104", HOSTILE_NAME, "discover", "web", "Home", "frontstage", "Digital",
                   100_000, "conversion", 25.0, 0.01, 0.02, 0.03,
                   (option("standard", 150_000, 4_000, "Digital", 30, 2, 1.0),)),
        Experience("CX-201", "=Customer data platform", "use", "app", "Mobile", "backstage", "Data",
                   1_000, "retention", 10.0, 0.0, 0.01, 0.02,
                   (option("standard", 200_000, 5_000, "Data", 16, 1, 1.0),), mandatory=True),
        Experience("CX-202", "Renewal reminders", "renew", "contact centre", "Home", "frontstage", "Service",
                   20_000, "retention", 150.0, 0.005, 0.01, 0.02,
                   (option("standard", 90_000, 3_000, "Service", 8, 1, 1.0),), excludes=("CX-103",)),
    )
    teams = tuple(Team(name, (16.0,) * 8) for name in ("Data", "Digital", "Service", "Stores"))
    return Portfolio(experiences, teams, (450_000.0,) * 8, settings, total_budget=None,
                     source="/inputs/example-portfolio.xlsx", source_sha256="ab" * 32)


def make_decision(portfolio: Portfolio, experience: Experience, choice: tuple[str, int] | None, reason: str = "") -> Decision:
    """The Decision for funding `experience` at (option, start), or not funding it."""
    settings, horizon = portfolio.settings, portfolio.horizon
    if choice is None:
        return Decision(experience, False, None, None, None, (0.0,) * horizon, (0.0,) * horizon, (), 0.0, 0.0, 0.0, None,
                        reason or "not worth its cost")
    name, start = choice
    chosen = next(o for o in experience.options if o.name == name)
    flows = cash_flows(settings, experience, chosen, start)
    d = chosen.delivery_quarters
    attention = tuple(
        (team, tuple(weeks / d if start <= q < start + d else 0.0 for q in range(horizon))) for team, weeks in chosen.attention
    )
    pv_benefit, pv_cost = present_value(settings, flows.benefit), present_value(settings, flows.cost)
    return Decision(experience, True, name, start, start + d - 1, tuple(map(float, flows.cost[:horizon])), tuple(map(float, flows.benefit[:horizon])),
                    attention, pv_benefit, pv_cost, pv_benefit - pv_cost, payback_quarter(flows.net))


def make_plan(portfolio: Portfolio, choices: dict[str, tuple[str, int] | None], status: str = "optimal", gap: float | None = 0.0,
              reasons: dict[str, str] | None = None) -> Plan:
    """A plan funding `choices` (id -> (option, start) or None), with rules, solve info and a baseline."""
    reasons = reasons or {}
    decisions = tuple(make_decision(portfolio, e, choices.get(e.id), reasons.get(e.id, "")) for e in portfolio.experiences)
    partial = Plan(portfolio, Scenario(name="Base plan FY27"), decisions, (), _solve_info(status, gap, 0.0), Baseline(0.0, 0.0, (), True))
    labels = partial.quarters
    rules = [
        RuleUse(f"budget_{labels[q]}", "budget", f"Budget {labels[q]}", q, None, portfolio.budget[q], partial.spend_by_quarter[q],
                portfolio.settings.currency, 0.35 if q == 0 else 0.0)
        for q in range(portfolio.horizon)
    ]
    for team, used in sorted(partial.attention_by_team().items()):
        capacity = portfolio.team(team).capacity
        rules += [
            RuleUse(f"capacity_{team.lower()}_{labels[q]}", "capacity", f"{team} capacity {labels[q]}", q, team, capacity[q], used[q],
                    "team-weeks", 12_500.0 if (team, q) == ("Data", 0) else 0.0)
            for q in range(portfolio.horizon)
        ]
    greedy_ids = tuple(sorted(e.id for e in portfolio.experiences if choices.get(e.id))[:-1])
    greedy_npv = 0.8 * partial.npv
    greedy = Baseline(greedy_npv, sum(d.total_spend for d in decisions if d.experience.id in greedy_ids), greedy_ids, True)
    return Plan(portfolio, partial.scenario, decisions, tuple(rules), _solve_info(status, gap, partial.npv), greedy)


def _solve_info(status: str, gap: float | None, objective: float) -> SolveInfo:
    bound = objective * (1 + gap) if gap is not None else None
    return SolveInfo("cbc", status, objective, bound, bound, gap, 0.001, 60.0, 0.12, 1.5, 0.03, 240, 96)


SMALL_CHOICES: dict[str, tuple[str, int] | None] = {
    "CX-101": ("standard", 1),
    "CX-102": ("standard", 0),
    "CX-103": None,
    "CX-104": ("standard", 3),
    "CX-201": ("standard", 0),
    "CX-202": ("standard", 0),
}
SMALL_REASONS = {"CX-103": "excluded by CX-202 (Renewal reminders), which is funded and worth more"}


@pytest.fixture
def small_plan() -> Plan:
    return make_plan(small_portfolio(), SMALL_CHOICES, reasons=SMALL_REASONS)


def large_plan(count: int = 10_000, seed: int = 7) -> Plan:
    """A plan over `count` random experiences (about 40% funded), for speed tests."""
    rng = random.Random(seed)
    stages = ("discover", "choose", "buy", "use", "get help", "renew", "leave")
    channels = ("app", "web", "store", "contact centre", "partner")
    products = ("Mobile", "Home", "Broadband", "Insurance")
    teams = tuple(Team(f"Team {t:02d}", (400.0,) * 8) for t in range(20))
    experiences = []
    for i in range(count):
        team = teams[i % len(teams)].name
        options = tuple(
            option(name, rng.uniform(50_000, 400_000) * scale, rng.uniform(1_000, 10_000), team, rng.uniform(4, 30) * scale,
                   rng.randint(1, 3), share)
            for name, scale, share in (("lean", 0.5, 0.6), ("standard", 1.0, 1.0), ("premium", 1.6, 1.2))
        )
        experiences.append(Experience(f"EXP-{i:05d}", f"Experience {i}", rng.choice(stages), rng.choice(channels), rng.choice(products),
                                      "frontstage", team, rng.uniform(1_000, 50_000), "conversion", rng.uniform(5, 60),
                                      0.005, 0.02, 0.04, options))
    portfolio = Portfolio(tuple(experiences), teams, (2.5e8,) * 8, Settings(), source="large.xlsx", source_sha256="0" * 64)
    choices = {e.id: (rng.choice(("lean", "standard", "premium")), rng.randint(0, 4)) if rng.random() < 0.4 else None for e in experiences}
    return make_plan(portfolio, choices)


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB or RGBA PNG (what Chromium writes) into (width, height, rows of pixel bytes)."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour_type = header[:4]
    assert depth == 8 and colour_type in (2, 6), f"unsupported PNG: depth {depth}, colour type {colour_type}"
    channels = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line[i] for i in range(stride) if i % channels < 3))
        previous = line
    return width, height, rows


def distinct_colours(data: bytes) -> int:
    _, _, rows = png_pixels(data)
    return len({row[i:i + 3] for row in rows for i in range(0, len(row), 3)})


CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
)


def run_chromium(page: "os.PathLike[str] | str", work: "os.PathLike[str] | str", *extra: str) -> tuple[str, list[str], list[str]]:
    """Open a local page in headless Chromium; return (dumped DOM, console lines, URLs the page requested).

    The net log tells the page's own requests (their network isolation key is the file://
    site) from Chromium's background traffic, so the check does not depend on which
    services a Chromium build calls home to.
    """
    import json
    import subprocess
    from pathlib import Path

    chromium = require_program("chromium")
    work = Path(work)
    net_log = work / "net-log.json"
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={work / 'profile'}", f"--log-net-log={net_log}", *extra,
               "--dump-dom", Path(page).resolve().as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    events = json.loads(net_log.read_text()).get("events", []) if net_log.exists() else []
    requested = sorted({
        e["params"]["url"] for e in events
        if "url" in e.get("params", {}) and "file://" in str(e["params"].get("network_isolation_key", ""))
        and not e["params"]["url"].startswith(("file:", "data:"))
    })
    return result.stdout, console, requested


@pytest.fixture(scope="session")
def optimised_plan() -> Plan:
    """The small portfolio planned by the real optimiser (reasons and marginal values from the model)."""
    from planner.optimise.optimiser import plan_portfolio

    return plan_portfolio(small_portfolio())


# Injected into a copy of a report page: lists what would not fit a page CONTENT_WIDTH wide
# (elements past the right edge, a scrolled matrix, an ID broken over two lines).
LAYOUT_CHECK = """<script>
window.addEventListener("load", function () {
  var limit = document.documentElement.clientWidth, out = [];
  document.querySelectorAll("main *").forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.right > limit + 1 && !el.closest(".matrix-wrap, .wide")) out.push("overflow " + el.tagName + "." + el.className + " " + Math.round(r.right));
  });
  document.querySelectorAll(".matrix-wrap").forEach(function (el) { if (el.scrollWidth > el.clientWidth + 1) out.push("clipped " + el.scrollWidth + ">" + el.clientWidth); });
  document.querySelectorAll("td.id, span.id").forEach(function (el) { var range = document.createRange(); range.selectNodeContents(el); var lines = new Set(Array.from(range.getClientRects()).map(function (r) { return Math.round(r.top); })); if (lines.size > 1) out.push("broken id " + el.textContent); });
  var pre = document.createElement("pre"); pre.id = "layout-check"; pre.textContent = JSON.stringify(out.slice(0, 20)); document.body.appendChild(pre);
});
</script>"""


def layout_problems(page: str, work: "os.PathLike[str] | str", width: int = 718) -> list[str]:
    """What of an HTML report does not fit a window `width` px wide (A4 portrait's text width is about 718 px)."""
    import json
    import re
    from pathlib import Path

    path = Path(work) / "layout-check.html"
    path.write_text(page.replace("</body>", LAYOUT_CHECK + "</body>"), encoding="utf-8")
    dom, _, _ = run_chromium(path, work, f"--window-size={width},1000")
    found = re.search(r'<pre id="layout-check">([^<]*)</pre>', dom)
    assert found, "the layout check did not run"
    return json.loads(found.group(1).replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&"))
