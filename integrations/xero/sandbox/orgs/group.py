"""Kestrel Pacific Group: an Australian building-supplies group with about 300 accounts.

For performance work: two tracking categories (Region, Division) on nearly every line, an
overall budget and a tracking budget for each region and two divisions. Planted: a store refit
in Victoria in the last closed month.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from integrations.xero.sandbox.model import (
    SandboxAccount,
    SandboxLine,
    SandboxOrganisation,
    SandboxTrackingCategory,
)
from integrations.xero.sandbox.orgs.budget import (
    BudgetPlan,
    add_overall_budget,
    add_tracking_budget,
)
from integrations.xero.sandbox.orgs.builder import OrgBuilder, money
from integrations.xero.sandbox.orgs.chart import AccountSpec, spec
from integrations.xero.sandbox.orgs.ledger import profit_and_loss_by_option
from integrations.xero.sandbox.orgs.names import company_names

KEY = "group"
YEAR_END_MONTH = 6
REGIONS = (("NSW", 0.32), ("VIC", 0.27), ("QLD", 0.2), ("WA", 0.13), ("SA", 0.08))
DIVISIONS = ("Retail", "Trade", "Commercial", "Online", "Shared Services")
# Hardware sells in spring and before Christmas, slows in winter.
SEASON = (0.86, 0.9, 0.98, 0.96, 0.92, 0.88, 0.86, 0.92, 1.06, 1.14, 1.2, 1.12)
PRODUCTS = (
    "Timber",
    "Hardware",
    "Paint",
    "Plumbing",
    "Electrical",
    "Garden",
    "Tools",
    "Flooring",
    "Kitchens",
    "Bathrooms",
    "Outdoor Living",
    "Lighting",
    "Doors & Windows",
    "Roofing",
    "Insulation",
    "Fixings",
    "Concrete & Cement",
    "Decking",
    "Fencing",
    "Storage",
    "Cleaning",
    "Safety Equipment",
    "Adhesives",
    "Landscaping Supplies",
    "Heating & Cooling",
    "Solar",
    "Appliances",
    "Pool & Spa",
    "Pet Supplies",
    "Automotive",
)
SERVICES = (
    "Delivery Income",
    "Installation Income",
    "Equipment Hire Income",
    "Trade Account Fees",
    "Design Consultations",
    "Extended Warranties",
)
OTHER_INCOME = (
    "Interest Income",
    "Rental Income",
    "Supplier Rebates",
    "Sundry Income",
    "Gain on Disposal of Assets",
    "Insurance Recoveries",
)
OTHER_DIRECT_COSTS = (
    "Freight Inwards",
    "Stock Adjustments",
    "Stock Write-offs",
    "Installation Subcontractors",
    "Hire Fleet Maintenance",
    "Delivery Vehicle Costs",
    "Merchant Fees",
    "Packaging",
    "Warranty Claims",
    "Customer Discounts",
)
# (group, items, regional?): regional costs land in each region, the rest at head office.
OVERHEADS = (
    (
        "Employment",
        (
            "Wages - Store Staff",
            "Wages - Warehouse",
            "Wages - Drivers",
            "Wages - Management",
            "Overtime",
            "Casual Labour",
            "Superannuation",
            "Payroll Tax",
            "Workers Compensation",
            "Staff Training",
            "Staff Amenities",
            "Uniforms",
            "Annual Leave Expense",
            "Long Service Leave Expense",
        ),
        True,
    ),
    (
        "Employment",
        (
            "Recruitment",
            "Fringe Benefits Tax",
            "Salary Packaging Admin",
            "Employee Assistance Program",
        ),
        False,
    ),
    (
        "Premises",
        (
            "Rent - Stores",
            "Rent - Warehouses",
            "Outgoings",
            "Cleaning",
            "Security",
            "Waste Removal",
            "Repairs - Buildings",
            "Electricity",
            "Gas",
            "Water",
            "Pest Control",
            "Fire Safety Services",
        ),
        True,
    ),
    ("Premises", ("Rent - Head Office", "Head Office Outgoings"), False),
    (
        "Motor Vehicles",
        (
            "Fuel",
            "Vehicle Registration",
            "Vehicle Insurance",
            "Vehicle Repairs",
            "Tolls",
            "Vehicle Leases",
            "Tyres",
            "Fleet Management Fees",
        ),
        True,
    ),
    ("Marketing", ("Local Area Marketing", "Catalogues", "Promotions", "Store Signage"), True),
    (
        "Marketing",
        (
            "Advertising - Digital",
            "Advertising - Print",
            "Advertising - Radio",
            "Sponsorship",
            "Website",
            "Trade Shows",
            "Loyalty Program",
            "Market Research",
            "Brand Design",
        ),
        False,
    ),
    (
        "Administration",
        (
            "Telephone",
            "Internet",
            "Postage",
            "Printing & Stationery",
            "Office Supplies",
            "Equipment Hire",
            "Licences & Permits",
            "Bank Fees",
            "Bad Debts",
            "Couriers",
            "Meals & Entertainment",
            "General Expenses",
            "Store Consumables",
            "Stocktake Costs",
            "Shrinkage",
        ),
        True,
    ),
    (
        "Administration",
        (
            "Accounting Fees",
            "Audit Fees",
            "Legal Fees",
            "Consulting Fees",
            "Insurance - General",
            "Insurance - Public Liability",
            "Insurance - Directors & Officers",
            "Subscriptions",
            "Software Licences",
            "IT Support",
            "Cloud Hosting",
            "Travel - Domestic",
            "Travel - International",
            "Accommodation",
            "Donations",
            "Memberships",
            "Board Fees",
            "Company Secretarial",
            "ASIC Fees",
            "Cyber Security",
            "Data & Analytics",
        ),
        False,
    ),
    (
        "Finance",
        (
            "Interest - Bank Loans",
            "Interest - Equipment Finance",
            "Interest - Overdraft",
            "Borrowing Costs",
            "Lease Interest",
        ),
        False,
    ),
)
DEPRECIATION = (
    "Buildings",
    "Plant & Equipment",
    "Motor Vehicles",
    "Store Fit-out",
    "IT Equipment",
    "Furniture & Fittings",
    "Forklifts",
    "Hire Fleet",
    "Right-of-Use Assets",
)
INTERCOMPANY = (
    "Kestrel Pacific Holdings Pty Ltd",
    "Kestrel Trade Supplies Pty Ltd",
    "Kestrel Property Trust",
    "Kestrel Online Pty Ltd",
    "Kestrel Hire Pty Ltd",
)


@dataclass
class Flow:
    """A monthly stream of lines on one account from one contact."""

    account: SandboxAccount
    contact: str
    type_: str
    level: float  # group total a month at the start of history
    regional: bool
    seasonal: bool
    division: str | None = None  # fixed division; None spreads over the selling divisions
    # Depreciation credits the accumulated depreciation account in the same document, so the
    # run moves no money (the model has no manual journals).
    contra: SandboxAccount | None = None


def build(*, seed: int, today: dt.date) -> SandboxOrganisation:
    builder = OrgBuilder(key=KEY, seed=seed, today=today, country="AU")
    for account_spec in _chart():
        if account_spec.type == "BANK":
            builder.add_bank(account_spec)
        else:
            builder.add_account(account_spec)
    region_category = builder.tracking_category("Region", [name for name, _ in REGIONS])
    division_category = builder.tracking_category("Division", list(DIVISIONS))
    flows = _flows(builder)
    trade_customers = company_names(builder.rng, 3 * len(REGIONS), suffix="Pty Ltd", taken=set())
    for index, month in enumerate(builder.months):
        trend = 1.05 ** (index / 12)
        _month(builder, month, trend, flows, trade_customers, region_category, division_category)
    _store_refit(builder, region_category, division_category)
    plan = BudgetPlan(growth=Decimal("0.05"), notes={"4000": "Prior year +5% across all regions"})
    add_overall_budget(builder, year_end_month=YEAR_END_MONTH, plan=plan)
    # Each region has its own budget, and so do the two divisions with their own targets.
    targets = [(region_category, option) for option in region_category.options] + [
        (division_category, option)
        for option in division_category.options
        if option.name in ("Trade", "Online")
    ]
    actuals = profit_and_loss_by_option(builder.accounts, builder.documents)
    for category, option in targets:
        add_tracking_budget(
            builder,
            year_end_month=YEAR_END_MONTH,
            plan=plan,
            category=category,
            option=option,
            actuals=actuals.get(option.option_id, {}),
        )
    return builder.organisation(
        name="Kestrel Pacific Group",
        legal_name="Kestrel Pacific Group Pty Ltd",
        year_end_month=YEAR_END_MONTH,
    )


def _chart() -> list[AccountSpec]:
    specs = [spec("1000", "Operating Account - CBA", "BANK")]
    specs += [
        spec(f"{1001 + n}", f"Store Float - {region}", "BANK")
        for n, (region, _) in enumerate(REGIONS)
    ]
    specs += [
        spec("1010", "Payroll Account - CBA", "BANK"),
        spec("1011", "Term Deposit - NAB", "BANK"),
    ]
    specs += [
        spec("1100", "Trade Debtors", "CURRENT", system="DEBTORS"),
        spec("1101", "Provision for Doubtful Debts", "CURRENT"),
        spec("1102", "Other Debtors", "CURRENT"),
        spec("1103", "Accrued Income", "CURRENT"),
        spec("1104", "Deposits Paid", "CURRENT"),
        spec("1105", "Stock in Transit", "CURRENT"),
        spec("1110", "Prepayments", "PREPAYMENT"),
    ]
    specs += [
        spec(f"{1120 + n}", f"Loan to {entity}", "CURRENT") for n, entity in enumerate(INTERCOMPANY)
    ]
    specs += [
        spec(f"{1300 + n}", f"Inventory - {product}", "INVENTORY")
        for n, product in enumerate(PRODUCTS)
    ]
    for n, asset in enumerate(("Land", *DEPRECIATION, "Software", "Leasehold Improvements")):
        specs.append(spec(f"{1500 + 2 * n}", f"{asset} at Cost", "FIXED"))
        if asset != "Land":
            specs.append(
                spec(f"{1501 + 2 * n}", f"Less Accumulated Depreciation - {asset}", "FIXED")
            )
    specs += [
        spec("1600", "Goodwill", "NONCURRENT"),
        spec("1601", "Deferred Tax Asset", "NONCURRENT"),
    ]
    liabilities = (
        ("2000", "Trade Creditors", "CURRLIAB", "CREDITORS"),
        ("2001", "Accrued Expenses", "CURRLIAB", None),
        ("2002", "GST", "CURRLIAB", "GST"),
        ("2003", "PAYG Withholding Payable", "CURRLIAB", None),
        ("2004", "Superannuation Payable", "CURRLIAB", None),
        ("2005", "Payroll Tax Payable", "CURRLIAB", None),
        ("2006", "Provision for Annual Leave", "CURRLIAB", None),
        ("2007", "Provision for Long Service Leave - Current", "CURRLIAB", None),
        ("2008", "Customer Deposits", "CURRLIAB", None),
        ("2009", "Gift Card Liability", "CURRLIAB", None),
        ("2010", "Income Tax Payable", "CURRLIAB", None),
        ("2011", "Dividends Payable", "CURRLIAB", None),
        ("2012", "Unpaid Expense Claims", "CURRLIAB", "UNPAIDEXPCLM"),
        ("2013", "Wages Payable", "CURRLIAB", "WAGEPAYABLES"),
        ("2014", "Suspense", "CURRLIAB", None),
        ("2015", "Rounding", "CURRLIAB", "ROUNDING"),
        ("2016", "Tracking Transfers", "CURRLIAB", "TRACKINGTRANSFERS"),
        ("2017", "Historical Adjustment", "CURRLIAB", "HISTORICAL"),
        ("2018", "Bank Loan - NAB - Current", "CURRLIAB", None),
        ("2019", "Equipment Finance - Current", "CURRLIAB", None),
        ("2020", "Lease Liabilities - Current", "CURRLIAB", None),
        ("2500", "Bank Loan - NAB", "TERMLIAB", None),
        ("2501", "Bank Loan - Westpac", "TERMLIAB", None),
        ("2502", "Equipment Finance - Forklifts", "TERMLIAB", None),
        ("2503", "Equipment Finance - Vehicles", "TERMLIAB", None),
        ("2504", "Lease Liabilities", "TERMLIAB", None),
        ("2505", "Provision for Long Service Leave", "TERMLIAB", None),
        ("2506", "Deferred Tax Liability", "TERMLIAB", None),
    )
    specs += [spec(code, name, type_, system=system) for code, name, type_, system in liabilities]
    specs += [
        spec(f"{2510 + n}", f"Loan from {entity}", "TERMLIAB")
        for n, entity in enumerate(INTERCOMPANY)
    ]
    specs += [
        spec("3000", "Share Capital", "EQUITY"),
        spec("3001", "Retained Earnings", "EQUITY", system="RETAINEDEARNINGS"),
        spec("3002", "Dividends Paid", "EQUITY"),
        spec("3003", "Asset Revaluation Reserve", "EQUITY"),
        spec("3004", "Foreign Currency Translation Reserve", "EQUITY"),
    ]
    specs += [
        spec(f"{4000 + n}", f"Sales - {product}", "SALES", "sales")
        for n, product in enumerate(PRODUCTS)
    ]
    specs += [spec(f"{4100 + n}", name, "REVENUE", "sales") for n, name in enumerate(SERVICES)]
    specs += [spec(f"{4200 + n}", name, "OTHERINCOME") for n, name in enumerate(OTHER_INCOME)]
    specs += [
        spec(f"{5000 + n}", f"Cost of Sales - {product}", "DIRECTCOSTS", "purchases")
        for n, product in enumerate(PRODUCTS)
    ]
    specs += [
        spec(f"{5100 + n}", name, "DIRECTCOSTS", "purchases")
        for n, name in enumerate(OTHER_DIRECT_COSTS)
    ]
    code = 6000
    for group, items, _ in OVERHEADS:
        for item in items:
            type_ = "EXPENSE" if group == "Employment" else "OVERHEADS"
            tax = "exempt" if group in ("Employment", "Finance") else "purchases"
            specs.append(spec(str(code), item, type_, tax))
            code += 1
    specs += [
        spec(f"{6900 + n}", f"Depreciation - {asset}", "DEPRECIATN")
        for n, asset in enumerate(DEPRECIATION)
    ]
    return specs


def _flows(builder: OrgBuilder) -> list[Flow]:
    rng = builder.rng
    flows: list[Flow] = []
    wholesalers = company_names(
        rng, (len(PRODUCTS) + 3) // 4, suffix="Wholesale Pty Ltd", taken=set()
    )
    for n, _product in enumerate(PRODUCTS):
        sales, cost = builder.account(f"{4000 + n}"), builder.account(f"{5000 + n}")
        store, online = rng.uniform(120_000, 700_000), rng.uniform(20_000, 120_000)
        margin = rng.uniform(0.28, 0.45)
        flows += [
            Flow(
                sales,
                "Tyro Settlements",
                "RECEIVE",
                store,
                regional=True,
                seasonal=True,
                division="Retail",
            ),
            Flow(
                sales,
                "Tyro Settlements",
                "RECEIVE",
                online,
                regional=True,
                seasonal=True,
                division="Online",
            ),
            # Stock for both channels comes from one wholesaler per product family.
            Flow(
                cost,
                wholesalers[n // 4],
                "ACCPAY",
                (store + online) * (1 - margin),
                regional=True,
                seasonal=True,
                division="Retail",
            ),
        ]
    for n in range(len(SERVICES)):
        flows.append(
            Flow(
                builder.account(f"{4100 + n}"),
                "",
                "ACCREC",
                rng.uniform(15_000, 90_000),
                regional=True,
                seasonal=False,
                division="Commercial",
            )
        )
    for n in range(len(OTHER_INCOME)):
        flows.append(
            Flow(
                builder.account(f"{4200 + n}"),
                "Commonwealth Bank",
                "RECEIVE",
                rng.uniform(2_000, 25_000),
                regional=False,
                seasonal=False,
                division="Shared Services",
            )
        )
    for n in range(len(OTHER_DIRECT_COSTS)):
        flows.append(
            Flow(
                builder.account(f"{5100 + n}"),
                "Toll Group",
                "ACCPAY",
                rng.uniform(8_000, 60_000),
                regional=True,
                seasonal=True,
                division="Trade",
            )
        )
    overhead_suppliers = company_names(rng, 40, suffix="Pty Ltd", taken=set())
    code = 6000
    for group, items, regional in OVERHEADS:
        employment = group == "Employment"
        for _item in items:
            flows.append(
                Flow(
                    builder.account(str(code)),
                    "Kestrel Payroll" if employment else rng.choice(overhead_suppliers),
                    "SPEND" if group in ("Employment", "Finance") else "ACCPAY",
                    rng.uniform(3_000, 160_000 if employment else 45_000),
                    regional=regional,
                    seasonal=False,
                    division=None if regional else "Shared Services",
                )
            )
            code += 1
    accounts_by_name = {account.name: account for account in builder.accounts}
    for n, asset in enumerate(DEPRECIATION):
        flows.append(
            Flow(
                builder.account(f"{6900 + n}"),
                "Fixed Asset Register",
                "SPEND",
                rng.uniform(8_000, 70_000),
                regional=True,
                seasonal=False,
                contra=accounts_by_name[f"Less Accumulated Depreciation - {asset}"],
            )
        )
    return flows


def _month(
    builder: OrgBuilder,
    month: dt.date,
    trend: float,
    flows: list[Flow],
    trade_customers: list[str],
    regions: SandboxTrackingCategory,
    divisions: SandboxTrackingCategory,
) -> None:
    """One document per contact, type and region each month, with a line per account."""
    rng = builder.rng
    season = SEASON[month.month - 1]
    documents: dict[tuple[str, str, str], list[SandboxLine]] = {}
    division_ids = {option.name: option.option_id for option in divisions.options}
    for flow in flows:
        scale = flow.level * trend * (season if flow.seasonal else 1.0)
        # Head office costs sit in NSW, where head office is.
        targets = enumerate(REGIONS) if flow.regional else [(0, (REGIONS[0][0], 1.0))]
        for region_index, (region, weight) in targets:
            region_id = regions.options[region_index].option_id
            division = flow.division or rng.choice(("Retail", "Trade", "Commercial"))
            tracking = [
                (regions.category_id, region_id),
                (divisions.category_id, division_ids[division]),
            ]
            # Head office overheads are partly left unallocated, as real groups do.
            if not flow.regional and rng.random() < 0.3:
                tracking = []
            contact = flow.contact or trade_customers[3 * region_index + rng.randrange(3)]
            line = builder.line(
                flow.account,
                f"{flow.account.name}, {month:%B %Y}",
                money(scale * weight * rng.gauss(1, 0.05)),
                tracking=tracking,
            )
            lines = documents.setdefault((flow.type_, contact, region), [])
            lines.append(line)
            if flow.contra is not None:
                lines.append(
                    builder.line(
                        flow.contra, line.description, -line.base_amount, tracking=tracking
                    )
                )
    for (type_, contact, region), lines in documents.items():
        # Each supplier and customer has its own billing day; the open month stops at today.
        date = builder.date_in(month, rng.randint(1, 28))
        if date is None:
            continue
        builder.add_document(
            type_=type_,
            contact=builder.contact(contact),
            date=date,
            lines=lines,
            reference=f"{region} {month:%b %Y}",
        )


def _store_refit(
    builder: OrgBuilder, regions: SandboxTrackingCategory, divisions: SandboxTrackingCategory
) -> None:
    month = builder.last_closed
    repairs = next(a for a in builder.accounts if a.name == "Repairs - Buildings")
    contractor = builder.contact("Coastline Shopfitters Pty Ltd")
    amount = Decimal("48000.00")
    tracking = [
        (regions.category_id, regions.options[1].option_id),
        (divisions.category_id, divisions.options[0].option_id),
    ]
    builder.add_document(
        type_="ACCPAY",
        contact=contractor,
        date=month.replace(day=19),
        lines=[
            builder.line(
                repairs, "Store refit after water damage, Geelong", amount, tracking=tracking
            )
        ],
        number=builder.supplier_number("CSF"),
        reference="Geelong store refit",
    )
    builder.plant(
        account=repairs,
        month=month,
        kind="one_off",
        contact=contractor,
        amount=amount,
        description="Store refit after water damage in Geelong (VIC, Retail), not budgeted",
    )
