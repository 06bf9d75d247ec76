"""Tidemark Homewares: a UK importer buying in US dollars and euros, selling in pounds.

Planted: the Portuguese ceramics supplier's price rise two months before the last closed month
(euro bills 12% dearer), and demurrage on a held container in the last closed month.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from core.months import add_months, days_in_month, month_key
from integrations.xero.sandbox.model import SandboxOrganisation
from integrations.xero.sandbox.orgs.budget import BudgetPlan, add_overall_budget
from integrations.xero.sandbox.orgs.builder import ZERO, OrgBuilder, money
from integrations.xero.sandbox.orgs.chart import COMMON_OVERHEADS, RETIREMENT_ACCOUNT, spec

KEY = "importer"
YEAR_END_MONTH = 12
# Homewares sell for Christmas: the autumn build-up and a quiet January.
SEASON = (0.72, 0.78, 0.9, 0.92, 0.95, 0.92, 0.88, 0.9, 1.02, 1.18, 1.42, 1.41)
PRICE_RISE = Decimal("1.12")
DEMURRAGE = Decimal("6850.00")
FREIGHT_FORWARDER = "Bluewater Freight Forwarding Ltd"
CERAMICS = "Cerâmica do Norte, Lda"


@dataclass(frozen=True)
class Supplier:
    name: str
    currency: str
    goods: str
    share: float  # of purchases


SUPPLIERS = (
    Supplier("Shenzhen Brightstar Trading Co., Ltd", "USD", "Glassware and lighting", 0.34),
    Supplier("Guangzhou Lotus Furniture Co.", "USD", "Occasional furniture", 0.26),
    Supplier(CERAMICS, "EUR", "Stoneware tableware", 0.24),
    Supplier("Hansa Textil GmbH", "EUR", "Linen and cushions", 0.16),
)
RETAILERS = (
    "Oak & Ivy Interiors Ltd",
    "The Linen Press",
    "Coastal Living Stores Ltd",
    "Harrowgate Department Store",
    "Willow & Stone Ltd",
    "Northern Nest Homeware",
)
# Pounds per unit of each currency move a little every month; Xero's CurrencyRate is the
# foreign units per pound.
OPENING_RATES = {"USD": 1.27, "EUR": 1.17}

ACCOUNTS = (
    spec("200", "Sales - Wholesale", "REVENUE", "sales"),
    spec("205", "Sales - Online", "REVENUE", "sales"),
    spec("310", "Cost of Goods Sold", "DIRECTCOSTS"),
    spec("315", "Import Duty", "DIRECTCOSTS"),
    spec("320", "Inbound Freight", "DIRECTCOSTS", "purchases"),
    spec("425", "Freight & Courier", "OVERHEADS", "purchases"),
    *COMMON_OVERHEADS,
    RETIREMENT_ACCOUNT["GB"],
    spec("497", "Bank Revaluations", "OVERHEADS", system="BANKCURRENCYGAIN"),
    spec("498", "Unrealised Currency Gains", "OVERHEADS", system="UNREALISEDCURRENCYGAIN"),
    spec("499", "Realised Currency Gains", "OVERHEADS", system="REALISEDCURRENCYGAIN"),
)


def build(*, seed: int, today: dt.date) -> SandboxOrganisation:
    builder = OrgBuilder(key=KEY, seed=seed, today=today, country="GB")
    builder.add_balance_sheet(bank_name="Barclays Business Current Account")
    builder.add_accounts(ACCOUNTS)
    rates = _monthly_rates(builder)
    price_rise_from = add_months(builder.last_closed, -2)
    for index, month in enumerate(builder.months):
        trend = 1.06 ** (index / 12)
        season = SEASON[month.month - 1]
        sales = _sales(builder, month, 136_000 * season * trend)
        # Stock is bought ahead of the season it sells in.
        ahead = SEASON[add_months(month, 2).month - 1]
        bought = _purchases(builder, month, 62_000 * ahead * trend, rates, price_rise_from)
        _landing_costs(builder, month, bought)
        _currency_result(builder, month, rates)
        _overheads(builder, month, sales)
    _demurrage(builder)
    plan = BudgetPlan(
        growth=Decimal("0.06"),
        account_growth={"469": Decimal(0)},
        skip_codes=frozenset({"497", "498", "499"}),
        notes={
            "310": "Supplier prices held at last year's levels",
            "320": "Twelve containers a year",
        },
    )
    add_overall_budget(builder, year_end_month=YEAR_END_MONTH, plan=plan)
    organisation = builder.organisation(
        name="Tidemark Homewares",
        legal_name="Tidemark Homewares Ltd",
        year_end_month=YEAR_END_MONTH,
        currencies=("USD", "EUR"),
    )
    # Xero would group 497-499 into one FXGROUPID row for a UK organisation. Kept as separate
    # account rows until the product's sync reads FXGROUPID (issue #22); the `alpine`
    # organisation (opt-in) shows the grouped row.
    organisation.groups_currency_accounts = False
    return organisation


def _monthly_rates(builder: OrgBuilder) -> dict[tuple[str, dt.date], Decimal]:
    rates: dict[tuple[str, dt.date], Decimal] = {}
    for currency, rate in OPENING_RATES.items():
        for month in [*builder.months, add_months(builder.current_month, 1)]:
            rate *= builder.rng.gauss(1, 0.012)
            rates[(currency, month)] = Decimal(f"{rate:.6f}")
    return rates


def _sales(builder: OrgBuilder, month: dt.date, total: float) -> float:
    rng = builder.rng
    order = total * 0.7 / 8  # wholesale: two retailers order each week
    entries = [
        (
            "ACCREC",
            day,
            "200",
            retailer,
            "Homewares per order confirmation",
            order * rng.gauss(1, 0.08),
        )
        for day in (6, 13, 20, 27)
        for retailer in rng.sample(RETAILERS, 2)
    ]
    payout = total * 0.3 / 4
    entries += [
        (
            "RECEIVE",
            day,
            "205",
            "Shopify Payments",
            "Online store payout",
            payout * rng.gauss(1, 0.08),
        )
        for day in range(7, days_in_month(month) + 1, 7)
    ]
    if rng.random() < 0.1:
        breakages = rng.uniform(120, 900)
        retailer = rng.choice(RETAILERS)
        entries.append(
            ("ACCRECCREDIT", 16, "200", retailer, "Credit: breakages in transit", breakages)
        )
    builder.post(month, entries)
    return total


def _purchases(
    builder: OrgBuilder,
    month: dt.date,
    total: float,
    rates: dict[tuple[str, dt.date], Decimal],
    price_rise_from: dt.date,
) -> Decimal:
    """Supplier bills in their own currency; returns what they cost in pounds."""
    rng = builder.rng
    cogs = builder.account("310")
    bought = ZERO
    for supplier in SUPPLIERS:
        date = builder.date_in(month, 10 + SUPPLIERS.index(supplier) * 4)
        if date is None:
            continue
        rate = rates[(supplier.currency, month)]
        cartons = Decimal(max(1, round(total * supplier.share * rng.gauss(1, 0.1) / 140)))
        # Planned in pounds first so the base amount is exact; the foreign amount follows.
        usual = money(cartons * 140)
        risen = supplier.name == CERAMICS and month >= price_rise_from
        line = builder.line(
            cogs,
            f"{supplier.goods}, {cartons} cartons",
            money(usual * PRICE_RISE) if risen else usual,
            quantity=cartons,
            currency_rate=rate,
        )
        builder.add_document(
            type_="ACCPAY",
            contact=builder.contact(supplier.name),
            date=date,
            lines=[line],
            number=builder.supplier_number(supplier.name[:3].upper()),
            reference=f"PO {month:%y%m}-{SUPPLIERS.index(supplier) + 1}",
            currency=supplier.currency,
            currency_rate=rate,
        )
        bought += line.base_amount
        if risen and month <= builder.last_closed:
            builder.plant(
                account=cogs,
                month=month,
                kind="price_rise",
                contact=builder.contact(supplier.name),
                amount=line.base_amount - usual,
                baseline=usual,
                description=f"{CERAMICS} raised euro prices 12% from {month_key(price_rise_from)}",
            )
    return bought


def _landing_costs(builder: OrgBuilder, month: dt.date, bought: Decimal) -> None:
    freight, duty = bought * Decimal("0.075"), bought * Decimal("0.04")
    builder.post(
        month,
        [
            (
                "ACCPAY",
                24,
                "320",
                FREIGHT_FORWARDER,
                "Ocean freight and clearance, Felixstowe",
                freight,
            ),
            ("SPEND", 25, "315", "HM Revenue & Customs", "Import duty", duty),
        ],
    )


def _currency_result(
    builder: OrgBuilder, month: dt.date, rates: dict[tuple[str, dt.date], Decimal]
) -> None:
    """Bills are paid the following month at that month's rate; the difference is realised."""
    previous = add_months(month, -1)
    result = ZERO
    for document in builder.documents:
        if (
            document.currency_code == builder.country.currency
            or document.date < previous
            or document.date >= month
        ):
            continue
        paid_rate = rates[(document.currency_code, month)]
        for line in document.lines:
            result += money(line.line_amount / paid_rate) - line.base_amount
    if not result:
        return
    kind, type_ = ("loss", "SPEND") if result > 0 else ("gain", "RECEIVE")
    description = f"Realised currency {kind} on supplier payments"
    bank = "Barclays International Payments"
    builder.post(month, [(type_, 15, "499", bank, description, abs(result))])


def _overheads(builder: OrgBuilder, month: dt.date, sales: float) -> None:
    rng = builder.rng
    wages = 31000 * rng.gauss(1, 0.02)
    parcels, power, ads = (
        sales * 0.035 * rng.gauss(1, 0.05),
        1400 * rng.gauss(1, 0.06),
        2600 * rng.gauss(1, 0.12),
    )
    builder.post(
        month,
        [
            ("SPEND", 28, "477", "Tidemark Payroll", "Salaries and warehouse wages", wages),
            ("SPEND", 28, "478", "NEST Pensions", "Workplace pension contributions", wages * 0.03),
            ("ACCPAY", 1, "469", "Segro Park Tilbury", "Warehouse unit rent", 7400),
            ("ACCPAY", 18, "425", "DPD Local", "Outbound parcels", parcels),
            (
                "SPEND",
                5,
                "404",
                "Barclays International Payments",
                "Payment fees",
                180 + sales * 0.001,
            ),
            ("ACCPAY", 12, "445", "Octopus Energy for Business", "Warehouse electricity", power),
            ("ACCPAY", 3, "433", "Castle Underwriting", "Stock and goods in transit cover", 980),
            ("ACCPAY", 20, "400", "Meta Platforms Ireland", "Social ads", ads),
            ("ACCPAY", 9, "412", "Pemberton Hale Accountants", "Bookkeeping and VAT", 780),
        ],
    )


def _demurrage(builder: OrgBuilder) -> None:
    month = builder.last_closed
    forwarder = builder.contact(FREIGHT_FORWARDER)
    freight = builder.account("320")
    usual = builder.contact_total(forwarder, freight, month)
    builder.simple_document(
        "ACCPAY",
        month,
        26,
        code="320",
        contact=FREIGHT_FORWARDER,
        description="Demurrage: container held at Felixstowe for customs inspection",
        amount=DEMURRAGE,
    )
    builder.plant(
        account=freight,
        month=month,
        kind="one_off",
        contact=forwarder,
        amount=DEMURRAGE,
        baseline=usual,
        description=f"Demurrage from {FREIGHT_FORWARDER} on a container held for inspection",
    )
