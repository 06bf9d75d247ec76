"""Drivers that add up: the transaction lines behind a variance, converted as Xero posts them,
reconciled per account and month with the P&L actual, and what they do not explain stored and
shown, never dropped."""

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from budgeting.ledger.sync import DRIVERS_FROM_STORED_LINES
from budgeting.models import (
    Account,
    ActualBalance,
    DriverRemainder,
    SyncRun,
    TransactionLine,
    XeroOrganisation,
)
from core import clock
from core.months import add_months, month_start
from integrations.xero.client import XeroClient
from integrations.xero.sandbox.faults import FaultSpec
from tenants.roles import Role
from tests.alpine import ALPINE, BIGHORN, alpine_connected
from tests.sandbox import ORGANISATIONS, SANDBOX_ADMIN, sandbox_http, sync

IMPORTER = "Tidemark Homewares"
CAFE = "Harbour Lane Café"


def _window_start(firm, organisation) -> dt.date:
    """The first month whose lines the sync keeps: counted from the organisation's own month
    (late evening UTC it can already be next month in Auckland)."""
    profile = XeroOrganisation.objects.for_firm(firm).get(organisation=organisation)
    today = clock.today(profile.timezone)
    return add_months(month_start(today), -settings.XERO_TRANSACTION_MONTHS)


def lines_by_account_month(firm, organisation, since) -> dict[tuple[str, dt.date], Decimal]:
    totals: dict[tuple[str, dt.date], Decimal] = defaultdict(Decimal)
    for line in TransactionLine.objects.for_firm(firm).filter(
        organisation=organisation,
        date__gte=since,
        account__account_class__in=("REVENUE", "EXPENSE"),
    ):
        totals[(line.account.account_id, month_start(line.date))] += line.amount
    return {key: amount for key, amount in totals.items() if amount}


def actuals_by_account_month(firm, organisation, since) -> dict[tuple[str, dt.date], Decimal]:
    return {
        (a.account.account_id, a.period): a.amount
        for a in ActualBalance.objects.for_firm(firm)
        .filter(organisation=organisation, tracking_option__isnull=True, period__gte=since)
        .select_related("account")
    }


@pytest.mark.parametrize("name", ORGANISATIONS)
def test_every_account_month_of_lines_equals_the_profit_and_loss(connected_firm, name):
    run = sync(connected_firm, name)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    firm, organisation = connected_firm.firm, connected_firm.linked[name]
    since = _window_start(firm, organisation)

    # Independently of the stored remainders: the lines add up to the report, to the cent, in
    # every account and month they are kept for (Tidemark's bills carry six-decimal USD and EUR
    # rates, so a rate rounded to cents would be off here).
    assert lines_by_account_month(firm, organisation, since) == actuals_by_account_month(
        firm, organisation, since
    )
    assert run.counts["driver_remainders"] == 0
    assert not DriverRemainder.objects.for_firm(firm).filter(organisation=organisation).exists()


def _add_bill(app, org_key: str, **fields) -> dict:
    with sandbox_http(app) as http:
        response = http.post(
            f"/_sandbox/organisations/{org_key}/invoices", headers=SANDBOX_ADMIN, json=fields
        )
    assert response.status_code == 200, response.text
    return response.json()["invoice"]


@pytest.mark.mutable_sandbox
def test_a_foreign_bill_is_converted_at_its_full_rate_and_a_voided_one_leaves(
    connected_firm, xero_sandbox
):
    firm, organisation = connected_firm.firm, connected_firm.linked[IMPORTER]
    today = xero_sandbox.clock.today()
    # 1 GBP = 1.2713 USD: US$1,000.00 of freight is £786.60 (1000 / 1.2713 = 786.6003...); a
    # rate read as 1.27 would make it £787.40.
    bill = _add_bill(
        xero_sandbox,
        "importer",
        type="ACCPAY",
        contact="Pacific Freight Lines",
        date=today.isoformat(),
        currencyCode="USD",
        currencyRate="1.2713",
        lines=[{"accountCode": "320", "description": "Ocean freight", "amount": "1000.00"}],
    )
    draft = _add_bill(
        xero_sandbox,
        "importer",
        type="ACCPAY",
        contact="Pacific Freight Lines",
        date=today.isoformat(),
        status="DRAFT",
        lines=[{"accountCode": "320", "description": "Not approved yet", "amount": "500.00"}],
    )
    run = sync(connected_firm, IMPORTER)
    assert run.state == SyncRun.State.SUCCEEDED, run.error

    lines = TransactionLine.objects.for_firm(firm).filter(organisation=organisation)
    freight = lines.get(document_id=bill["InvoiceID"])
    assert freight.amount == Decimal("786.60")
    assert (freight.line_amount, freight.currency_code) == (Decimal("1000.00"), "USD")
    assert freight.currency_rate == Decimal("1.2713")
    assert not lines.filter(document_id=draft["InvoiceID"]).exists()
    assert run.counts["driver_remainders"] == 0

    # Voided in Xero: the next (incremental) sync takes its line out, as the P&L does.
    with sandbox_http(xero_sandbox) as http:
        http.post(
            f"/_sandbox/organisations/importer/invoices/{bill['InvoiceID']}",
            headers=SANDBOX_ADMIN,
            json={"status": "VOIDED"},
        )
    run = sync(connected_firm, IMPORTER)
    assert run.kind == SyncRun.Kind.INCREMENTAL
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert not lines.filter(document_id=bill["InvoiceID"]).exists()
    assert run.counts["driver_remainders"] == 0


@pytest.mark.mutable_sandbox
def test_what_the_lines_do_not_explain_is_stored_and_shown(
    client, connected_firm, firm_b, xero_sandbox
):
    firm, organisation = connected_firm.firm, connected_firm.linked[IMPORTER]
    today = xero_sandbox.clock.today()
    # Xero posted this bill at £12.40 more than its line converts to (as a journal, a rounding
    # line or a rate we cannot see would): the P&L says £799.00, the line £786.60.
    bill = _add_bill(
        xero_sandbox,
        "importer",
        type="ACCPAY",
        contact="Pacific Freight Lines",
        date=today.isoformat(),
        currencyCode="USD",
        currencyRate="1.2713",
        lines=[{"accountCode": "320", "amount": "1000.00", "baseAmount": "799.00"}],
    )
    run = sync(connected_firm, IMPORTER)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.counts["driver_remainders"] == 1

    freight = Account.objects.for_firm(firm).get(organisation=organisation, code="320")
    period = month_start(today)
    remainder = DriverRemainder.objects.for_firm(firm).get(organisation=organisation)
    assert (remainder.account, remainder.period, remainder.tracking_option) == (
        freight,
        period,
        None,
    )
    assert remainder.remainder == Decimal("12.40")
    assert remainder.actual - remainder.explained == Decimal("12.40")
    assert (
        remainder.actual
        == ActualBalance.objects.for_firm(firm)
        .get(organisation=organisation, account=freight, period=period, tracking_option=None)
        .amount
    )

    # The month's transactions screen lists the lines and says what they leave unexplained.
    url = reverse("variance_account_transactions", args=[firm.slug, organisation.pk, freight.pk])
    client.force_login(connected_firm.member(Role.VIEWER).user)
    page = client.get(url, {"period": f"{period:%Y-%m}"}).content.decode()
    assert "Unexplained: £12.40" in page
    # Another firm's people see nothing of it.
    client.force_login(firm_b.member(Role.OWNER).user)
    other = reverse(
        "variance_account_transactions", args=[firm_b.firm.slug, organisation.pk, freight.pk]
    )
    assert client.get(other, {"period": f"{period:%Y-%m}"}).status_code == 404

    # Voided in Xero: the P&L and the lines agree again, and the remainder is gone.
    with sandbox_http(xero_sandbox) as http:
        http.post(
            f"/_sandbox/organisations/importer/invoices/{bill['InvoiceID']}",
            headers=SANDBOX_ADMIN,
            json={"status": "VOIDED"},
        )
    run = sync(connected_firm, IMPORTER)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.counts["driver_remainders"] == 0
    assert not DriverRemainder.objects.for_firm(firm).filter(organisation=organisation).exists()


def test_a_narrative_says_what_the_lines_leave_unexplained():
    from tests.budgeting.variance.facts import campaign_facts, explain

    # The month's actual is 12.40 more than its synced lines (a journal, say): the narrative
    # still names the campaign, and says so rather than dropping it.
    narrative = explain(campaign_facts(unsynced="12.40"))
    assert narrative.facts["unexplained"] == "12.40"
    assert "Brightwave Media" in narrative.text
    assert "12.40 of the actual is not in the synced transactions." in narrative.text

    narrative = explain(campaign_facts(unsynced="-12.40"))
    assert narrative.facts["unexplained"] == "-12.40"
    assert (
        "The synced transactions for September 2025 come to 12.40 more than the actual."
        in narrative.text
    )

    # Lines that add up to the actual need no such sentence.
    narrative = explain(campaign_facts())
    assert narrative.facts["unexplained"] == "0.00"
    assert "synced transactions" not in narrative.text


def test_the_narratives_facts_show_what_the_lines_leave_unexplained(client, firm_a, firm_b):
    from tests.budgeting.variance_data import variance_organisation_create

    # October's rent has a 2,500 journal on top of its 5,000 bill: the lines explain 5,000.
    data = variance_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    rent = data.accounts["469"]
    client.force_login(firm_a.member(Role.VIEWER).user)
    url = reverse(
        "variance_account_detail", args=[firm_a.firm.slug, firm_a.organisation.pk, rent.pk]
    )
    page = client.get(url, {"period": "2026-10"}).content.decode()
    assert (
        "Unexplained: NZ$2,500.00 of the actual is not in the synced transactions "
        "(they add up to NZ$5,000.00)." in page
    )
    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.get(url, {"period": "2026-10"}).status_code == 404


def _natural(account, debit: Decimal) -> Decimal:
    return -debit if account.account_class == "REVENUE" else debit


def test_inclusive_foreign_and_journal_lines_add_up_to_the_profit_and_loss(
    client, firm_a, test_today
):
    with alpine_connected(client, firm_a, test_today) as (_app, sandbox):
        run = sync(firm_a, ALPINE)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    firm, organisation = firm_a.firm, firm_a.linked[ALPINE]
    since = _window_start(firm, organisation)
    lines = TransactionLine.objects.for_firm(firm).filter(organisation=organisation)

    # GST-inclusive takings are stored without their GST (LineAmount less the line's TaxAmount),
    # and customer returns as inclusive credit notes take revenue back.
    inclusive = lines.filter(line_amount_types="Inclusive", tax_amount__gt=0)
    assert inclusive.exists()
    assert all(
        abs(line.amount) == line.line_amount - line.tax_amount
        for line in inclusive.filter(currency_code="NZD")
    )
    assert lines.filter(document_type="ACCRECCREDIT", amount__lt=0).exists()
    # Foreign lines carry their rate at full precision (4 to 6 decimal places).
    rates = {
        line.currency_rate.normalize().as_tuple().exponent
        for line in lines.exclude(currency_code__in=("NZD", ""))
    }
    assert {-4, -5, -6} <= rates
    # Drafts, voided and deleted documents are not drivers.
    unposted = {
        d.document_id
        for d in sandbox[ALPINE].documents
        if d.status in ("DRAFT", "SUBMITTED", "VOIDED", "DELETED")
    }
    assert unposted
    assert not lines.filter(document_id__in=unposted).exists()

    # So every account and month the lines are kept for equals the P&L to the cent, overall and
    # for each option of both tracking categories, except the "FX gains and losses" line: the
    # report groups the currency accounts on it (FXGROUPID), and its figures are Xero's own
    # currency entries, which no list the API offers holds.
    actuals = actuals_by_account_month(firm, organisation, since)
    fx = {key: amount for key, amount in actuals.items() if key[0] == "FXGROUPID"}
    assert fx
    assert lines_by_account_month(firm, organisation, since) == {
        key: amount for key, amount in actuals.items() if key[0] != "FXGROUPID"
    }
    # Those entries are what is left unexplained, on the FX line only, month by month.
    accounts = {a.account_id: a for a in sandbox[ALPINE].accounts}
    expected: dict[dt.date, Decimal] = defaultdict(Decimal)
    for journal in sandbox[ALPINE].manual_journals:
        if journal.system and journal.status == "POSTED" and journal.date >= since:
            for line in journal.lines:
                if accounts[line.account_id].account_class in ("REVENUE", "EXPENSE"):
                    expected[month_start(journal.date)] += line.line_amount
    remainders = DriverRemainder.objects.for_firm(firm).filter(
        organisation=organisation, tracking_option=None
    )
    assert {r.account.account_id for r in remainders} == {"FXGROUPID"}
    assert {r.period: r.remainder for r in remainders} == {
        period: amount for period, amount in expected.items() if amount
    }
    assert {r.period: r.remainder for r in remainders} == {
        period: amount for (_account, period), amount in fx.items()
    }
    assert run.counts["driver_remainders"] == sum(
        1 for r in remainders if abs(r.remainder) > Decimal("0.01")
    )


def test_xeros_own_currency_entries_show_as_unexplained(client, firm_a, test_today):
    # Realised and unrealised currency gains are entries Xero makes itself: on the P&L, but in
    # no document or manual journal the API lists. Their accounts' remainders are exactly them.
    with alpine_connected(client, firm_a, test_today) as (_app, sandbox):
        run = sync(firm_a, BIGHORN)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    firm, organisation = firm_a.firm, firm_a.linked[BIGHORN]
    since = _window_start(firm, organisation)
    accounts = {a.account_id: a for a in sandbox[BIGHORN].accounts}
    # Up to the organisation's own month, the last the P&L is read for: a journal already in
    # next month where Xero's date has turned (UTC) but the organisation's has not waits for it.
    current = month_start(clock.today(sandbox[BIGHORN].timezone))
    expected: dict[tuple[str, dt.date], Decimal] = defaultdict(Decimal)
    for journal in sandbox[BIGHORN].manual_journals:
        if (
            journal.system
            and journal.status == "POSTED"
            and since <= journal.date
            and month_start(journal.date) <= current
        ):
            for line in journal.lines:
                account = accounts[line.account_id]
                if account.account_class in ("REVENUE", "EXPENSE"):
                    expected[(account.code, month_start(journal.date))] += _natural(
                        account, line.line_amount
                    )
    remainders = {
        (r.account.code, r.period): r.remainder
        for r in DriverRemainder.objects.for_firm(firm)
        .filter(organisation=organisation, tracking_option=None)
        .select_related("account")
    }
    assert remainders == {key: amount for key, amount in expected.items() if amount}
    assert {code for code, _period in remainders} <= {"497", "498", "499"}
    assert run.counts["driver_remainders"] == sum(1 for a in remainders.values() if abs(a) > 0.01)


@pytest.mark.mutable_sandbox
def test_unexplained_amounts_follow_the_new_actuals_when_the_transactions_fail(
    connected_firm, xero_sandbox
):
    """A run that saves the P&L but cannot read the transactions works the remainders out again
    against the lines already stored: they describe the figures on screen, and say so."""
    firm, organisation = connected_firm.firm, connected_firm.linked[CAFE]
    assert sync(connected_firm, CAFE).state == SyncRun.State.SUCCEEDED
    remainders = DriverRemainder.objects.for_firm(firm).filter(organisation=organisation)
    assert not remainders.filter(account__code="200").exists()
    today = xero_sandbox.clock.today()
    _add_bill(
        xero_sandbox,
        "cafe",
        type="ACCREC",
        contact="Wharfside Events Ltd",
        date=today.isoformat(),
        lines=[{"accountCode": "200", "description": "Gala catering", "amount": "2400.00"}],
    )

    # The invoices cannot be read: the P&L is saved with the gala in it, the lines are not.
    xero_sandbox.faults.add(
        FaultSpec(kind="status", status=503, organisation="cafe", endpoint="Invoices", count=5)
    )
    failed = sync(
        connected_firm, CAFE, client_factory=lambda t: XeroClient(tenant=t, backoff=lambda a: 0)
    )
    assert failed.state == SyncRun.State.SUCCEEDED, failed.error
    assert [f["name"] for f in failed.failed_scopes] == ["Transactions"]
    gala = remainders.get(account__code="200", period=month_start(today), tracking_option=None)
    assert gala.remainder == Decimal("2400.00")
    assert DRIVERS_FROM_STORED_LINES in failed.error
    assert gala.actual == (
        ActualBalance.objects.for_firm(firm)
        .get(organisation=organisation, account=gala.account, period=gala.period)
        .amount
    )
    assert (
        failed.counts["driver_remainders"]
        == remainders.filter(remainder__gt=Decimal("0.01")).count()
        + remainders.filter(remainder__lt=Decimal("-0.01")).count()
    )

    # The next run reads the invoice: nothing is left unexplained on sales.
    again = sync(connected_firm, CAFE)
    assert again.state == SyncRun.State.SUCCEEDED and again.failed_scopes == []
    assert DRIVERS_FROM_STORED_LINES not in again.error
    assert not remainders.filter(account__code="200").exists()


def test_inclusive_documents_and_journals_posted_in_the_sandbox_are_drivers(
    client, firm_a, test_today
):
    """The sandbox's control API posts what a Xero user would: a GST-inclusive invoice (tax
    per line), a bill in US dollars at a six-decimal rate and a manual journal. After a sync
    each is a driver, converted as Xero posts it, and nothing but Xero's own currency entries
    is left unexplained."""
    with alpine_connected(client, firm_a, test_today) as (app, _sandbox):
        today = app.clock.today()
        with sandbox_http(app) as http:
            invoice = http.post(
                "/_sandbox/organisations/alpine/invoices",
                headers=SANDBOX_ADMIN,
                json={
                    "type": "ACCREC",
                    "contact": "Queenstown Ski School",
                    "date": today.isoformat(),
                    "lineAmountTypes": "Inclusive",
                    "lines": [
                        {
                            "accountCode": "200",
                            "description": "Group ski hire",
                            "amount": "1150.00",
                            "tracking": [{"category": "Region", "option": "Christchurch"}],
                        }
                    ],
                },
            )
            bill = http.post(
                "/_sandbox/organisations/alpine/invoices",
                headers=SANDBOX_ADMIN,
                json={
                    "type": "ACCPAY",
                    "contact": "Summit Gear Manufacturing Co.",
                    "date": today.isoformat(),
                    "currencyCode": "USD",
                    "currencyRate": "0.593127",
                    "lines": [
                        {"accountCode": "310", "description": "Crampons", "amount": "777.77"}
                    ],
                },
            )
            journal = http.post(
                "/_sandbox/organisations/alpine/manual-journals",
                headers=SANDBOX_ADMIN,
                json={
                    "date": today.isoformat(),
                    "narration": "Audit fee accrual",
                    "lines": [
                        {
                            "accountCode": "445",
                            "amount": "640.00",
                            "description": "Audit fee",
                            "tracking": [{"category": "Region", "option": "Auckland"}],
                        },
                        {"accountCode": "826", "amount": "-640.00"},
                    ],
                },
            )
            unbalanced = http.post(
                "/_sandbox/organisations/alpine/manual-journals",
                headers=SANDBOX_ADMIN,
                json={
                    "narration": "Typo",
                    "lines": [
                        {"accountCode": "445", "amount": "10.00"},
                        {"accountCode": "826", "amount": "-1.00"},
                    ],
                },
            )
        assert invoice.status_code == bill.status_code == journal.status_code == 200
        assert unbalanced.status_code == 400
        # Read as Xero's JSON numbers are: exactly, never through a float.
        sent = json.loads(invoice.text, parse_float=Decimal)["invoice"]
        assert (sent["LineAmountTypes"], sent["SubTotal"], sent["TotalTax"]) == (
            "Inclusive",
            Decimal("1000.00"),
            Decimal("150.00"),
        )
        assert sent["LineItems"][0]["TaxAmount"] == Decimal("150.00")
        rate = json.loads(bill.text, parse_float=Decimal)["invoice"]["CurrencyRate"]
        assert rate == Decimal("0.593127")
        run = sync(firm_a, ALPINE)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    firm, organisation = firm_a.firm, firm_a.linked[ALPINE]
    lines = TransactionLine.objects.for_firm(firm).filter(organisation=organisation)

    hire = lines.get(description="Group ski hire")
    assert (hire.amount, hire.line_amount, hire.tax_amount) == (
        Decimal("1000.00"),
        Decimal("1150.00"),
        Decimal("150.00"),
    )
    assert hire.tracking_option.name == "Christchurch"
    crampons = lines.get(description="Crampons")
    # US$777.77 at 0.593127 US$ per NZ$: NZ$1,311.30 (777.77 / 0.593127 = 1311.3043...; at a
    # rate cut to 0.59 it would be 1,318.25).
    assert crampons.currency_rate == Decimal("0.593127")
    assert crampons.amount == Decimal("1311.30")
    fee = lines.get(document_type="MANJOURNAL", description="Audit fee")
    assert (fee.account.code, fee.amount, fee.tracking_option.name) == (
        "445",
        Decimal("640.00"),
        "Auckland",
    )
    # The P&L took each of them as the lines did: only the FX line is left unexplained.
    assert set(
        DriverRemainder.objects.for_firm(firm)
        .filter(organisation=organisation)
        .values_list("account__account_id", flat=True)
    ) == {"FXGROUPID"}
