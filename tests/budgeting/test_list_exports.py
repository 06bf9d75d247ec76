"""Every list of a client exports to CSV as the screen shows it: the drafts, forecast accuracy,
the transactions behind an account, the approval timeline and the import files. The file is
named after the organisation and the period, people's words cannot run as a formula, and another
firm's client is as missing as one that does not exist."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from budgeting.models import ApprovalDecision, Draft
from core import clock
from tenants.roles import Role
from tests.budgeting.draft_data import draft_organisation_create
from tests.budgeting.screens import csv_rows
from tests.factories import (
    AccountFactory,
    ApprovalDecisionFactory,
    ApprovalStepFactory,
    BudgetPublicationFactory,
    DraftFactory,
    DraftLineFactory,
    ForecastRecordFactory,
    MembershipFactory,
    TransactionLineFactory,
    UserFactory,
    XeroOrganisationFactory,
)

FORMULA = '=HYPERLINK("http://evil.example","x")'


def url(cast, name, *args, organisation=None):
    organisation = organisation or cast.organisation
    return reverse(name, args=[cast.firm.slug, organisation.pk, *args])


def filename(response) -> str:
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    return disposition.split("filename=", 1)[1].strip('"')


def as_viewer(client, cast):
    client.force_login(cast.member(Role.VIEWER).user)


def test_the_drafts_export_with_the_preparers_name_guarded(client, firm_a, firm_b):
    preparer = MembershipFactory(firm=firm_a.firm, user=UserFactory(full_name=FORMULA))
    DraftFactory(organisation=firm_a.organisation, created_by=preparer.user)
    DraftFactory(organisation=firm_b.organisation)
    as_viewer(client, firm_a)

    response = client.get(url(firm_a, "draft_list_csv"))

    rows = csv_rows(response)
    assert rows[0][:3] == ["Draft", "Created", "By"]
    assert len(rows) == 2  # firm B's draft is not in firm A's list
    assert rows[1][0] == "Forecast from Nov 2026" and rows[1][3] == "2026-11"
    assert rows[1][2] == "'" + FORMULA
    assert filename(response) == f"harbour-lane-cafe-forecast-drafts-{clock.today()}.csv"


def test_forecast_accuracy_exports_every_scored_line_in_plain_words(client, firm_a):
    account = AccountFactory(organisation=firm_a.organisation, code="400", name="Advertising")
    ForecastRecordFactory(
        organisation=firm_a.organisation,
        account=account,
        method="croston_sba",
        actual=Decimal("3000"),
        abs_error=Decimal("200"),
        within_80=True,
        within_95=True,
        scored_at=dt.datetime(2026, 12, 2, tzinfo=dt.UTC),
    )
    as_viewer(client, firm_a)

    response = client.get(url(firm_a, "forecast_accuracy_csv"))

    rows = csv_rows(response)
    assert rows[0][4:6] == ["Months scored", "Typical error %"]
    assert rows[1][:5] == ["All lines", "", "", "", "1"]
    assert rows[2][0] == "1 month ahead"
    methods = [row[0] for row in rows if row[0].startswith("Method: ")]
    assert len(methods) == 1 and "croston" not in methods[0]  # the method's plain name
    assert rows[-1][:4] == ["Line", "400", "Advertising", ""]
    assert filename(response) == f"harbour-lane-cafe-forecast-accuracy-{clock.today()}.csv"


def test_the_transactions_behind_an_account_export_for_their_month(client, firm_a):
    XeroOrganisationFactory(organisation=firm_a.organisation)  # October 2026 closed
    account = AccountFactory(organisation=firm_a.organisation, code="400", name="Advertising")
    TransactionLineFactory(organisation=firm_a.organisation, account=account, description=FORMULA)
    TransactionLineFactory(
        organisation=firm_a.organisation, account=account, amount=Decimal("-200.50")
    )
    TransactionLineFactory(  # another month: not in October's file
        organisation=firm_a.organisation, account=account, date=dt.date(2026, 9, 30)
    )
    as_viewer(client, firm_a)

    response = client.get(
        url(firm_a, "variance_account_transactions_csv", account.pk), {"period": "2026-10"}
    )

    rows = csv_rows(response)
    assert rows[0] == ["Account", "Advertising (400)", "Month", "2026-10", "Currency", "NZD"]
    body = rows[2:-1]
    assert len(body) == 2
    assert "'" + FORMULA in [row[4] for row in body]
    assert "-200.50" in [row[6] for row in body]  # a negative amount stays a number
    assert rows[-1] == ["Total", "", "", "", "", "", "999.50"]
    assert filename(response) == "harbour-lane-cafe-advertising-transactions-2026-10.csv"


def test_the_approval_timeline_exports_every_decision_and_why(client, firm_a):
    step = ApprovalStepFactory(
        organisation=firm_a.organisation, request__draft__first_period=dt.date(2026, 11, 1)
    )
    line = DraftLineFactory(organisation=firm_a.organisation, draft=step.request.draft)
    ApprovalDecisionFactory(
        step=step,
        decision=ApprovalDecision.Decision.REQUEST_CHANGES,
        comment="@SUM(A1) is too high",
        line_ids=[line.pk],
    )
    as_viewer(client, firm_a)

    response = client.get(url(firm_a, "draft_approval_csv", step.request.draft_id))

    rows = csv_rows(response)
    assert rows[0][7:9] == ["Decision", "By"]
    assert len(rows) == 2
    decision = dict(zip(rows[0], rows[1], strict=True))
    assert decision["Step name"] == "Partner review"
    assert decision["Decision"] == "Changes requested"
    assert decision["Comment"] == "'@SUM(A1) is too high"
    assert decision["Lines"] == str(line)
    assert filename(response) == "harbour-lane-cafe-approval-forecast-from-2026-11.csv"


def test_the_import_files_export_with_their_verification(client, firm_a, firm_b):
    BudgetPublicationFactory(organisation=firm_a.organisation, budget_name="-Rolling Forecast")
    BudgetPublicationFactory(organisation=firm_b.organisation)
    as_viewer(client, firm_a)

    response = client.get(url(firm_a, "budget_publication_list_csv"))

    rows = csv_rows(response)
    assert rows[0][:2] == ["Budget", "Beside the original"]
    assert len(rows) == 2
    assert rows[1][0] == "'-Rolling Forecast"
    assert rows[1][3] == "Forecast from Nov 2026"
    assert filename(response) == f"harbour-lane-cafe-import-files-{clock.today()}.csv"


@pytest.mark.parametrize(
    "name, extra",
    [
        ("draft_list_csv", ()),
        ("forecast_accuracy_csv", ()),
        ("budget_publication_list_csv", ()),
        ("variance_account_transactions_csv", ("account",)),
        ("draft_approval_csv", ("draft",)),
    ],
)
def test_another_firms_client_is_missing_from_every_export(client, firm_a, firm_b, name, extra):
    account = AccountFactory(organisation=firm_a.organisation)
    draft = DraftFactory(organisation=firm_a.organisation, status=Draft.Status.SUBMITTED)
    args = [{"account": account.pk, "draft": draft.pk}[e] for e in extra]
    as_viewer(client, firm_b)

    theirs = client.get(url(firm_b, name, *args, organisation=firm_a.organisation))
    through_a = client.get(url(firm_a, name, *args))

    assert theirs.status_code == 404
    assert through_a.status_code == 404


def test_the_draft_and_variance_downloads_are_named_by_organisation_and_period(client, firm_a):
    draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    draft = DraftFactory(organisation=firm_a.organisation, revision=3)
    as_viewer(client, firm_a)

    draft_csv = client.get(url(firm_a, "draft_csv", draft.pk))
    variance_csv = client.get(url(firm_a, "variance_report_csv"), {"period": "2026-10"})

    assert filename(draft_csv) == "harbour-lane-cafe-forecast-2026-11-6m-revision-3.csv"
    assert filename(variance_csv) == "harbour-lane-cafe-variance-2026-10.csv"
