"""The opt-in organisations of issue #22 (`alpine`, NZ; `alpine-us`, US): two tracking
categories, tax-inclusive documents, foreign currencies at 4-6 decimal rates, currency gains,
manual journals, credit notes and documents the reports ignore; and every generated line's
LineAmount equal to Quantity x UnitAmount."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from integrations.xero.sandbox.app import SandboxApp, create_app
from integrations.xero.sandbox.generator import generate_organisations
from integrations.xero.sandbox.model import CURRENCY_SYSTEM_ACCOUNTS, SandboxOrganisation
from integrations.xero.sandbox.orgs.ledger import profit_and_loss_by_month
from integrations.xero.sandbox.ratelimit import SandboxLimits
from integrations.xero.sandbox.serializers import OrgIndex
from tests.integrations.xero.sandbox.contract import validate
from tests.integrations.xero.sandbox.harness import CLIENT, Connected, connect

API = "/api.xro/2.0"
TODAY = dt.date(2026, 6, 15)
CENT = Decimal("0.01")
MONTHS = [(2026, 5 - i) if i < 5 else (2025, 17 - i) for i in range(12)]  # May 2026 back


@pytest.fixture(scope="module")
def sandbox() -> SandboxApp:
    organisations = generate_organisations(seed=7, today=TODAY, extra=("alpine", "alpine-us"))
    return create_app(
        organisations=organisations,
        today=TODAY,
        clients=[CLIENT],
        limits=SandboxLimits(minute=100_000, day=100_000),
    )


@pytest.fixture(scope="module")
def api(sandbox: SandboxApp) -> Iterator[Connected]:
    connected = connect(
        sandbox, tenants=tuple(o.organisation_id for o in sandbox.state.organisations)
    )
    yield connected
    connected.client.close()


def _org(sandbox: SandboxApp, key: str) -> SandboxOrganisation:
    org = sandbox.state.organisation(key)
    assert org is not None
    return org


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text[:500]
    return response.json()


def _rows(report: dict[str, Any], column: int) -> dict[str, Decimal]:
    """Row id (AccountID or FXGROUPID) -> non-zero value of one column."""
    found = {}
    for section in report["Rows"]:
        for row in section.get("Rows", []):
            attributes = row["Cells"][0].get("Attributes") or []
            if row["RowType"] == "Row" and attributes:
                value = Decimal(row["Cells"][column]["Value"])
                if value:
                    found[attributes[0]["Value"]] = value
    return found


def _labelled(report: dict[str, Any], label: str) -> list[str]:
    return next(
        [c["Value"] for c in r["Cells"][1:]]
        for s in report["Rows"]
        for r in s.get("Rows", [])
        if r["Cells"][0]["Value"] == label
    )


def _year_of_months(api: Connected, org: SandboxOrganisation) -> dict[str, Any]:
    return _ok(
        api.get(
            f"{API}/Reports/ProfitAndLoss",
            tenant=org.organisation_id,
            fromDate="2026-05-01",
            toDate="2026-05-31",
            periods=11,
            standardLayout="true",
        )
    )["Reports"][0]


def test_the_default_five_are_unchanged_and_the_extras_are_opt_in() -> None:
    default = generate_organisations(seed=7, today=TODAY)
    with_extras = generate_organisations(seed=7, today=TODAY, extra=("alpine",))

    assert [o.key for o in default] == ["cafe", "saas", "construction", "importer", "group"]
    assert [o.key for o in with_extras] == [*(o.key for o in default), "alpine"]
    with pytest.raises(ValueError):
        generate_organisations(seed=7, today=TODAY, extra=("nowhere",))


def test_every_generated_line_amount_is_quantity_times_unit_amount(sandbox: SandboxApp) -> None:
    lines = mismatched = 0
    for org in sandbox.state.organisations:
        index = OrgIndex(org)
        for doc in org.documents:
            for line in doc.lines:
                served = index.line_json(line)
                lines += 1
                product = (served["Quantity"] * served["UnitAmount"]).quantize(
                    CENT, rounding=ROUND_HALF_UP
                )
                mismatched += product != served["LineAmount"]

    assert lines > 45_000
    assert mismatched == 0


def test_alpine_is_a_new_zealand_organisation_with_two_tracking_categories(
    sandbox: SandboxApp, api: Connected
) -> None:
    org = _org(sandbox, "alpine")
    categories = _ok(api.get(f"{API}/TrackingCategories", tenant=org.organisation_id))[
        "TrackingCategories"
    ]
    organisation = _ok(api.get(f"{API}/Organisation", tenant=org.organisation_id))["Organisations"][
        0
    ]

    assert (organisation["CountryCode"], organisation["BaseCurrency"]) == ("NZ", "NZD")
    assert [c["Name"] for c in categories] == ["Region", "Channel"]
    two_tags = [line for doc in org.documents for line in doc.lines if len(line.tracking) == 2]
    assert len(two_tags) > 500


@pytest.mark.parametrize("key", ["alpine", "alpine-us"])
def test_monthly_profit_and_loss_is_the_documents_and_journals(
    sandbox: SandboxApp, api: Connected, key: str
) -> None:
    org = _org(sandbox, key)
    report = _year_of_months(api, org)
    expected = profit_and_loss_by_month(org.accounts, org.documents, org.manual_journals)
    currency = {a.account_id for a in org.accounts if a.system_account in CURRENCY_SYSTEM_ACCOUNTS}

    for column, (year, month) in enumerate(MONTHS, start=1):
        period = f"{year}-{month:02d}"
        wanted: dict[str, Decimal] = defaultdict(Decimal)
        for account_id, months in expected.items():
            value = months.get(period, Decimal(0))
            grouped = key == "alpine" and account_id in currency
            wanted["FXGROUPID" if grouped else account_id] += value
        assert _rows(report, column) == {k: v for k, v in wanted.items() if v}, (key, period)


def test_nz_currency_gains_are_one_fxgroupid_row_and_us_ones_are_accounts(
    sandbox: SandboxApp, api: Connected
) -> None:
    nz = _year_of_months(api, _org(sandbox, "alpine"))
    us_org = _org(sandbox, "alpine-us")
    us = _year_of_months(api, us_org)

    fx_rows = [
        r
        for s in nz["Rows"]
        for r in s.get("Rows", [])
        if (r["Cells"][0].get("Attributes") or [{}])[0].get("Value") == "FXGROUPID"
    ]
    assert len(fx_rows) == 1
    assert fx_rows[0]["Cells"][0]["Value"] == "Foreign Currency Gains and Losses"
    assert sum(1 for cell in fx_rows[0]["Cells"][1:] if Decimal(cell["Value"])) >= 10
    assert "FXGROUPID" not in str(us)
    realised = next(a for a in us_org.accounts if a.system_account == "REALISEDCURRENCYGAIN")
    unrealised = next(a for a in us_org.accounts if a.system_account == "UNREALISEDCURRENCYGAIN")
    assert any(_rows(us, c).get(realised.account_id) for c in range(1, 13))
    assert any(_rows(us, c).get(unrealised.account_id) for c in range(1, 13))


def test_a_currency_system_account_is_budgeted(sandbox: SandboxApp) -> None:
    org = _org(sandbox, "alpine")
    codes = {a.account_id: a.code for a in org.accounts}
    overall = next(b for b in org.budgets if b.type == "OVERALL")

    budgeted = {codes[account_id] for account_id in overall.lines}
    assert "499" in budgeted
    assert not budgeted & {"497", "498"}
    assert len(set(overall.lines[next(k for k, c in codes.items() if c == "499")].values())) == 2


def test_net_profit_is_the_sum_of_the_rows(sandbox: SandboxApp, api: Connected) -> None:
    org = _org(sandbox, "alpine")
    report = _year_of_months(api, org)
    revenue = {a.account_id for a in org.accounts if a.account_class == "REVENUE"}

    for column in range(1, 13):
        net = sum((v if k in revenue else -v for k, v in _rows(report, column).items()), Decimal(0))
        assert Decimal(_labelled(report, "NET PROFIT")[column - 1]) == net


def test_inclusive_documents_report_their_amounts_less_tax(
    sandbox: SandboxApp, api: Connected
) -> None:
    org = _org(sandbox, "alpine")
    inclusive = [d for d in org.documents if d.line_amount_types == "Inclusive"]
    invoices = _ok(api.get(f"{API}/Invoices", tenant=org.organisation_id, page=1, pageSize=1000))[
        "Invoices"
    ]
    served = next(i for i in invoices if i["LineAmountTypes"] == "Inclusive")

    assert len(inclusive) > 300
    assert {d.type for d in inclusive} >= {"ACCREC", "ACCRECCREDIT", "SPEND"}
    for doc in inclusive:
        for line in doc.lines:
            # GST is 3/23 of an inclusive amount; the report uses the amount less the tax given.
            assert line.tax_amount == (line.line_amount * 3 / 23).quantize(CENT, ROUND_HALF_UP)
            assert line.base_amount == line.line_amount - line.tax_amount
    total = sum(Decimal(str(item["LineAmount"])) for item in served["LineItems"])
    assert Decimal(str(served["Total"])) == total
    assert Decimal(str(served["SubTotal"])) == total - Decimal(str(served["TotalTax"]))


def test_foreign_documents_convert_line_by_line_at_rates_of_four_to_six_decimals(
    sandbox: SandboxApp,
) -> None:
    org = _org(sandbox, "alpine")
    foreign = [d for d in org.documents if d.currency_code != "NZD"]

    assert {d.currency_code for d in foreign} == {"USD", "EUR", "AUD"}
    assert {d.type for d in foreign} >= {"ACCPAY", "ACCREC", "ACCPAYCREDIT"}
    assert {-d.currency_rate.as_tuple().exponent for d in foreign} == {4, 5, 6}  # type: ignore[operator]
    for doc in foreign:
        for line in doc.lines:
            # Xero's CurrencyRate is foreign units per unit of base currency.
            assert line.base_amount == (line.line_amount / doc.currency_rate).quantize(
                CENT, ROUND_HALF_UP
            )


def test_manual_journals_hit_the_profit_and_loss(sandbox: SandboxApp, api: Connected) -> None:
    org = _org(sandbox, "alpine")
    report = _year_of_months(api, org)
    depreciation = next(a for a in org.accounts if a.code == "416").account_id
    narrations = [j.narration for j in org.manual_journals if not j.system]

    assert all(_rows(report, c)[depreciation] == Decimal("1018.65") for c in range(1, 13))
    assert any(n.startswith("Accrual:") for n in narrations)
    assert any(n.startswith("Reversal: accrual") for n in narrations)
    assert any(n.startswith("Reclassification:") for n in narrations)
    assert {j.status for j in org.manual_journals} == {"POSTED", "DRAFT", "VOIDED"}


def test_drafts_voided_and_deleted_documents_are_not_in_the_reports(
    sandbox: SandboxApp, api: Connected
) -> None:
    org = _org(sandbox, "alpine")
    statuses = {d.status for d in org.documents}
    report = _year_of_months(api, org)
    # Every month's P&L without the unposted documents is the P&L of everything posted (checked
    # above); here: the month of a draft would differ if it counted.
    sales = next(a for a in org.accounts if a.code == "200").account_id
    posted_only = profit_and_loss_by_month(org.accounts, org.documents, org.manual_journals)
    everything = defaultdict(Decimal)
    for doc in org.documents:
        if doc.date.strftime("%Y-%m") == "2026-05" and doc.type == "ACCREC":
            everything["all"] += sum((line.base_amount for line in doc.lines), Decimal(0))

    assert statuses == {"AUTHORISED", "PAID", "DRAFT", "VOIDED", "DELETED"}
    assert _rows(report, 1)[sales] == posted_only[sales]["2026-05"]
    credit_notes = [d for d in org.documents if d.type == "ACCRECCREDIT"]
    assert credit_notes
    assert _rows(report, 1)[sales] < everything["all"]


@pytest.mark.parametrize("key", ["alpine", "alpine-us"])
def test_balance_sheet_and_trial_balance_stay_consistent(
    sandbox: SandboxApp, api: Connected, key: str
) -> None:
    org = _org(sandbox, key)
    tenant = org.organisation_id
    sheet = _ok(api.get(f"{API}/Reports/BalanceSheet", tenant=tenant, date="2026-05-31"))[
        "Reports"
    ][0]
    trial = _ok(api.get(f"{API}/Reports/TrialBalance", tenant=tenant, date="2026-05-31"))[
        "Reports"
    ][0]
    month = _year_of_months(api, org)

    assert _labelled(sheet, "Net Assets") == _labelled(sheet, "Total Equity")
    debit, credit, ytd_debit, ytd_credit = _labelled(trial, "Total")
    assert (debit, ytd_debit) == (credit, ytd_credit)
    # The trial balance's May movements on P&L accounts are the P&L's May column.
    moved = {}
    for section in trial["Rows"]:
        for row in section.get("Rows", []):
            attributes = row["Cells"][0].get("Attributes") or []
            if attributes and section["Title"] in ("Revenue", "Expenses"):
                d, c = (Decimal(row["Cells"][i]["Value"] or 0) for i in (1, 2))
                moved[attributes[0]["Value"]] = d - c
    currency = {a.account_id for a in org.accounts if a.system_account in CURRENCY_SYSTEM_ACCOUNTS}
    revenue = {a.account_id for a in org.accounts if a.account_class == "REVENUE"}
    from_trial: dict[str, Decimal] = defaultdict(Decimal)
    for account_id, value in moved.items():
        row = "FXGROUPID" if key == "alpine" and account_id in currency else account_id
        from_trial[row] += -value if account_id in revenue else value
    assert {k: v for k, v in from_trial.items() if v} == _rows(month, 1)


@pytest.mark.parametrize("key", ["alpine", "alpine-us"])
def test_extra_organisations_are_spec_valid(sandbox: SandboxApp, api: Connected, key: str) -> None:
    org = _org(sandbox, key)
    tenant = org.organisation_id
    for path, params, schema in [
        ("Invoices", {"page": 1}, "Invoices"),
        ("CreditNotes", {"page": 1}, "CreditNotes"),
        ("BankTransactions", {"page": 1}, "BankTransactions"),
        ("ManualJournals", {"page": 1}, "ManualJournals"),
        ("ManualJournals", {}, "ManualJournals"),
        ("Contacts", {"page": 1, "pageSize": 5}, "Contacts"),
        (
            "Reports/BalanceSheet",
            {
                "date": "2026-05-31",
                "trackingOptionID1": org.tracking_categories[0].options[0].option_id,
            },
            "ReportWithRows",
        ),
        (
            "Reports/ProfitAndLoss",
            {"fromDate": "2026-05-01", "toDate": "2026-05-31"},
            "ReportWithRows",
        ),
        (
            f"Budgets/{org.budgets[0].budget_id}",
            {"DateFrom": "2026-04-01", "DateTo": "2027-03-31"},
            "Budgets",
        ),
    ]:
        validate(_ok(api.get(f"{API}/{path}", tenant=tenant, **params)), schema)


def test_the_command_line_and_create_app_add_the_opt_in_organisations() -> None:
    from integrations.xero.sandbox.__main__ import build_app, build_parser

    args = build_parser().parse_args(
        ["serve", "--today", "2026-06-15", "--with-organisation", "alpine-us"]
    )
    app = build_app(args)

    assert isinstance(app, SandboxApp)
    assert [o.key for o in app.state.organisations][-2:] == ["group", "alpine-us"]
    with pytest.raises(SystemExit):
        from integrations.xero.sandbox.__main__ import main

        main(["serve", "--with-organisation", "atlantis"])
