"""Harbour Lane Café: a Wellington café with a strong summer peak.

Planted: the coffee roaster's price rise two months before the last closed month (COGS over
budget since), and power bills budgeted flat while they peak in winter.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from core.months import add_months, days_in_month, month_key
from integrations.xero.sandbox.model import SandboxOrganisation
from integrations.xero.sandbox.orgs.budget import BudgetPlan, add_overall_budget, budget_months
from integrations.xero.sandbox.orgs.builder import ZERO, OrgBuilder, money
from integrations.xero.sandbox.orgs.chart import COMMON_OVERHEADS, RETIREMENT_ACCOUNT, spec
from integrations.xero.sandbox.orgs.ledger import profit_and_loss_by_month

KEY = "cafe"
YEAR_END_MONTH = 3
# Takings by calendar month: a southern-hemisphere café peaks in summer and dips in winter.
SEASON = (1.32, 1.28, 1.12, 0.98, 0.86, 0.76, 0.74, 0.78, 0.88, 0.98, 1.10, 1.30)
# Power bills run the other way: heating in winter.
POWER_SEASON = (0.78, 0.76, 0.84, 0.98, 1.18, 1.42, 1.50, 1.40, 1.14, 0.96, 0.84, 0.78)
WEEKDAY = (0.86, 0.9, 0.94, 1.0, 1.12, 1.3, 1.16)  # Monday first
COFFEE_PRICE = Decimal("38.50")  # per kg, before the roaster's rise
COFFEE_PRICE_RISEN = Decimal("47.20")
PRODUCE_SUPPLIERS = (
    ("Southern Dairy Co-op", "Milk and cream", 0.26),
    ("Fresh Fields Produce", "Fruit, vegetables and eggs", 0.24),
    ("Crumb & Co Wholesale Bakery", "Bread, pastries and cabinet baking", 0.22),
)
COFFEE_SHARE = 0.28  # of cost of goods, the rest is the produce suppliers above
CATERING_CLIENTS = (
    "Wellington Regional Council",
    "Kauri Law Partners",
    "Tidewater Architects Ltd",
    "Aro Valley Community Trust",
    "Pōneke Digital Ltd",
    "Seatoun Physiotherapy",
)
CATERING_EVENTS = (
    "Board lunch",
    "Staff morning tea",
    "Client breakfast",
    "Workshop lunch",
    "Farewell afternoon tea",
)

ACCOUNTS = (
    spec("200", "Sales", "REVENUE", "sales"),
    spec("210", "Catering Sales", "REVENUE", "sales"),
    spec("310", "Cost of Goods Sold", "DIRECTCOSTS", "purchases"),
    *COMMON_OVERHEADS,
    RETIREMENT_ACCOUNT["NZ"],
)


def build(*, seed: int, today: dt.date) -> SandboxOrganisation:
    builder = OrgBuilder(key=KEY, seed=seed, today=today, country="NZ")
    builder.add_balance_sheet(bank_name="ANZ Business Account")
    builder.add_accounts(ACCOUNTS)
    price_rise_from = add_months(builder.last_closed, -2)
    for index, month in enumerate(builder.months):
        trend = 1.04 ** (index / 12)  # a steady 4% a year from a loyal local crowd
        takings = _card_takings(builder, month, trend)
        catering = _catering(builder, month, trend)
        _cost_of_goods(builder, month, (takings + catering) * 0.31, price_rise_from)
        _overheads(builder, month, trend, takings)
    plan = BudgetPlan(
        growth=Decimal("0.05"),
        account_growth={"469": Decimal("0.03")},
        flat_codes=frozenset({"445"}),
        notes={
            "200": "Prior year +5%: new breakfast menu",
            "469": "Rent review each April, +3%",
            "445": "Power spread evenly across the year",
        },
    )
    budget = add_overall_budget(builder, year_end_month=YEAR_END_MONTH, plan=plan)
    _plant_flat_power_budget(builder, budget.lines[builder.account("445").account_id])
    return builder.organisation(
        name="Harbour Lane Café",
        legal_name="Harbour Lane Café Limited",
        year_end_month=YEAR_END_MONTH,
    )


def _card_takings(builder: OrgBuilder, month: dt.date, trend: float) -> float:
    rng = builder.rng
    windcave = builder.contact("Windcave Card Settlements")
    sales = builder.account("200")
    total = 0.0
    for day in range(1, days_in_month(month) + 1):
        date = builder.date_in(month, day)
        if date is None or (date.month, date.day) == (12, 25):
            continue
        amount = (
            1480 * SEASON[month.month - 1] * WEEKDAY[date.weekday()] * trend * rng.gauss(1, 0.07)
        )
        line = builder.line(sales, f"Card takings {date:%d %b %Y}", money(amount))
        builder.add_document(
            type_="RECEIVE", contact=windcave, date=date, lines=[line], reference="Daily settlement"
        )
        total += amount
    return total


def _catering(builder: OrgBuilder, month: dt.date, trend: float) -> float:
    rng = builder.rng
    catering = builder.account("210")
    # Office Christmas functions fill November and December.
    orders = rng.randint(2, 4) + (4 if month.month in (11, 12) else 0)
    total = 0.0
    for _ in range(orders):
        date = builder.date_in(month, rng.randint(1, 28))
        if date is None:
            continue
        event = "Christmas function" if month.month in (11, 12) else rng.choice(CATERING_EVENTS)
        amount = money(rng.uniform(380, 2300) * trend)
        client = builder.contact(rng.choice(CATERING_CLIENTS))
        builder.add_document(
            type_="ACCREC",
            contact=client,
            date=date,
            lines=[builder.line(catering, f"Catering: {event}", amount)],
            reference=event,
        )
        total += float(amount)
        if rng.random() < 0.04:
            credit = money(float(amount) * rng.uniform(0.08, 0.2))
            builder.add_document(
                type_="ACCRECCREDIT",
                contact=client,
                date=date,
                lines=[builder.line(catering, "Credit: items short on delivery", credit)],
                reference=event,
            )
            total -= float(credit)
    return total


def _cost_of_goods(
    builder: OrgBuilder, month: dt.date, cost: float, price_rise_from: dt.date
) -> None:
    rng = builder.rng
    cogs = builder.account("310")
    roaster = builder.contact("Harbourside Coffee Roasters")
    price = COFFEE_PRICE_RISEN if month >= price_rise_from else COFFEE_PRICE
    kilograms_bought = ZERO
    for day in (4, 11, 18, 25):
        date = builder.date_in(month, day)
        if date is None:
            continue
        kilograms = Decimal(
            max(1, round(cost * COFFEE_SHARE / 4 / float(COFFEE_PRICE) * rng.gauss(1, 0.05)))
        )
        kilograms_bought += kilograms
        line = builder.line(
            cogs,
            f"Espresso blend, 1 kg bags @ {price}",
            money(kilograms * price),
            quantity=kilograms,
        )
        builder.add_document(
            type_="ACCPAY",
            contact=roaster,
            date=date,
            lines=[line],
            number=builder.supplier_number("HCR"),
            reference="Weekly coffee order",
        )
        for supplier, description, share in PRODUCE_SUPPLIERS:
            amount = money(cost * share / 4 * rng.gauss(1, 0.06))
            builder.add_document(
                type_="ACCPAY",
                contact=builder.contact(supplier),
                date=date,
                lines=[builder.line(cogs, description, amount)],
                number=builder.supplier_number(supplier[:2].upper()),
                reference="Weekly order",
            )
    if rng.random() < 0.06:
        credit = cost * 0.01 * rng.uniform(0.5, 1.5)
        builder.post(
            month,
            [
                (
                    "ACCPAYCREDIT",
                    26,
                    "310",
                    "Fresh Fields Produce",
                    "Credit: spoiled produce",
                    credit,
                )
            ],
        )
    if price_rise_from <= month <= builder.last_closed:
        builder.plant(
            account=cogs,
            month=month,
            kind="price_rise",
            contact=roaster,
            amount=money(kilograms_bought * (COFFEE_PRICE_RISEN - COFFEE_PRICE)),
            baseline=money(kilograms_bought * COFFEE_PRICE),
            description=(
                f"Harbourside Coffee Roasters raised espresso beans from {COFFEE_PRICE} to "
                f"{COFFEE_PRICE_RISEN} a kg from {month_key(price_rise_from)}"
            ),
        )


def _overheads(builder: OrgBuilder, month: dt.date, trend: float, takings: float) -> None:
    rng = builder.rng
    # Casual staff follow the season; the core team does not.
    wages = 21500 * (0.62 + 0.38 * SEASON[month.month - 1]) * trend
    rent_reviews = ((month.year - 2020) * 12 + month.month - 4) // 12  # the lease reviews in April
    power = 1150 * POWER_SEASON[month.month - 1] * rng.gauss(1, 0.04)
    builder.post(
        month,
        [
            ("SPEND", 15, "477", "Harbour Lane Payroll", "Wages", wages / 2 * rng.gauss(1, 0.02)),
            ("SPEND", 31, "477", "Harbour Lane Payroll", "Wages", wages / 2 * rng.gauss(1, 0.02)),
            (
                "SPEND",
                20,
                "478",
                "Inland Revenue",
                "Employer KiwiSaver contributions",
                wages * 0.03,
            ),
            (
                "SPEND",
                31,
                "404",
                "Windcave Card Settlements",
                "Merchant service fees",
                takings * 0.011,
            ),
            ("ACCPAY", 1, "469", "Lambton Quay Property Trust", "Rent", 6200 * 1.03**rent_reviews),
            ("ACCPAY", 12, "445", "Meridian Energy", "Electricity", power),
            ("ACCPAY", 28, "408", "Sparkle Commercial Cleaning", "Kitchen and floor clean", 780),
            ("ACCPAY", 8, "433", "Tui Mutual Insurance", "Business insurance", 412),
            ("ACCPAY", 5, "489", "One NZ", "Phone and fibre", 149),
            ("ACCPAY", 2, "485", "Lightspeed POS", "Point of sale subscription", 189),
            (
                "SPEND",
                22,
                "400",
                "Meta Platforms Ireland",
                "Instagram promotion",
                rng.uniform(140, 380),
            ),
        ],
    )
    if month.month in (1, 4, 7, 10):
        builder.post(
            month,
            [
                (
                    "ACCPAY",
                    14,
                    "412",
                    "Bennett & Co Chartered Accountants",
                    "Quarterly accounts and GST",
                    1650,
                )
            ],
        )
    if rng.random() < 0.35:
        repair = rng.uniform(180, 950)
        builder.post(
            month,
            [
                (
                    "ACCPAY",
                    rng.randint(1, 28),
                    "473",
                    "Coffee Tech Services",
                    "Espresso machine service",
                    repair,
                )
            ],
        )


def _plant_flat_power_budget(builder: OrgBuilder, power_budget: dict[str, Decimal]) -> None:
    """Power was budgeted as a flat twelfth; record the closed months where winter shows."""
    power = builder.account("445")
    actuals = profit_and_loss_by_month([power], builder.documents).get(power.account_id, {})
    for month in budget_months(builder, YEAR_END_MONTH):
        if month > builder.last_closed:
            break
        planned = power_budget[month_key(month)]
        actual = actuals.get(month_key(month), ZERO)
        if abs(actual - planned) >= planned * Decimal("0.15"):
            builder.plant(
                account=power,
                month=month,
                kind="seasonal",
                contact=builder.contact("Meridian Energy"),
                amount=actual - planned,
                baseline=planned,
                description="Power budgeted flat across the year; winter heating runs above it",
            )
