"""Forecasts in plain words: the method, confidence and errors as a reader says them, the
technical names one hover away (a title), and no "ready to submit" while changes are asked for."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from budgeting.drafts.services import draft_create_rolling
from budgeting.models import ApprovalDecision, ApprovalRequest, DraftLine
from budgeting.templatetags.forecast_words import history_words
from tenants.roles import Role
from tests.budgeting.draft_data import draft_organisation_create
from tests.factories import (
    AccountFactory,
    ApprovalDecisionFactory,
    ApprovalStepFactory,
    ForecastRecordFactory,
)


@pytest.fixture
def draft(firm_a):
    draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    return draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation).draft


def url(cast, name, *args):
    return reverse(name, args=[cast.firm.slug, cast.organisation.pk, *args])


def test_a_line_says_its_method_confidence_and_history_in_words(client, firm_a, firm_b, draft):
    rent = DraftLine.objects.for_firm(firm_a.firm).get(
        draft=draft, account__code="469", tracking_option=None
    )
    client.force_login(firm_a.member(Role.VIEWER).user)

    line = client.get(url(firm_a, "draft_line_detail", draft.pk, rent.pk)).content.decode()
    table = client.get(url(firm_a, "draft_detail", draft.pk)).content.decode()

    assert f'<abbr title="Method: {rent.method}">' in line
    assert f"Confidence {rent.confidence} out of 100" in line  # the score in the title
    assert f"{rent.confidence_label.capitalize()} confidence</abbr>" in line
    assert f'Forecast by <abbr title="Method: {rent.method}">' in line
    assert f", {history_words(rent.history_months)}." in line  # "based on 2 years of history"
    assert "/100)" not in line and "Inputs hash <" not in line and "sMAPE 1" not in line
    assert f'<abbr title="Method: {rent.method}">' in table and "/100)" not in table
    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.get(url(firm_a, "draft_line_detail", draft.pk, rent.pk)).status_code == 404


def test_forecast_accuracy_names_methods_and_errors_in_words(client, firm_a):
    account = AccountFactory(organisation=firm_a.organisation, code="400", name="Advertising")
    ForecastRecordFactory(
        organisation=firm_a.organisation,
        account=account,
        method="croston_sba",
        actual=Decimal("3000"),
        abs_error=Decimal("240"),
        within_80=True,
        within_95=True,
        scored_at=dt.datetime(2026, 12, 2, tzinfo=dt.UTC),
    )
    client.force_login(firm_a.member(Role.VIEWER).user)

    page = client.get(url(firm_a, "forecast_accuracy")).content.decode()

    assert '<abbr title="Method: croston_sba">The average rate of intermittent spend</abbr>' in page
    assert "typical error 8%</abbr>" in page  # 240 of 3,000
    assert "NZ$240.00" in page  # the average miss in the organisation's currency
    assert "1 month ahead" in page
    assert ">croston_sba<" not in page


def test_no_ready_to_submit_while_changes_are_asked_for(client, firm_a, draft):
    DraftLine.objects.for_firm(firm_a.firm).filter(draft=draft).update(
        accepted=True, policy_ok=True
    )
    step = ApprovalStepFactory(
        organisation=firm_a.organisation,
        request__draft=draft,
        request__status=ApprovalRequest.Status.CHANGES_REQUESTED,
        status="changes_requested",
    )
    ApprovalDecisionFactory(
        step=step, decision=ApprovalDecision.Decision.REQUEST_CHANGES, comment="Rent looks high"
    )
    client.force_login(firm_a.member(Role.PREPARER).user)

    page = client.get(url(firm_a, "draft_detail", draft.pk)).content.decode()

    assert "Rent looks high" in page
    assert "ready to" not in page
    assert "Make the changes asked for below, then" in page


def test_history_reads_in_years_or_months():
    assert history_words(36) == "based on 3 years of history"
    assert history_words(12) == "based on 1 year of history"
    assert history_words(20) == "based on 20 months of history"
    assert history_words(0) == "no history yet"
