"""Southern Alps Outfitters (NZ) and Bighorn Outfitters (US): opt-in organisations with what
an independent imitation of Xero exposed (issue #22).

- two tracking categories, Region and Channel, on most lines;
- tax-inclusive sales and expenses (LineAmountTypes Inclusive: LineAmount includes the GST,
  TaxAmount is given per line, the P&L uses LineAmount - TaxAmount) next to exclusive bills;
- foreign-currency bills and invoices with CurrencyRate at 4, 5 and 6 decimals, converted line
  by line: base = round(LineAmount / CurrencyRate, 2);
- realised currency gains when those documents are paid at a later month's rate, and a
  month-end revaluation of what is still open (unrealised, reversed on the 1st): Xero's own
  entries, in the reports but not in GET ManualJournals;
- manual journals: depreciation every month, an accrual and its reversal, a reclassification,
  plus a DRAFT and a VOIDED journal the reports ignore;
- credit notes (sales returns, a supplier's credit in dollars), and DRAFT, VOIDED and DELETED
  invoices and bills that the reports ignore.

The NZ organisation's P&L groups the currency accounts into one FXGROUPID row, as Xero's
standard layout does outside the US; the US one shows them as accounts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from core.months import add_months, month_end
from integrations.xero.sandbox.model import SandboxAccount, SandboxLine, SandboxOrganisation
from integrations.xero.sandbox.orgs.budget import BudgetPlan, add_overall_budget
from integrations.xero.sandbox.orgs.builder import ZERO, OrgBuilder, money
from integrations.xero.sandbox.orgs.chart import COMMON_OVERHEADS, RETIREMENT_ACCOUNT, spec

YEAR_END_MONTH = 3


@dataclass(frozen=True)
class Variant:
    key: str
    country: str
    name: str
    legal_name: str
    bank: str
    regions: tuple[str, ...]
    # (currency, opening rate: foreign units per unit of base, decimals Xero shows)
    currencies: tuple[tuple[str, float, int], ...]
    supplier: tuple[str, str]  # (name, currency) of the main overseas supplier
    second_supplier: tuple[str, str]
    export_customer: tuple[str, str]  # (name, currency) of the overseas wholesale customer
    inclusive: bool  # whether retail sales and some expenses are tax inclusive


VARIANTS = {
    "alpine": Variant(
        key="alpine",
        country="NZ",
        name="Southern Alps Outfitters",
        legal_name="Southern Alps Outfitters Limited",
        bank="ASB Business Account",
        regions=("Auckland", "Wellington", "Christchurch"),
        currencies=(("USD", 0.593127, 6), ("EUR", 0.54318, 5), ("AUD", 0.9137, 4)),
        supplier=("Summit Gear Manufacturing Co.", "USD"),
        second_supplier=("Bergwerk Textil GmbH", "EUR"),
        export_customer=("Kangaroo Trail Supplies Pty Ltd", "AUD"),
        inclusive=True,
    ),
    "alpine-us": Variant(
        key="alpine-us",
        country="US",
        name="Bighorn Outfitters",
        legal_name="Bighorn Outfitters Inc.",
        bank="Chase Business Checking",
        regions=("Denver", "Boise", "Missoula"),
        currencies=(("CAD", 1.371846, 6), ("EUR", 0.91736, 5), ("NZD", 1.6859, 4)),
        supplier=("Cascade Outerwear Ltd", "CAD"),
        second_supplier=("Bergwerk Textil GmbH", "EUR"),
        export_customer=("Southern Alps Outfitters Limited", "NZD"),
        inclusive=False,
    ),
}
CHANNELS = ("Retail", "Online", "Wholesale")
# (description, tax-inclusive unit price in base currency, usual monthly quantity per region)
PRODUCTS = (
    ("Merino base layer", Decimal("89.95"), 60),
    ("Alpine shell jacket", Decimal("349.00"), 14),
    ("Trail boots", Decimal("229.90"), 18),
)


def _accounts(country: str) -> tuple:
    return (
        spec("200", "Sales", "REVENUE", "sales"),
        spec("210", "Wholesale Sales", "REVENUE", "exempt"),
        spec("260", "Other Revenue", "OTHERINCOME", "sales"),
        spec("310", "Cost of Goods Sold", "DIRECTCOSTS"),
        spec("320", "Freight Inwards", "DIRECTCOSTS", "purchases"),
        *COMMON_OVERHEADS,
        RETIREMENT_ACCOUNT[country],
        spec("497", "Bank Revaluations", "OVERHEADS", system="BANKCURRENCYGAIN"),
        spec("498", "Unrealised Currency Gains", "OVERHEADS", system="UNREALISEDCURRENCYGAIN"),
        spec("499", "Realised Currency Gains", "OVERHEADS", system="REALISEDCURRENCYGAIN"),
        spec("826", "Accruals", "CURRLIAB"),
    )


def build(*, seed: int, today: dt.date, key: str = "alpine") -> SandboxOrganisation:
    variant = VARIANTS[key]
    builder = OrgBuilder(key=variant.key, seed=seed, today=today, country=variant.country)
    builder.add_balance_sheet(bank_name=variant.bank)
    builder.add_accounts(_accounts(variant.country))
    region = builder.tracking_category("Region", variant.regions)
    channel = builder.tracking_category("Channel", CHANNELS)
    regions = [(region.category_id, o.option_id) for o in region.options]
    channels = {o.name: (channel.category_id, o.option_id) for o in channel.options}
    rates = _monthly_rates(builder, variant)
    for index, month in enumerate(builder.months):
        trend = Decimal(str(round(1.05 ** (index / 12), 4)))
        _retail_sales(builder, variant, month, regions, channels, trend)
        _export_sales(builder, variant, month, channels, rates)
        _overseas_bills(builder, variant, month, rates)
        _local_costs(builder, variant, month, regions, channels)
        _depreciation(builder, month, regions)
        _unposted_documents(builder, variant, month, index)
        _currency_entries(builder, month, rates)
    _accrual_and_reclassification(builder)
    # Realised currency gains are budgeted (a flat twelfth of last year), so the product has a
    # budget on a currency system account to map onto the FXGROUPID line; the others are not.
    plan = BudgetPlan(
        growth=Decimal("0.05"),
        skip_codes=frozenset({"497", "498"}),
        flat_codes=frozenset({"499"}),
        notes={"499": "Currency result on supplier payments, flat"},
    )
    add_overall_budget(builder, year_end_month=YEAR_END_MONTH, plan=plan)
    currencies = tuple(code for code, _, _ in variant.currencies)
    return builder.organisation(
        name=variant.name,
        legal_name=variant.legal_name,
        year_end_month=YEAR_END_MONTH,
        currencies=currencies,
    )


def _monthly_rates(builder: OrgBuilder, variant: Variant) -> dict[tuple[str, dt.date], Decimal]:
    """Foreign units per unit of base currency, each month, at the decimals Xero shows."""
    rates: dict[tuple[str, dt.date], Decimal] = {}
    for currency, rate, decimals in variant.currencies:
        for month in [*builder.months, add_months(builder.current_month, 1)]:
            rate *= builder.rng.gauss(1, 0.015)
            rates[(currency, month)] = Decimal(f"{rate:.{decimals}f}")
    return rates


def _retail_sales(
    builder: OrgBuilder,
    variant: Variant,
    month: dt.date,
    regions: list[tuple[str, str]],
    channels: dict[str, tuple[str, str]],
    trend: Decimal,
) -> None:
    """Each region's retail and online takings as one invoice a month with a line per product,
    tagged with both categories; tax inclusive in NZ. A few returns come back as credit notes."""
    rng = builder.rng
    sales = builder.account("200")
    for position, region in enumerate(regions):
        for channel_name, day in (("Retail", 27), ("Online", 28)):
            date = builder.date_in(month, day - position)
            if date is None:
                continue
            lines = []
            for description, price, usual in PRODUCTS:
                quantity = Decimal(max(1, round(usual * float(trend) * rng.gauss(1, 0.12))))
                if channel_name == "Online":
                    quantity = Decimal(max(1, round(float(quantity) * 0.4)))
                tracking = [region, channels[channel_name]]
                lines.append(
                    _sale_line(builder, variant, sales, description, price, quantity, tracking)
                )
            builder.add_document(
                type_="ACCREC",
                contact=builder.contact(f"{channel_name} takings"),
                date=date,
                lines=lines,
                reference=f"{channel_name} sales {month:%b %Y}",
                line_amount_types="Inclusive" if variant.inclusive else "Exclusive",
            )
        returned = builder.date_in(month, 15 + position)
        if returned is not None and rng.random() < 0.7:
            description, price, _ = PRODUCTS[rng.randrange(len(PRODUCTS))]
            quantity = Decimal(rng.randint(1, 3))
            line = _sale_line(
                builder,
                variant,
                sales,
                f"Return: {description}",
                price,
                quantity,
                [region, channels["Retail"]],
            )
            builder.add_document(
                type_="ACCRECCREDIT",
                contact=builder.contact("Retail takings"),
                date=returned,
                lines=[line],
                reference="Customer return",
                line_amount_types="Inclusive" if variant.inclusive else "Exclusive",
            )


def _sale_line(
    builder: OrgBuilder,
    variant: Variant,
    account: SandboxAccount,
    description: str,
    price: Decimal,
    quantity: Decimal,
    tracking: list[tuple[str, str]],
) -> SandboxLine:
    if variant.inclusive:
        return builder.inclusive_line(
            account, description, price, quantity=quantity, tracking=tracking
        )
    # Exclusive: the same shelf price without tax, to the cent.
    unit = money(price / Decimal("1.15"))
    line = builder.line(
        account, description, money(unit * quantity), quantity=quantity, tracking=tracking
    )
    line.unit_amount = unit
    return line


def _export_sales(
    builder: OrgBuilder,
    variant: Variant,
    month: dt.date,
    channels: dict[str, tuple[str, str]],
    rates: dict[tuple[str, dt.date], Decimal],
) -> None:
    """A wholesale order invoiced in the customer's currency, zero-rated."""
    date = builder.date_in(month, 9)
    if date is None:
        return
    customer, currency = variant.export_customer
    rate = rates[(currency, month)]
    lines = [
        builder.line(
            builder.account("210"),
            f"{description}, wholesale",
            money(price / Decimal("1.15") * Decimal("0.55") * quantity),
            quantity=Decimal(quantity),
            tracking=[channels["Wholesale"]],
            currency_rate=rate,
        )
        for (description, price, _), quantity in zip(
            PRODUCTS, (builder.rng.randint(40, 90), builder.rng.randint(8, 20), 12), strict=True
        )
    ]
    builder.add_document(
        type_="ACCREC",
        contact=builder.contact(customer),
        date=date,
        lines=lines,
        reference=f"Wholesale order {month:%y%m}",
        currency=currency,
        currency_rate=rate,
    )


def _overseas_bills(
    builder: OrgBuilder,
    variant: Variant,
    month: dt.date,
    rates: dict[tuple[str, dt.date], Decimal],
) -> None:
    """Stock from two overseas suppliers, billed in their currencies; a supplier credit now and
    then (a foreign credit note)."""
    rng = builder.rng
    cogs = builder.account("310")
    for (supplier, currency), day, share in (
        (variant.supplier, 6, Decimal("0.6")),
        (variant.second_supplier, 13, Decimal("0.4")),
    ):
        date = builder.date_in(month, day)
        if date is None:
            continue
        rate = rates[(currency, month)]
        cartons = Decimal(rng.randint(18, 34))
        per_carton = money(Decimal(rng.uniform(1100, 1300)) * share)
        line = builder.line(
            cogs,
            f"Stock, {cartons} cartons",
            money(per_carton * cartons),
            quantity=cartons,
            currency_rate=rate,
        )
        builder.add_document(
            type_="ACCPAY",
            contact=builder.contact(supplier),
            date=date,
            lines=[line],
            number=builder.supplier_number(supplier[:3].upper()),
            reference=f"PO {month:%y%m}",
            currency=currency,
            currency_rate=rate,
        )
        if supplier == variant.supplier[0] and month.month % 3 == 0:
            credit_date = builder.date_in(month, 21)
            if credit_date is not None:
                credit = builder.line(
                    cogs,
                    "Credit: damaged cartons",
                    money(per_carton * 2),
                    quantity=Decimal(2),
                    currency_rate=rate,
                )
                builder.add_document(
                    type_="ACCPAYCREDIT",
                    contact=builder.contact(supplier),
                    date=credit_date,
                    lines=[credit],
                    reference="Damaged in transit",
                    currency=currency,
                    currency_rate=rate,
                )


def _local_costs(
    builder: OrgBuilder,
    variant: Variant,
    month: dt.date,
    regions: list[tuple[str, str]],
    channels: dict[str, tuple[str, str]],
) -> None:
    rng = builder.rng
    # Rent per store, one exclusive bill with a line per region.
    date = builder.date_in(month, 1)
    if date is not None:
        lines = [
            builder.line(
                builder.account("469"),
                "Store rent",
                money(Decimal(3800 + 900 * i)),
                tracking=[region, channels["Retail"]],
            )
            for i, region in enumerate(regions)
        ]
        builder.add_document(
            type_="ACCPAY",
            contact=builder.contact("Peak Property Management"),
            date=date,
            lines=lines,
            number=builder.supplier_number("PPM"),
            reference="Rent",
        )
    for i, region in enumerate(regions):
        builder.simple_document(
            "SPEND",
            month,
            26,
            code="477",
            contact="Payroll",
            description="Store wages",
            amount=Decimal(rng.uniform(6200, 6800)) + 800 * i,
            tracking=[region],
        )
    builder.simple_document(
        "ACCPAY",
        month,
        12,
        code="400",
        contact="Trailhead Digital",
        description="Search and social ads",
        amount=Decimal(rng.uniform(2100, 2900)),
        tracking=[channels["Online"]],
    )
    builder.simple_document(
        "ACCPAY",
        month,
        16,
        code="445",
        contact="Mercury Energy",
        description="Power, all stores",
        amount=Decimal(rng.uniform(900, 1300)),
    )
    # Courier and sundries paid by card: tax inclusive receipts in NZ.
    date = builder.date_in(month, 19)
    if date is not None:
        account = builder.account("429")
        if variant.inclusive:
            lines = [
                builder.inclusive_line(
                    account,
                    "Courier satchels",
                    Decimal("7.49"),
                    quantity=Decimal(rng.randint(40, 90)),
                    tracking=[channels["Online"]],
                ),
                builder.inclusive_line(
                    account, "Store sundries", money(Decimal(rng.uniform(80, 240)))
                ),
            ]
        else:
            lines = [
                builder.line(account, "Courier and sundries", money(Decimal(rng.uniform(380, 760))))
            ]
        builder.add_document(
            type_="SPEND",
            contact=builder.contact("Card purchases"),
            date=date,
            lines=lines,
            reference="Card statement",
            line_amount_types="Inclusive" if variant.inclusive else "Exclusive",
        )


def _depreciation(builder: OrgBuilder, month: dt.date, regions: list[tuple[str, str]]) -> None:
    """The monthly depreciation run, a manual journal split by region."""
    date = month_end(month)
    if date > builder.today:
        return
    amounts = [Decimal("412.50"), Decimal("318.75"), Decimal("287.40")]
    lines = [
        ("416", amount, "Store fit-out depreciation", [region])
        for amount, region in zip(amounts, regions, strict=True)
    ]
    lines.append(("711", -sum(amounts, ZERO), "Accumulated depreciation", []))
    builder.journal(date, f"Depreciation for {month:%B %Y}", lines)


def _unposted_documents(builder: OrgBuilder, variant: Variant, month: dt.date, index: int) -> None:
    """Documents the reports must ignore: a draft invoice every month, a voided bill every
    second month, a deleted invoice every third."""
    sales = builder.account("200")
    date = builder.date_in(month, 20)
    if date is None:
        return
    contact = builder.contact("Outdoor Education Trust")
    builder.add_document(
        type_="ACCREC",
        contact=contact,
        date=date,
        status="DRAFT",
        lines=[builder.line(sales, "Group order, awaiting confirmation", Decimal("4800.00"))],
        reference="Quote accepted?",
    )
    if index % 2 == 0:
        builder.add_document(
            type_="ACCPAY",
            contact=builder.contact("Mercury Energy"),
            date=date,
            status="VOIDED",
            lines=[builder.line(builder.account("445"), "Duplicate bill", Decimal("1111.11"))],
            number=builder.supplier_number("MER"),
            reference="Entered twice",
        )
    if index % 3 == 0:
        builder.add_document(
            type_="ACCREC",
            contact=contact,
            date=date,
            status="DELETED",
            lines=[builder.line(sales, "Entered in error", Decimal("2222.22"))],
            reference="Wrong customer",
        )


def _currency_entries(
    builder: OrgBuilder, month: dt.date, rates: dict[tuple[str, dt.date], Decimal]
) -> None:
    """Xero's own currency entries for the month, as system journals.

    Realised: a foreign document settled on its due date at that month's rate gains or loses
    the difference in base currency (bank against 499). Unrealised: at month end, documents
    still open are revalued at the next month's rate (receivable/payable against 498), reversed
    on the 1st.
    """
    base = builder.country.currency
    bank = builder.bank.code if builder.bank else "090"
    end = month_end(month)
    realised = ZERO
    unrealised = {"610": ZERO, "800": ZERO}
    for document in builder.documents:
        if document.currency_code == base or document.status not in ("AUTHORISED", "PAID"):
            continue
        receivable = document.type in ("ACCREC", "ACCPAYCREDIT")
        sign = 1 if receivable else -1  # a rise in value is a gain on what we are owed
        booked = sum((line.base_amount for line in document.lines), ZERO)
        foreign = sum((line.line_amount for line in document.lines), ZERO)
        due = document.due_date or document.date
        if document.status == "PAID" and month <= due <= end:
            now = money(foreign / rates[(document.currency_code, month)])
            realised += sign * (now - booked)
        if document.date <= end < due:
            closing = money(foreign / rates[(document.currency_code, add_months(month, 1))])
            control = "610" if document.type in ("ACCREC", "ACCRECCREDIT") else "800"
            unrealised[control] += sign * (closing - booked)
    if realised and end <= builder.today:
        builder.journal(
            end,
            "Realised currency gains and losses on settlement",
            [
                (bank, realised, "Settlement difference", []),
                ("499", -realised, "Realised currency gain", []),
            ],
            system=True,
        )
    total = unrealised["610"] + unrealised["800"]
    if total and end <= builder.today:
        lines = [(code, value, "Revaluation", []) for code, value in unrealised.items() if value]
        builder.journal(
            end, "Currency revaluation", [*lines, ("498", -total, "Revaluation", [])], system=True
        )
        reverse_on = end + dt.timedelta(days=1)
        if reverse_on <= builder.today:
            builder.journal(
                reverse_on,
                "Reversal: currency revaluation",
                [
                    *((code, -value, "Revaluation reversed", []) for code, value, _, _ in lines),
                    ("498", total, "Revaluation reversed", []),
                ],
                system=True,
            )


def _accrual_and_reclassification(builder: OrgBuilder) -> None:
    """An accrual at the end of M-2, reversed on the 1st of M-1; a reclassification in M-1;
    a draft and a voided journal that the reports ignore."""
    accrued = month_end(add_months(builder.last_closed, -1))
    builder.journal(
        accrued,
        "Accrual: power used, bill not yet received",
        [
            ("445", Decimal("1240.00"), "Power accrual", []),
            ("826", Decimal("-1240.00"), "Power accrual", []),
        ],
    )
    builder.journal(
        accrued + dt.timedelta(days=1),
        "Reversal: accrual of power used",
        [
            ("826", Decimal("1240.00"), "Power accrual reversed", []),
            ("445", Decimal("-1240.00"), "Power accrual reversed", []),
        ],
    )
    reclassified = builder.last_closed.replace(day=20)
    builder.journal(
        reclassified,
        "Reclassification: trade show stand coded to General Expenses",
        [
            ("400", Decimal("860.00"), "Trade show stand", []),
            ("429", Decimal("-860.00"), "Trade show stand", []),
        ],
    )
    builder.journal(
        reclassified,
        "Bonus accrual, to be confirmed",
        [("477", Decimal("5000.00"), "Bonus", []), ("826", Decimal("-5000.00"), "Bonus", [])],
        status="DRAFT",
    )
    builder.journal(
        reclassified,
        "Depreciation posted twice",
        [
            ("416", Decimal("1018.65"), "Duplicate", []),
            ("711", Decimal("-1018.65"), "Duplicate", []),
        ],
        status="VOIDED",
    )
