"""Small organisations for performance work: a few hundred documents each, built in milliseconds.

Each is a plausible small client of an accounting firm (a plumber, a dental practice, a bakery)
with a named customer base, a handful of suppliers, an overall budget and one planted one-off in
the last closed month.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from integrations.xero.sandbox.model import SandboxOrganisation
from integrations.xero.sandbox.orgs.budget import BudgetPlan, add_overall_budget
from integrations.xero.sandbox.orgs.builder import OrgBuilder
from integrations.xero.sandbox.orgs.chart import COMMON_OVERHEADS, RETIREMENT_ACCOUNT, spec
from integrations.xero.sandbox.orgs.names import PLACES, company_names

FLAT = (1.0,) * 12
SUMMER_SOUTH = (1.25, 1.2, 1.1, 0.95, 0.85, 0.8, 0.8, 0.85, 0.95, 1.05, 1.1, 1.1)
SUMMER_NORTH = SUMMER_SOUTH[6:] + SUMMER_SOUTH[:6]


@dataclass(frozen=True)
class Trade:
    name: str  # as in the business name
    revenue: str  # the revenue account's name
    level: float  # revenue a month
    cost_share: float  # of revenue, bought from the supplier below (0 for services)
    supplier: str
    supplies: str
    seasonal: bool


TRADES = (
    Trade(
        "Plumbing", "Plumbing Services", 48_000, 0.28, "Plumbing World", "Fittings and pipe", False
    ),
    Trade("Dental", "Patient Fees", 95_000, 0.07, "Henry Schein", "Dental consumables", False),
    Trade("Bakery", "Sales", 38_000, 0.34, "Champion Flour Mills", "Flour and ingredients", True),
    Trade("Accounting", "Fee Income", 62_000, 0.0, "", "", False),
    Trade(
        "Landscapes",
        "Landscaping Income",
        41_000,
        0.3,
        "Oderings Garden Supplies",
        "Plants and materials",
        True,
    ),
    Trade(
        "Physiotherapy",
        "Consultation Fees",
        33_000,
        0.04,
        "Physio Direct",
        "Clinic supplies",
        False,
    ),
    Trade(
        "Electrical",
        "Electrical Services",
        52_000,
        0.26,
        "Ideal Electrical Supplies",
        "Cable and fittings",
        False,
    ),
    Trade("Books", "Sales", 29_000, 0.55, "Peribo Book Distribution", "Books for resale", True),
)
LEGAL_SUFFIX = {"NZ": "Limited", "AU": "Pty Ltd", "GB": "Ltd"}
POWER = {"NZ": "Mercury Energy", "AU": "AGL Energy", "GB": "Octopus Energy for Business"}
TELCO = {"NZ": "Spark Business", "AU": "Telstra", "GB": "BT Business"}
RETIREMENT_SCHEME = {
    "NZ": "Inland Revenue",
    "AU": "Beam Super Clearing House",
    "GB": "NEST Pensions",
}
DISTRICTS = ("Central", "North", "South", "East", "West")
YEAR_ENDS = {"NZ": (3,), "AU": (6,), "GB": (3, 12, 6, 9)}


def build_many(*, count: int, seed: int, today: dt.date) -> list[SandboxOrganisation]:
    naming = random.Random(f"{seed}:small")
    names = [f"{place} {trade.name}" for place in PLACES for trade in TRADES]
    naming.shuffle(names)
    # A firm of 1,000 clients (bench/load.py) needs more than the place and trade pairs: the
    # same pairs again with a district, after the plain ones, so the first organisations of a
    # seed keep the names they always had. The trade stays last, as build() reads it there.
    more = [
        f"{place} {district} {trade.name}"
        for district in DISTRICTS
        for place in PLACES
        for trade in TRADES
    ]
    naming.shuffle(more)
    names += more
    if count > len(names):
        raise ValueError(f"at most {len(names)} small organisations have distinct names")
    return [
        build(key=f"small-{n + 1:03d}", name=names[n], seed=seed, today=today) for n in range(count)
    ]


def build(*, key: str, name: str, seed: int, today: dt.date) -> SandboxOrganisation:
    trade = next(t for t in TRADES if name.endswith(t.name))
    rng = random.Random(f"{seed}:{key}:country")
    country = rng.choice(("NZ", "AU", "GB"))
    year_end_month = rng.choice(YEAR_ENDS[country])
    builder = OrgBuilder(key=key, seed=seed, today=today, country=country)
    builder.add_balance_sheet(bank_name="Business Cheque Account")
    builder.add_accounts(
        (
            spec("200", trade.revenue, "REVENUE", "sales"),
            spec("310", "Cost of Goods Sold", "DIRECTCOSTS", "purchases"),
            *COMMON_OVERHEADS,
            RETIREMENT_ACCOUNT[country],
        )
    )
    customers = company_names(builder.rng, 8, suffix=LEGAL_SUFFIX[country], taken=set())
    season = FLAT if not trade.seasonal else SUMMER_NORTH if country == "GB" else SUMMER_SOUTH
    size = builder.rng.uniform(0.6, 1.6)
    for index, month in enumerate(builder.months):
        revenue = trade.level * size * season[month.month - 1] * 1.035 ** (index / 12)
        _month(builder, name, trade, month, revenue, customers)
    _one_off(builder, name)
    add_overall_budget(
        builder, year_end_month=year_end_month, plan=BudgetPlan(growth=Decimal("0.04"))
    )
    return builder.organisation(
        name=name, legal_name=f"{name} {LEGAL_SUFFIX[country]}", year_end_month=year_end_month
    )


def _month(
    builder: OrgBuilder,
    name: str,
    trade: Trade,
    month: dt.date,
    revenue: float,
    customers: list[str],
) -> None:
    rng = builder.rng
    country, place = builder.country.code, name.split()[0]
    wages = revenue * 0.34
    work = f"{trade.revenue}: work completed"
    sales = [revenue / 4 * rng.gauss(1, 0.12) for _ in range(4)]
    entries = [
        ("ACCREC", 7 * (n + 1), "200", rng.choice(customers), work, amount)
        for n, amount in enumerate(sales)
    ]
    if trade.cost_share:
        supplies = revenue * trade.cost_share * rng.gauss(1, 0.06)
        entries.append(("ACCPAY", 15, "310", trade.supplier, trade.supplies, supplies))
    retirement = RETIREMENT_SCHEME[country]
    entries += [
        ("SPEND", 27, "477", f"{name} Payroll", "Wages", wages * rng.gauss(1, 0.02)),
        ("SPEND", 27, "478", retirement, "Employer retirement contributions", wages * 0.03),
        ("ACCPAY", 1, "469", f"{place} Property Holdings", "Rent", revenue * 0.08),
        ("ACCPAY", 12, "445", POWER[country], "Electricity", revenue * 0.012 * rng.gauss(1, 0.08)),
        ("ACCPAY", 5, "489", TELCO[country], "Phone and internet", 189),
        ("ACCPAY", 10, "412", "Fairlie & Stone Accountants", "Bookkeeping and tax returns", 450),
    ]
    builder.post(month, entries)


def _one_off(builder: OrgBuilder, name: str) -> None:
    month = builder.last_closed
    contractor = builder.contact(f"{name.split()[0]} Mechanical Services")
    document = builder.simple_document(
        "ACCPAY",
        month,
        17,
        code="473",
        contact=contractor.name,
        description="Emergency equipment repair",
        amount=builder.rng.uniform(2000, 9000),
    )
    assert document is not None, "the last closed month is in the past"
    builder.plant(
        account=builder.account("473"),
        month=month,
        kind="one_off",
        contact=contractor,
        amount=document.lines[0].base_amount,
        description="Emergency equipment repair, not budgeted",
    )
