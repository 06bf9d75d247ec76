"""Tidepool Software: a Sydney SaaS business growing month on month.

Planted: an enterprise customer lost three months before the last closed month, a new
enterprise customer the month before it, and a one-off campaign from Brightwave Media in the
last closed month.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from core.months import add_months, month_key
from integrations.xero.sandbox.model import SandboxOrganisation
from integrations.xero.sandbox.orgs.budget import BudgetPlan, add_overall_budget
from integrations.xero.sandbox.orgs.builder import OrgBuilder, money
from integrations.xero.sandbox.orgs.chart import COMMON_OVERHEADS, RETIREMENT_ACCOUNT, spec
from integrations.xero.sandbox.orgs.names import company_names
from integrations.xero.sandbox.orgs.periods import southern_season

KEY = "saas"
YEAR_END_MONTH = 6
PLANS = (("Starter", 290), ("Team", 690), ("Business", 1490), ("Scale", 3200))
PLAN_WEIGHTS = (35, 35, 20, 10)
LOST_CUSTOMER = "Southern Cross Freight Pty Ltd"
LOST_FEE = Decimal("4950.00")
NEW_CUSTOMER = "Harbourview Health Group"
NEW_FEE = Decimal("6500.00")
CAMPAIGN_VENDOR = "Brightwave Media"
CAMPAIGN_AMOUNT = Decimal("18500.00")

ACCOUNTS = (
    spec("200", "Subscription Revenue", "REVENUE", "sales"),
    spec("210", "Implementation Fees", "REVENUE", "sales"),
    spec("310", "Hosting & Infrastructure", "DIRECTCOSTS", "purchases"),
    *COMMON_OVERHEADS,
    RETIREMENT_ACCOUNT["AU"],
    spec("493", "Travel - National", "OVERHEADS", "purchases"),
)


@dataclass
class Subscription:
    customer: str
    plan: str
    fee: Decimal


def build(*, seed: int, today: dt.date) -> SandboxOrganisation:
    builder = OrgBuilder(key=KEY, seed=seed, today=today, country="AU")
    builder.add_balance_sheet(bank_name="Westpac Business One")
    builder.add_accounts(ACCOUNTS)
    lost_from = add_months(builder.last_closed, -3)
    new_from = add_months(builder.last_closed, -1)
    subscriptions = _opening_subscriptions(builder)
    for index, month in enumerate(builder.months):
        _churn_and_sign_up(builder, month, subscriptions, lost_from=lost_from, new_from=new_from)
        revenue = _invoice_subscriptions(builder, month, subscriptions)
        _costs(builder, month, index, revenue)
    _plant_customers(builder, lost_from=lost_from, new_from=new_from)
    _campaign(builder)
    plan = BudgetPlan(
        growth=Decimal("0.06"),
        trend_codes=frozenset({"200", "310", "404"}),
        notes={
            "200": "Last year's growth rate continued",
            "400": "Google and LinkedIn ads only; no campaigns planned",
            "477": "Two engineering hires in the year",
        },
    )
    add_overall_budget(builder, year_end_month=YEAR_END_MONTH, plan=plan)
    return builder.organisation(
        name="Tidepool Software",
        legal_name="Tidepool Software Pty Ltd",
        year_end_month=YEAR_END_MONTH,
    )


def _opening_subscriptions(builder: OrgBuilder) -> list[Subscription]:
    names = company_names(builder.rng, 60, suffix="Pty Ltd", taken={LOST_CUSTOMER, NEW_CUSTOMER})
    subscriptions = [_new_subscription(builder, name) for name in names]
    subscriptions.append(Subscription(LOST_CUSTOMER, "Enterprise", LOST_FEE))
    return subscriptions


def _new_subscription(builder: OrgBuilder, name: str) -> Subscription:
    plan, fee = builder.rng.choices(PLANS, weights=PLAN_WEIGHTS)[0]
    return Subscription(name, plan, Decimal(fee))


def _churn_and_sign_up(
    builder: OrgBuilder,
    month: dt.date,
    subscriptions: list[Subscription],
    *,
    lost_from: dt.date,
    new_from: dt.date,
) -> None:
    rng = builder.rng
    # Ordinary churn is small plans leaving at random; the planted loss is the only large one.
    subscriptions[:] = [
        s
        for s in subscriptions
        if (s.customer == LOST_CUSTOMER and month < lost_from)
        or (s.customer != LOST_CUSTOMER and (s.fee > 1000 or rng.random() > 0.012))
    ]
    taken = {s.customer for s in subscriptions} | {LOST_CUSTOMER, NEW_CUSTOMER}
    sign_ups = max(0, round(rng.gauss(4, 1.5)))
    for name in company_names(rng, sign_ups, suffix="Pty Ltd", taken=taken):
        subscription = _new_subscription(builder, name)
        subscriptions.append(subscription)
        if subscription.fee >= 1490:
            builder.simple_document(
                "ACCREC",
                month,
                rng.randint(2, 26),
                code="210",
                contact=name,
                description=f"Onboarding and data migration, {subscription.plan} plan",
                amount=Decimal(1500),
            )
    if month == new_from:
        subscriptions.append(Subscription(NEW_CUSTOMER, "Enterprise", NEW_FEE))


def _invoice_subscriptions(
    builder: OrgBuilder, month: dt.date, subscriptions: list[Subscription]
) -> float:
    subscription_revenue = builder.account("200")
    total = Decimal(0)
    date = builder.date_in(month, 1)
    if date is None:
        return 0.0
    for subscription in subscriptions:
        line = builder.line(
            subscription_revenue,
            f"{subscription.plan} plan, {month:%B %Y}",
            subscription.fee,
        )
        builder.add_document(
            type_="ACCREC",
            contact=builder.contact(subscription.customer),
            date=date,
            lines=[line],
            reference=f"Subscription {month_key(month)}",
        )
        total += subscription.fee
    # Now and then an outage earns a customer a service credit; never a planted customer, whose
    # invoices must show exactly the planted amounts.
    ordinary = [s for s in subscriptions if s.customer not in (LOST_CUSTOMER, NEW_CUSTOMER)]
    if builder.rng.random() < 0.06:
        credited = builder.rng.choice(ordinary)
        credit = money(credited.fee * Decimal("0.25"))
        builder.post(
            month,
            [("ACCRECCREDIT", 18, "200", credited.customer, "Service credit: outage", credit)],
        )
        total -= credit
    return float(total)


def _costs(builder: OrgBuilder, month: dt.date, index: int, revenue: float) -> None:
    rng = builder.rng
    headcount = 6 + index // 5  # a hire every five months
    payroll = headcount * 10400
    lease_reviews = ((month.year - 2020) * 12 + month.month - 7) // 12  # the lease reviews in July
    aws = (1800 + revenue * 0.09) * rng.gauss(1, 0.03)
    superannuation = payroll * 0.115
    builder.post(
        month,
        [
            ("SPEND", 14, "477", "Tidepool Payroll", "Salaries", payroll / 2 * rng.gauss(1, 0.01)),
            ("SPEND", 28, "477", "Tidepool Payroll", "Salaries", payroll / 2 * rng.gauss(1, 0.01)),
            ("SPEND", 28, "478", "Beam Super Clearing House", "Superannuation", superannuation),
            ("ACCPAY", 3, "310", "Amazon Web Services", "AWS usage", aws),
            ("ACCPAY", 3, "310", "Cloudflare", "Cloudflare Pro and Workers", 290),
            ("SPEND", 2, "404", "Stripe", "Card processing fees", revenue * 0.017),
            (
                "ACCPAY",
                1,
                "469",
                "Hub Collective Pty Ltd",
                "Desk space, Surry Hills",
                4800 * 1.04**lease_reviews,
            ),
            ("ACCPAY", 5, "485", "Atlassian", "Jira and Confluence", 32 * headcount),
            ("ACCPAY", 5, "485", "Google Workspace", "Workspace Business", 26 * headcount),
            ("SPEND", 20, "400", "Google Ads", "Search ads", 2400 * rng.gauss(1, 0.08)),
            ("SPEND", 20, "400", "LinkedIn Ads", "Sponsored content", 900 * rng.gauss(1, 0.1)),
            ("ACCPAY", 10, "412", "Ledger & Lane Advisory", "Monthly bookkeeping and BAS", 1200),
            ("ACCPAY", 9, "489", "Telstra", "Mobiles and NBN", 36 * headcount + 110),
            (
                "ACCPAY",
                15,
                "433",
                "Harbourline Insurance Brokers",
                "Cyber and professional indemnity",
                520,
            ),
        ],
    )
    if rng.random() < 0.4:
        fare = rng.uniform(380, 1450)
        builder.post(
            month,
            [("SPEND", rng.randint(1, 28), "493", "Qantas", "Customer visit, Melbourne", fare)],
        )


def _plant_customers(builder: OrgBuilder, *, lost_from: dt.date, new_from: dt.date) -> None:
    revenue = builder.account("200")
    month = lost_from
    while month <= builder.last_closed:
        builder.plant(
            account=revenue,
            month=month,
            kind="lost_customer",
            contact=builder.contact(LOST_CUSTOMER),
            amount=-LOST_FEE,
            baseline=LOST_FEE,
            description=f"{LOST_CUSTOMER} cancelled its Enterprise plan from {month_key(lost_from)}",
        )
        if month >= new_from:
            builder.plant(
                account=revenue,
                month=month,
                kind="new_customer",
                contact=builder.contact(NEW_CUSTOMER),
                amount=NEW_FEE,
                description=f"{NEW_CUSTOMER} signed an Enterprise plan from {month_key(new_from)}",
            )
        month = add_months(month, 1)


def _campaign(builder: OrgBuilder) -> None:
    month = builder.last_closed
    description = f"{southern_season(month)} campaign"
    vendor = builder.contact(CAMPAIGN_VENDOR)
    advertising = builder.account("400")
    builder.add_document(
        type_="ACCPAY",
        contact=vendor,
        date=month.replace(day=14),
        lines=[builder.line(advertising, description, money(CAMPAIGN_AMOUNT))],
        number=builder.supplier_number("BWM"),
        reference=description,
    )
    builder.plant(
        account=advertising,
        month=month,
        kind="one_off",
        contact=vendor,
        amount=CAMPAIGN_AMOUNT,
        description=f"{description} by {CAMPAIGN_VENDOR}, not in the budget",
    )
