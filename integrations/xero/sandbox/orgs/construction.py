"""Ashford & Vale Construction: a UK builder with lumpy progress claims and plant purchases.

Planted: the final account of the Riverside Primary School extension in the last closed month
(revenue far above a budget spread evenly), a backhoe loader bought the same month (capex, on
the balance sheet), and a van bought in the second year of history.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

from core.months import add_months
from integrations.xero.sandbox.model import SandboxOrganisation, SandboxTrackingCategory
from integrations.xero.sandbox.orgs.budget import BudgetPlan, add_overall_budget
from integrations.xero.sandbox.orgs.builder import OrgBuilder, money
from integrations.xero.sandbox.orgs.chart import COMMON_OVERHEADS, RETIREMENT_ACCOUNT, spec

KEY = "construction"
YEAR_END_MONTH = 3
CLIENTS = (
    "Kestrel Homes Ltd",
    "Hollins Retail Park LLP",
    "St Anne's Medical Practice",
    "Marlow Valley Housing Association",
    "Greyfriars Estates Ltd",
    "Wealden District Council",
    "Brookfield Care Group Ltd",
)
PLACES = (
    "Ashcombe",
    "Millbrook",
    "Hartwell",
    "Kingsmead",
    "Oakley Park",
    "Foxhill",
    "Brockley",
    "Chilton",
    "Stanmore",
    "Lower Weald",
)
BUILDINGS = (
    "Medical Centre",
    "Retail Units",
    "Housing Phase 2",
    "Community Hall",
    "Industrial Unit",
    "Care Home Wing",
    "Sports Pavilion",
    "Office Refurbishment",
)
SUBCONTRACTORS = (
    "Brennan Groundworks Ltd",
    "Sparkwell Electrical Ltd",
    "Clearflow Plumbing & Heating",
    "Apex Roofing Ltd",
    "Keystone Scaffolding Ltd",
)
MATERIALS_SUPPLIERS = (
    "Midland Builders Merchants",
    "Hartley Timber Supplies",
    "Redland Ready Mix Ltd",
)
FINAL_CLIENT = "Northbridge Academy Trust"
FINAL_PROJECT = "Riverside Primary School extension"
FINAL_OPTION = "Riverside Primary"
# Straight-line lives in months, and where each class's accumulated depreciation is kept.
LIFE_MONTHS = {"740": 60, "750": 48}
ACCUMULATED = {"740": "741", "750": "751"}
# Plant and vehicles owned before the history starts, at cost.
OPENING_ASSETS = (("740", Decimal("260000")), ("750", Decimal("96000")))
# Purchases: (fixed asset account, supplier, description, cost before VAT).
VAN = ("750", "Westway Commercial Vehicles", "Ford Transit Custom 320 L2 van", Decimal("34800"))
BACKHOE = ("740", "Carlton Plant Sales Ltd", "JCB 3CX backhoe loader", Decimal("68500"))

ACCOUNTS = (
    spec("200", "Contract Revenue", "REVENUE", "sales"),
    spec("310", "Subcontractors", "DIRECTCOSTS", "purchases"),
    spec("320", "Materials", "DIRECTCOSTS", "purchases"),
    spec("330", "Plant Hire", "DIRECTCOSTS", "purchases"),
    *COMMON_OVERHEADS,
    RETIREMENT_ACCOUNT["GB"],
    spec("449", "Motor Vehicle Expenses", "OVERHEADS", "purchases"),
    spec("740", "Plant and Machinery", "FIXED", "purchases"),
    spec("741", "Less Accumulated Depreciation on Plant and Machinery", "FIXED"),
    spec("750", "Motor Vehicles", "FIXED", "purchases"),
    spec("751", "Less Accumulated Depreciation on Motor Vehicles", "FIXED"),
)


@dataclass
class Project:
    name: str
    option: str  # the tracking option, a short name as site managers use it
    client: str
    value: float
    start: dt.date
    months: int
    subcontractors: tuple[str, str]
    claimed: float = 0.0

    def work_share(self, month: dt.date) -> float:
        """The share of the contract built in the month: an S-curve, slow start and finish."""
        offset = (month.year - self.start.year) * 12 + month.month - self.start.month
        if not 0 <= offset < self.months:
            return 0.0
        weights = [math.sin(math.pi * (k + 0.5) / self.months) for k in range(self.months)]
        return weights[offset] / sum(weights)

    def final_month(self) -> dt.date:
        return add_months(self.start, self.months - 1)


@dataclass(frozen=True)
class Asset:
    account: str
    cost: Decimal
    first_month: dt.date  # first month of depreciation

    def charge(self, month: dt.date) -> Decimal:
        life = LIFE_MONTHS[self.account]
        in_life = self.first_month <= month < add_months(self.first_month, life)
        return money(self.cost / life) if in_life else Decimal(0)


def build(*, seed: int, today: dt.date) -> SandboxOrganisation:
    builder = OrgBuilder(key=KEY, seed=seed, today=today, country="GB")
    builder.add_balance_sheet(bank_name="Lloyds Business Current Account")
    builder.add_accounts(ACCOUNTS)
    projects = _projects(builder)
    category = builder.tracking_category("Project", [p.option for p in projects])
    assets = [Asset(code, cost, builder.first_month) for code, cost in OPENING_ASSETS]
    for month in builder.months:
        for project in projects:
            _project_month(builder, category, project, month)
        _overheads(builder, month)
        if month == add_months(builder.first_month, 14):
            assets.append(_buy_asset(builder, month, *VAN))
        if month == builder.last_closed:
            assets.append(_buy_asset(builder, month, *BACKHOE))
        _depreciate(builder, month, assets)
    plan = BudgetPlan(
        growth=Decimal("0.05"),
        account_growth={"416": Decimal(0), "469": Decimal(0), "433": Decimal("0.03")},
        flat_codes=frozenset({"200", "310", "320", "330"}),
        notes={
            "200": "Contract revenue spread evenly over the year",
            "416": "No new plant planned",
        },
    )
    add_overall_budget(builder, year_end_month=YEAR_END_MONTH, plan=plan)
    return builder.organisation(
        name="Ashford & Vale Construction",
        legal_name="Ashford & Vale Construction Limited",
        year_end_month=YEAR_END_MONTH,
    )


def _projects(builder: OrgBuilder) -> list[Project]:
    rng = builder.rng
    projects: list[Project] = []
    start = add_months(builder.first_month, -6)
    used: set[tuple[str, str]] = set()
    while start <= builder.current_month:
        place, building = rng.choice(PLACES), rng.choice(BUILDINGS)
        if (place, building) not in used:
            used.add((place, building))
            projects.append(
                Project(
                    name=f"{place} {building}",
                    option=f"{place} {building.split()[0]}",
                    client=rng.choice(CLIENTS),
                    value=rng.uniform(180_000, 950_000),
                    start=start,
                    months=rng.randint(5, 11),
                    subcontractors=tuple(rng.sample(SUBCONTRACTORS, 2)),
                )
            )
            # Work done before the history starts was claimed before it too.
            project = projects[-1]
            project.claimed = sum(
                project.value * project.work_share(add_months(project.start, k))
                for k in range(project.months)
                if add_months(project.start, k) < builder.first_month
            )
        start = add_months(start, rng.randint(1, 4))
    projects.append(
        Project(
            name=FINAL_PROJECT,
            option=FINAL_OPTION,
            client=FINAL_CLIENT,
            value=840_000.0,
            start=add_months(builder.last_closed, -8),
            months=9,
            subcontractors=(SUBCONTRACTORS[0], SUBCONTRACTORS[1]),
        )
    )
    return projects


def _project_month(
    builder: OrgBuilder, category: SandboxTrackingCategory, project: Project, month: dt.date
) -> None:
    work = project.value * project.work_share(month)
    if work == 0:
        return
    rng = builder.rng
    option = next(o for o in category.options if o.name == project.option)
    tracking = [(category.category_id, option.option_id)]
    for subcontractor in project.subcontractors:
        builder.simple_document(
            "ACCPAY",
            month,
            28,
            code="310",
            contact=subcontractor,
            description=f"Application for payment: {project.name}",
            amount=work * 0.17 * rng.gauss(1, 0.05),
            tracking=tracking,
        )
    for day in (8, 22):
        builder.simple_document(
            "ACCPAY",
            month,
            day,
            code="320",
            contact=rng.choice(MATERIALS_SUPPLIERS),
            description=f"Materials delivered to {project.name}",
            amount=work * 0.08 * rng.gauss(1, 0.1),
            tracking=tracking,
        )
    builder.simple_document(
        "ACCPAY",
        month,
        30,
        code="330",
        contact="Speedline Plant Hire",
        description=f"Excavator and dumper hire, {project.name}",
        amount=work * 0.035 * rng.gauss(1, 0.1),
        tracking=tracking,
    )
    _progress_claim(builder, project, month, tracking)


def _progress_claim(
    builder: OrgBuilder, project: Project, month: dt.date, tracking: list[tuple[str, str]]
) -> None:
    """Claim the work done since the last claim; a delayed certificate makes claims lumpy."""
    final = month == project.final_month()
    is_planted = project.name == FINAL_PROJECT
    # The planted project's last claims slip, so three months of work land in its final account.
    held = is_planted and month >= add_months(project.final_month(), -2)
    delayed = builder.rng.random() < 0.2 or held
    if delayed and not final:
        return
    built = sum(
        project.value * project.work_share(add_months(project.start, k))
        for k in range(project.months)
        if add_months(project.start, k) <= month
    )
    amount = money(built - project.claimed)
    description = f"Final account: {project.name}" if final else f"Progress claim: {project.name}"
    document = builder.simple_document(
        "ACCREC",
        month,
        25,
        code="200",
        contact=project.client,
        description=description,
        amount=amount,
        tracking=tracking,
    )
    if document is None:
        return
    project.claimed += float(amount)
    if final and is_planted and month == builder.last_closed:
        builder.plant(
            account=builder.account("200"),
            month=month,
            kind="one_off",
            contact=builder.contact(project.client),
            amount=amount,
            description=f"Final account for the {project.name}: three months of work certified at once",
        )


def _overheads(builder: OrgBuilder, month: dt.date) -> None:
    rng = builder.rng
    wages = 46000 * rng.gauss(1, 0.02)
    fuel, power = 2100 * rng.gauss(1, 0.07), 620 * rng.gauss(1, 0.08)
    builder.post(
        month,
        [
            ("SPEND", 28, "477", "Ashford & Vale Payroll", "Site and office salaries", wages),
            ("SPEND", 28, "478", "NEST Pensions", "Workplace pension contributions", wages * 0.03),
            ("ACCPAY", 1, "469", "Hollybank Estates", "Yard and office rent", 3250),
            ("SPEND", 27, "449", "Allstar Fuel Card", "Fleet fuel", fuel),
            ("ACCPAY", 3, "433", "Castle Underwriting", "Contract works insurance", 1850),
            ("ACCPAY", 12, "412", "Pemberton Hale Accountants", "Management accounts and VAT", 950),
            ("ACCPAY", 9, "489", "BT Business", "Phones and broadband", 240),
            ("ACCPAY", 15, "445", "Octopus Energy for Business", "Yard electricity", power),
        ],
    )
    if rng.random() < 0.5:
        day, service = rng.randint(1, 28), rng.uniform(350, 2400)
        builder.post(
            month, [("ACCPAY", day, "473", "Carlton Plant Sales Ltd", "Plant servicing", service)]
        )


def _buy_asset(
    builder: OrgBuilder, month: dt.date, code: str, supplier: str, description: str, cost: Decimal
) -> Asset:
    """Capital expenditure goes to a fixed-asset account, so it is on the balance sheet, not the P&L."""
    document = builder.simple_document(
        "ACCPAY", month, 16, code=code, contact=supplier, description=description, amount=cost
    )
    assert document is not None, "assets are bought in closed months"
    builder.plant(
        account=builder.account(code),
        month=month,
        kind="capex",
        contact=builder.contact(supplier),
        amount=money(cost),
        description=f"{description} bought from {supplier}",
    )
    return Asset(code, cost, add_months(month, 1))


def _depreciate(builder: OrgBuilder, month: dt.date, assets: list[Asset]) -> None:
    """Straight-line depreciation, posted like the fixed asset register's monthly run.

    The model has no manual journals, so the run is a zero-total bank transaction: the expense
    on Depreciation and the same amount off the accumulated depreciation account.
    """
    date = builder.date_in(month, 31)
    if date is None:
        return
    lines = []
    for code, accumulated in ACCUMULATED.items():
        charge = sum((a.charge(month) for a in assets if a.account == code), Decimal(0))
        if charge:
            name = builder.account(code).name.lower()
            lines.append(builder.line(builder.account("416"), f"Depreciation: {name}", charge))
            lines.append(
                builder.line(
                    builder.account(accumulated), f"Accumulated depreciation: {name}", -charge
                )
            )
    if lines:
        builder.add_document(
            type_="SPEND",
            contact=builder.contact("Fixed Asset Register"),
            date=date,
            lines=lines,
            reference="Monthly depreciation run",
        )
