"""The bundled example: Northgate Bank's customer-experience portfolio for 2027-2028.

Northgate is a fictional mid-size retail bank (about 1.5 million customers, 900,000 of
them active in the app, 120 branches, one contact centre). Its experience office has 40
candidate experiences across six journey stages, four channels and three product lines,
four delivery teams and eight quarters of budget from 2027Q1.

Each experience belongs to one of eight customer journeys a retail bank would name (open an
account, get a mortgage, resolve a problem...) owned by one executive, or is a one-off;
three overlap groups mark work that reaches the same customers at the same stage.

The portfolio is written as a table below so a reader can check every number. Backstage
enablers (customer data platform, identity checks, knowledge base...) earn little or
nothing themselves; their value arrives through the frontstage experiences that require
them, which is exactly what a value-for-money ranking misses.

Run `python scenarios/make_example.py` to rewrite scenarios/example-portfolio.xlsx; the
tests check that the committed workbook still reads back as `example_portfolio()`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NamedTuple

from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team, validate_portfolio

HERE = Path(__file__).resolve().parent
WORKBOOK = HERE / "example-portfolio.xlsx"

# Journey stages, channels and product lines, in the words Northgate's executives use.
DISCOVER, CHOOSE, BUY, USE, GET_HELP, RENEW = "discover", "choose", "buy", "use", "get help", "renew or leave"
APP, WEB, BRANCH, CONTACT = "app", "web", "branch", "contact centre"
EVERYDAY, MORTGAGES, CARDS = "Everyday banking", "Mortgages", "Cards and loans"
FRONT, BACK = "frontstage", "backstage"
DIGITAL, DATA, OPERATIONS, CONTACT_CENTRE = "Digital", "Data & Platforms", "Operations", "Contact centre"

# Team-weeks per quarter. The fourth quarter of each year carries the December change
# freeze, and Digital grows by two squads from 2028.
TEAM_CAPACITY: dict[str, tuple[float, ...]] = {
    DIGITAL: (45, 45, 45, 35, 55, 55, 55, 45),
    DATA: (22, 22, 22, 16, 22, 22, 22, 16),
    OPERATIONS: (20, 20, 20, 15, 20, 20, 20, 15),
    CONTACT_CENTRE: (14, 14, 14, 10, 14, 14, 14, 10),
}

# Money for change (EUR): the board's envelope is 9m over the two years, and treasury caps
# any one quarter at 1.4m so that spend stays smooth.
BUDGET_PER_QUARTER = 1_400_000.0
TOTAL_BUDGET = 9_000_000.0


class Tier(NamedTuple):
    """How a funding option scales the standard option: diminishing returns on uplift share."""

    cost: float
    run: float
    weeks: float
    share: float
    extra_quarters: int


TIERS: dict[str, Tier] = {
    "lean": Tier(cost=0.5, run=0.7, weeks=0.5, share=0.5, extra_quarters=0),
    "standard": Tier(cost=1.0, run=1.0, weeks=1.0, share=0.85, extra_quarters=0),
    "premium": Tier(cost=1.5, run=1.2, weeks=1.4, share=1.0, extra_quarters=0),
}
LSP = ("lean", "standard", "premium")
LS = ("lean", "standard")
SP = ("standard", "premium")


class Row(NamedTuple):
    """One experience as the experience office writes it: the standard option's cost and effort.

    `uplift` is (low, base, high) extra outcomes per reached customer at full scope; `weeks`
    is the owning team's total team-weeks and `support` the other teams' (team, weeks).
    """

    id: str
    name: str
    stage: str
    channel: str
    product: str
    layer: str
    team: str
    reach: float
    outcome: str
    value: float
    uplift: tuple[float, float, float]
    cost: float
    run: float
    weeks: float
    support: tuple[tuple[str, float], ...]
    quarters: int
    tiers: tuple[str, ...]
    description: str
    requires: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    mandatory: bool = False
    earliest: int = 0


NONE = (0.0, 0.0, 0.0)

ROWS: tuple[Row, ...] = (
    # --- Backstage enablers: little or no value of their own --------------------------------
    Row("CX-B01", "Customer data platform", CHOOSE, APP, EVERYDAY, BACK, DATA,
        0, "none", 0, NONE, 1_400_000, 40_000, 60, ((DIGITAL, 10),), 3, LS,
        "One view of each customer across app, web, branch and phone, refreshed daily, so "
        "offers, reminders and adviser prompts use the same facts."),
    Row("CX-B02", "Real-time transaction events", USE, APP, EVERYDAY, BACK, DATA,
        0, "none", 0, NONE, 800_000, 25_000, 40, ((DIGITAL, 8),), 2, LS,
        "Publish every card and account transaction within seconds instead of overnight, for "
        "alerts, insights and fraud checks."),
    Row("CX-B03", "Agent knowledge base", GET_HELP, CONTACT, EVERYDAY, BACK, OPERATIONS,
        300_000, "repeat call avoided", 6, (0.005, 0.01, 0.015), 380_000, 15_000, 20, ((CONTACT_CENTRE, 12),), 2, LS,
        "One maintained set of answers and procedures for agents and advisers, replacing "
        "six intranet sites and the printed branch manual."),
    Row("CX-B04", "Digital identity verification", BUY, APP, EVERYDAY, BACK, DATA,
        20_000, "manual ID check avoided", 12, (0.1, 0.2, 0.3), 650_000, 30_000, 28, ((DIGITAL, 10),), 2, LS,
        "Check a passport or ID card and a selfie in the app, so new customers need not "
        "visit a branch to prove who they are."),
    Row("CX-B05", "Document upload and case management", BUY, WEB, MORTGAGES, BACK, OPERATIONS,
        0, "none", 0, NONE, 550_000, 20_000, 24, ((DIGITAL, 14),), 2, LS,
        "Customers upload payslips and statements; back-office teams work each application "
        "or complaint as one tracked case instead of e-mail chains."),
    Row("CX-B06", "Open banking income check", BUY, APP, CARDS, BACK, DATA,
        0, "none", 0, NONE, 320_000, 15_000, 14, ((DIGITAL, 5),), 1, LS,
        "With the customer's consent, read salary and outgoings from their accounts at any "
        "bank to confirm affordability in minutes."),
    Row("CX-B07", "Churn-risk model", RENEW, CONTACT, EVERYDAY, BACK, DATA,
        0, "none", 0, NONE, 260_000, 10_000, 18, (), 1, LS,
        "A weekly score of which customers are likely to move their salary or mortgage "
        "elsewhere, built on the customer data platform.",
        requires=("CX-B01",)),
    # --- Mandatory: regulatory or committed to the board --------------------------------------
    Row("CX-M01", "Strong authentication upgrade", USE, APP, EVERYDAY, FRONT, DIGITAL,
        900_000, "fraud loss avoided", 400, (0.00005, 0.0001, 0.00015), 750_000, 20_000, 36, ((DATA, 10),), 2, SP,
        "Move app and web log-in to passkeys and device binding to meet the new payment "
        "services rules on customer authentication.",
        mandatory=True),
    Row("CX-M02", "Accessibility remediation of web and app", CHOOSE, WEB, EVERYDAY, FRONT, DIGITAL,
        400_000, "application completed", 150, (0.0004, 0.0008, 0.0012), 480_000, 5_000, 28, (), 2, SP,
        "Fix contrast, screen-reader labels and keyboard traps on the 140 most used pages "
        "and screens, as the European Accessibility Act requires.",
        mandatory=True),
    Row("CX-M03", "Support for customers in vulnerable circumstances", GET_HELP, BRANCH, EVERYDAY, FRONT, OPERATIONS,
        25_000, "complaint avoided", 350, (0.005, 0.01, 0.015), 420_000, 15_000, 18, ((CONTACT_CENTRE, 8),), 2, SP,
        "Record a customer's needs once, with consent, so every branch and agent adapts; "
        "committed to the regulator after the 2026 review.",
        mandatory=True),
    # --- Discover -------------------------------------------------------------------------------
    Row("CX-101", "Mortgage affordability calculator", DISCOVER, WEB, MORTGAGES, FRONT, DIGITAL,
        80_000, "mortgage completed", 3_500, (0.0004, 0.0007, 0.0011), 300_000, 8_000, 20, (), 1, LSP,
        "Show what a household can borrow and what it would pay, before anyone fills in a "
        "form, with a button to book an adviser."),
    Row("CX-102", "Personalised offers in the app", DISCOVER, APP, CARDS, FRONT, DIGITAL,
        600_000, "card or loan taken", 250, (0.0008, 0.0015, 0.0025), 500_000, 20_000, 30, ((DATA, 10),), 2, LSP,
        "Offer a card, loan or overdraft only to customers the data says it suits, at the "
        "moment it is relevant, instead of banner campaigns.",
        requires=("CX-B01",)),
    Row("CX-103", "Product pages rebuilt for search", DISCOVER, WEB, EVERYDAY, FRONT, DIGITAL,
        250_000, "account opened", 300, (0.0004, 0.0008, 0.0012), 250_000, 5_000, 20, (), 1, LSP,
        "Rewrite the account, card and savings pages in plain words with clear fees, so "
        "people comparing banks find and trust them."),
    Row("CX-104", "Online booking of adviser appointments", DISCOVER, WEB, MORTGAGES, FRONT, DIGITAL,
        40_000, "mortgage completed", 3_500, (0.0002, 0.0003, 0.0005), 150_000, 5_000, 10, ((OPERATIONS, 5),), 1, LSP,
        "Book a branch or video slot with a mortgage adviser from the website, with "
        "reminders, instead of calling the branch."),
    # --- Choose ---------------------------------------------------------------------------------
    Row("CX-201", "Side-by-side account comparison", CHOOSE, WEB, EVERYDAY, FRONT, DIGITAL,
        150_000, "account opened", 300, (0.0005, 0.001, 0.0015), 180_000, 5_000, 15, (), 1, LSP,
        "Compare Northgate's current accounts with each other on fees, interest and "
        "benefits, and pick one in three questions."),
    Row("CX-202", "Mortgage decision in principle in ten minutes", CHOOSE, WEB, MORTGAGES, FRONT, DIGITAL,
        30_000, "mortgage completed", 3_500, (0.0015, 0.003, 0.0045), 700_000, 25_000, 35, ((DATA, 10),), 2, LSP,
        "Give a firm decision in principle online using verified income, so buyers can make "
        "an offer on a house the same day.",
        requires=("CX-B06",)),
    Row("CX-203", "Video appointments with mortgage advisers", CHOOSE, CONTACT, MORTGAGES, FRONT, CONTACT_CENTRE,
        12_000, "mortgage completed", 3_500, (0.002, 0.004, 0.006), 400_000, 40_000, 15, ((DIGITAL, 10),), 1, LSP,
        "Advisers in the contact centre meet customers by video in the evening, from any "
        "town, instead of a branch visit in office hours.",
        excludes=("CX-204",)),
    Row("CX-204", "Saturday mortgage advice in branches", CHOOSE, BRANCH, MORTGAGES, FRONT, OPERATIONS,
        10_000, "mortgage completed", 3_500, (0.0015, 0.003, 0.0045), 200_000, 60_000, 15, (), 1, LSP,
        "Open the 30 largest branches on Saturday mornings for mortgage appointments; the "
        "same advisers as video advice, so it is one or the other.",
        excludes=("CX-203",)),
    Row("CX-205", "Next-best-action prompts for branch staff", CHOOSE, BRANCH, CARDS, FRONT, OPERATIONS,
        150_000, "card or loan taken", 250, (0.0015, 0.003, 0.0045), 450_000, 15_000, 20, ((DATA, 15),), 2, LSP,
        "When a customer is at the counter, show staff the one product or fix that would "
        "help this customer most, and why.",
        requires=("CX-B01",)),
    # --- Buy ------------------------------------------------------------------------------------
    Row("CX-301", "Open a current account in the app in ten minutes", BUY, APP, EVERYDAY, FRONT, DIGITAL,
        90_000, "account opened", 300, (0.004, 0.008, 0.012), 800_000, 30_000, 40, ((DATA, 10),), 2, LSP,
        "A new customer downloads the app, proves who they are and has a working card in "
        "their phone wallet before they close it.",
        requires=("CX-B04",)),
    Row("CX-302", "Instant personal loan decision", BUY, APP, CARDS, FRONT, DIGITAL,
        60_000, "loan taken", 400, (0.003, 0.006, 0.009), 550_000, 20_000, 30, ((DATA, 10),), 2, LSP,
        "Decide a personal loan while the customer waits, using verified income, and pay "
        "it out the same minute.",
        requires=("CX-B06",)),
    Row("CX-303", "Online mortgage application with document upload", BUY, WEB, MORTGAGES, FRONT, DIGITAL,
        25_000, "mortgage completed", 3_500, (0.002, 0.004, 0.006), 1_200_000, 40_000, 50, ((OPERATIONS, 15),), 3, LSP,
        "Apply for a mortgage end to end online, upload documents, and follow progress "
        "instead of chasing the branch by phone.",
        requires=("CX-B04", "CX-B05")),
    Row("CX-304", "Credit card straight to the phone wallet", BUY, APP, CARDS, FRONT, DIGITAL,
        40_000, "card taken", 180, (0.005, 0.01, 0.015), 300_000, 10_000, 20, (), 1, LSP,
        "A newly approved card is usable in Apple Pay or Google Pay at once, without "
        "waiting a week for the plastic."),
    Row("CX-305", "Paperless account opening on branch tablets", BUY, BRANCH, EVERYDAY, FRONT, OPERATIONS,
        30_000, "account opened", 300, (0.003, 0.006, 0.009), 350_000, 20_000, 15, ((DIGITAL, 10),), 2, LSP,
        "Branch staff open accounts with the customer on a tablet with digital ID checks, "
        "instead of forms scanned at the end of the day.",
        requires=("CX-B04",)),
    # --- Use ------------------------------------------------------------------------------------
    Row("CX-401", "Spending insights and budgets in the app", USE, APP, EVERYDAY, FRONT, DIGITAL,
        700_000, "customer retained", 220, (0.0004, 0.0008, 0.0012), 450_000, 15_000, 30, ((DATA, 5),), 2, LSP,
        "Group spending by category as it happens, warn before an overdraft, and help set "
        "a monthly budget.",
        requires=("CX-B02",)),
    Row("CX-402", "Instant card freeze and real-time fraud alerts", USE, APP, CARDS, FRONT, DIGITAL,
        500_000, "fraud loss avoided", 400, (0.0003, 0.0006, 0.0009), 350_000, 15_000, 20, ((DATA, 10),), 1, LSP,
        "Alert the customer within seconds of an unusual payment and let them freeze the "
        "card with one tap, without calling.",
        requires=("CX-B02",)),
    Row("CX-403", "Mortgage overpayments online", USE, WEB, MORTGAGES, FRONT, DIGITAL,
        120_000, "call avoided", 6, (0.025, 0.05, 0.075), 200_000, 5_000, 15, ((OPERATIONS, 5),), 1, LSP,
        "Make a one-off or regular overpayment and see the new end date, instead of "
        "phoning the mortgage servicing team."),
    Row("CX-404", "Redesigned payments and transfers in the app", USE, APP, EVERYDAY, FRONT, DIGITAL,
        800_000, "call avoided", 6, (0.01, 0.02, 0.03), 600_000, 10_000, 45, (), 2, LSP,
        "Rebuild the most used screens: pay someone new, standing orders and international "
        "transfers, which cause most 'did my payment go?' calls."),
    # --- Get help -------------------------------------------------------------------------------
    Row("CX-501", "Chat assistant on a vendor platform", GET_HELP, APP, EVERYDAY, FRONT, DIGITAL,
        400_000, "call avoided", 6, (0.03, 0.06, 0.09), 400_000, 45_000, 20, ((CONTACT_CENTRE, 10),), 1, LSP,
        "Licence a ready-made assistant that answers the 200 commonest questions in the "
        "app; quick to launch, with a yearly licence fee.",
        excludes=("CX-502",)),
    Row("CX-502", "Chat assistant on the agent knowledge base", GET_HELP, APP, EVERYDAY, FRONT, DIGITAL,
        400_000, "call avoided", 6, (0.04, 0.08, 0.12), 650_000, 20_000, 35, ((CONTACT_CENTRE, 10),), 2, LSP,
        "Build the assistant on the same answers agents use, so the app and the phone "
        "never disagree; the alternative to the vendor assistant.",
        requires=("CX-B03",), excludes=("CX-501",)),
    Row("CX-503", "First-contact resolution programme", GET_HELP, CONTACT, EVERYDAY, FRONT, CONTACT_CENTRE,
        300_000, "repeat call avoided", 6, (0.04, 0.08, 0.12), 300_000, 10_000, 24, ((OPERATIONS, 5),), 1, LSP,
        "Give agents the authority and the answers to settle a query in the first call, "
        "and coach on calls that come back.",
        requires=("CX-B03",)),
    Row("CX-504", "Call-back instead of queueing", GET_HELP, CONTACT, EVERYDAY, FRONT, CONTACT_CENTRE,
        300_000, "repeat call avoided", 6, (0.015, 0.03, 0.045), 180_000, 12_000, 12, (), 1, LSP,
        "Offer a call-back slot when the wait is over three minutes, so customers stop "
        "hanging up and calling again."),
    Row("CX-505", "Complaint tracker in the app", GET_HELP, APP, EVERYDAY, FRONT, DIGITAL,
        12_000, "escalation avoided", 450, (0.0075, 0.015, 0.0225), 300_000, 10_000, 20, ((OPERATIONS, 10),), 1, LSP,
        "Show each complaint's status, owner and next step in the app, so customers need "
        "not chase and fewer go to the ombudsman.",
        requires=("CX-B05",)),
    Row("CX-506", "Bereavement and power-of-attorney service", GET_HELP, BRANCH, EVERYDAY, FRONT, OPERATIONS,
        6_000, "complaint avoided", 350, (0.015, 0.03, 0.045), 200_000, 15_000, 18, (), 1, LSP,
        "One named case handler for a family dealing with a death or a power of attorney, "
        "instead of repeating the story to each department."),
    Row("CX-507", "Branch answers from the knowledge base", GET_HELP, BRANCH, EVERYDAY, FRONT, OPERATIONS,
        200_000, "repeat visit avoided", 15, (0.01, 0.02, 0.03), 150_000, 5_000, 14, (), 1, LSP,
        "Branch staff answer from the same knowledge base as the contact centre, so a "
        "customer gets one answer wherever they ask.",
        requires=("CX-B03",)),
    # --- Renew or leave -------------------------------------------------------------------------
    Row("CX-601", "Rate-switch reminder before a fixed rate ends", RENEW, APP, MORTGAGES, FRONT, DIGITAL,
        5_000, "mortgage retained", 2_800, (0.01, 0.02, 0.03), 400_000, 15_000, 25, ((DATA, 10),), 1, LSP,
        "Ninety days before a fixed rate ends, show the customer their new rate options and "
        "switch in two taps, before a broker calls them.",
        requires=("CX-B01",)),
    Row("CX-602", "Proactive retention calls to customers at risk", RENEW, CONTACT, EVERYDAY, FRONT, CONTACT_CENTRE,
        20_000, "customer retained", 220, (0.02, 0.04, 0.06), 250_000, 60_000, 20, (), 1, LSP,
        "Agents call customers the churn model flags, to fix what is wrong before they "
        "move their salary elsewhere.",
        requires=("CX-B07",)),
    Row("CX-603", "Savings maturity rollover in the app", RENEW, APP, EVERYDAY, FRONT, DIGITAL,
        30_000, "deposit retained", 120, (0.015, 0.03, 0.045), 250_000, 5_000, 15, (), 1, LSP,
        "When a fixed-term deposit matures, show the best rate we offer and roll it over "
        "with one tap, instead of a letter."),
    Row("CX-604", "Exit conversation and win-back offer", RENEW, CONTACT, EVERYDAY, FRONT, CONTACT_CENTRE,
        9_000, "customer won back", 220, (0.02, 0.04, 0.06), 150_000, 20_000, 10, (), 1, LSP,
        "When a customer asks to close an account, a trained agent asks why and, where it "
        "fits, offers to fix the cause."),
    Row("CX-605", "Card upgrade offer at renewal", RENEW, APP, CARDS, FRONT, DIGITAL,
        50_000, "upgrade taken", 90, (0.01, 0.02, 0.03), 200_000, 5_000, 15, (), 1, LSP,
        "When a card is due for renewal, offer the card that fits how the customer spends, "
        "with the fee difference stated plainly."),
)


# Executives accountable for journeys across channels and product lines (people, not teams).
WHITFIELD = "Sarah Whitfield, Director of Everyday Banking"
OKORO = "James Okoro, Managing Director, Mortgages"
MARSH = "Elena Marsh, Director of Cards and Lending"
REYES = "Daniel Reyes, Chief Customer Officer"
LIU = "Grace Liu, Director of Fraud and Financial Crime"
BAPTISTE = "Tom Baptiste, Chief Digital Officer"
PETROVA = "Nadia Petrova, Chief Data Officer"

# Northgate's customer journeys, as a retail bank names them, each with its owner. The app
# chat assistants sit in "Resolve a problem" but the digital channel still owns them: the
# split ownership the experience view reports.
JOURNEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Open an account": (WHITFIELD, ("CX-B04", "CX-103", "CX-201", "CX-301", "CX-305")),
    "Get a mortgage": (OKORO, ("CX-B05", "CX-101", "CX-104", "CX-202", "CX-203", "CX-204", "CX-303")),
    "Manage my mortgage": (OKORO, ("CX-403", "CX-601")),
    "Get a credit card or loan": (MARSH, ("CX-B06", "CX-102", "CX-205", "CX-302", "CX-304", "CX-605")),
    "Pay and manage money": (WHITFIELD, ("CX-B02", "CX-M01", "CX-401", "CX-404")),
    "Report fraud or a lost card": (LIU, ("CX-402",)),
    "Resolve a problem": (REYES, ("CX-B03", "CX-M03", "CX-501", "CX-502", "CX-503", "CX-504", "CX-505", "CX-507")),
    "Stay or leave": (REYES, ("CX-B07", "CX-602", "CX-604")),
}
# Sponsors of the work in no journey (one-offs): the shared customer data platform, the
# accessibility programme, and two single fixes.
ONE_OFF_OWNERS: dict[str, str] = {
    "CX-B01": PETROVA, "CX-M02": BAPTISTE, "CX-506": REYES, "CX-603": WHITFIELD,
}
SPLIT_OWNERS: dict[str, str] = {"CX-501": BAPTISTE, "CX-502": BAPTISTE}
# Experiences that reach the same customers at the same stage from different angles: their
# uplifts do not add up (the optimiser does not model overlap yet, so the plan is unchanged).
OVERLAP_GROUPS: dict[str, tuple[str, ...]] = {
    "Repeat calls": ("CX-B03", "CX-503", "CX-504"),
    "New current accounts": ("CX-301", "CX-305"),
    "Customers about to leave": ("CX-602", "CX-604"),
}


def journey_of(identifier: str) -> tuple[str, str]:
    """(journey, owner) of an experience: its journey's owner unless it is owned apart; no journey for a one-off."""
    for journey, (owner, members) in JOURNEYS.items():
        if identifier in members:
            return journey, SPLIT_OWNERS.get(identifier, owner)
    return "", ONE_OFF_OWNERS.get(identifier, "")


def overlap_group_of(identifier: str) -> str:
    return next((group for group, members in OVERLAP_GROUPS.items() if identifier in members), "")


def funding_option(row: Row, tier_name: str) -> FundingOption:
    """The option `tier_name` of an experience, scaled from its standard option."""
    tier = TIERS[tier_name]
    attention = ((row.team, row.weeks * tier.weeks),) + tuple(
        (team, weeks * tier.weeks) for team, weeks in row.support
    )
    return FundingOption(
        name=tier_name,
        one_off_cost=round(row.cost * tier.cost, -3),
        run_cost_per_quarter=round(row.run * tier.run, -2),
        attention=tuple((team, round(weeks, 1)) for team, weeks in attention),
        delivery_quarters=max(1, row.quarters + tier.extra_quarters),
        uplift_share=tier.share,
    )


def experience(row: Row) -> Experience:
    low, base, high = row.uplift
    return Experience(
        id=row.id,
        name=row.name,
        journey_stage=row.stage,
        channel=row.channel,
        product_line=row.product,
        layer=row.layer,
        team=row.team,
        reach_per_quarter=float(row.reach),
        outcome=row.outcome,
        value_per_outcome=float(row.value),
        uplift_low=low,
        uplift_base=base,
        uplift_high=high,
        options=tuple(funding_option(row, tier) for tier in row.tiers),
        mandatory=row.mandatory,
        requires=row.requires,
        excludes=row.excludes,
        earliest_start=row.earliest,
        description=row.description,
        journey=journey_of(row.id)[0],
        owner=journey_of(row.id)[1],
        overlap_group=overlap_group_of(row.id),
    )


def example_portfolio() -> Portfolio:
    """Northgate Bank's portfolio, validated."""
    # Northgate's finance team counts two years of benefits after the plan (tail), since an
    # experience launched in 2028 keeps earning, and lets new experiences ramp up over one
    # quarter, since customers take time to find a new feature.
    # The stage order is the default one, written out so the workbook shows the setting.
    settings = Settings(first_quarter="2027Q1", horizon_quarters=8, ramp_quarters=1, tail_quarters=8,
                        journey_stages=(DISCOVER, CHOOSE, BUY, USE, GET_HELP, RENEW))
    portfolio = Portfolio(
        experiences=tuple(experience(row) for row in ROWS),
        teams=tuple(Team(name, capacity) for name, capacity in TEAM_CAPACITY.items()),
        budget=(BUDGET_PER_QUARTER,) * settings.horizon_quarters,
        settings=settings,
        total_budget=TOTAL_BUDGET,
    )
    return validate_portfolio(portfolio)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=WORKBOOK, help="workbook to write")
    args = parser.parse_args()
    from planner.inputs.workbook_writer import write_portfolio  # written by another module; imported late on purpose

    write_portfolio(example_portfolio(), args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
