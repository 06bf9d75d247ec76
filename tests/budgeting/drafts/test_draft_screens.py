"""The forecast draft screens as firm members use them: preparers create and edit drafts, viewers
read them, admins set the policy, and nothing of another firm's is reachable."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from budgeting.approvals.selectors import draft_editors
from budgeting.drafts.services import draft_create_rolling, forecast_run_execute
from budgeting.models import BudgetPolicy, Draft, DraftBalance, DraftLine, ForecastRun
from tenants.roles import Role
from tests.budgeting.draft_data import draft_organisation_create


@pytest.fixture
def org(firm_a):
    return draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)


@pytest.fixture
def draft(firm_a, org) -> Draft:
    return draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation).draft


def rent_of(cast, draft) -> DraftLine:
    return DraftLine.objects.for_firm(cast.firm).get(
        draft=draft, account__code="469", tracking_option=None
    )


def url(cast, name, *args):
    return reverse(name, args=[cast.firm.slug, cast.organisation.pk, *args])


def test_a_viewer_reads_the_drafts_the_draft_and_a_lines_chart(client, firm_a, draft):
    client.force_login(firm_a.member(Role.VIEWER).user)
    rent = rent_of(firm_a, draft)

    listing = client.get(url(firm_a, "draft_list")).content.decode()
    page = client.get(url(firm_a, "draft_detail", draft.pk)).content.decode()
    line = client.get(url(firm_a, "draft_line_detail", draft.pk, rent.pk)).content.decode()

    assert "Forecast from Nov 2026" in listing
    assert "Create forecast draft" not in listing  # viewers cannot
    assert "Advertising" in page and "Rent" in page and "North" in page
    assert "Material variance last month" in page and "Forecast leaves the budget" in page
    assert "NZ$30,000.00" in page  # Rent's original budget over six months
    assert "Within policy" in page and "Not ready to submit" in page
    assert ">Accept<" not in page  # no controls for a viewer
    assert '<svg class="chart forecast"' in line and 'class="band-95"' in line
    assert 'class="band-80"' in line and "Backtest error" in line
    assert "Change a month" not in line
    assert "cdn" not in (page + line).lower()


def test_the_draft_filters_by_section_and_class(client, firm_a, draft):
    client.force_login(firm_a.member(Role.VIEWER).user)

    expenses = client.get(url(firm_a, "draft_detail", draft.pk), {"class": "EXPENSE"})
    income = client.get(
        url(firm_a, "draft_detail", draft.pk),
        {"section": "income"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="draft-body",
    )

    assert "Rent" in expenses.content.decode() and "North" not in expenses.content.decode()
    body = income.content.decode()
    assert "North" in body and "Rent" not in body
    assert "<html" not in body  # htmx gets the table only


def test_the_draft_exports_to_csv(client, firm_a, draft):
    client.force_login(firm_a.member(Role.VIEWER).user)

    response = client.get(url(firm_a, "draft_csv", draft.pk))

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["Currency", "NZD"]
    assert rows[1][:5] == ["Tracking option", "Section", "Account code", "Account", "Month"]
    rent = [r for r in rows[2:] if r[2] == "469"]
    assert [r[4] for r in rent] == [
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
        "2027-03",
        "2027-04",
    ]
    assert {r[5] for r in rent} == {"5000.00"} and {r[18] for r in rent} == {"ok"}


def test_an_edit_reason_that_looks_like_a_formula_stays_text_in_the_csv(client, firm_a, draft):
    client.force_login(firm_a.member(Role.PREPARER).user)
    rent = rent_of(firm_a, draft)
    reason = '=HYPERLINK("http://x","y")'
    edited = client.post(
        url(firm_a, "draft_line_edit", draft.pk, rent.pk),
        {"period": "2026-11", "amount": "4600", "reason": reason},
    )
    assert edited.status_code == 302

    response = client.get(url(firm_a, "draft_csv", draft.pk))

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    november = next(r for r in rows[2:] if r[2] == "469" and r[0] == "" and r[4] == "2026-11")
    assert rows[1][21] == "Reason" and november[21] == "'" + reason
    assert november[8] == "4600.00" and november[10] == "-400.00"  # amounts stay numbers


def test_a_preparer_starts_a_forecast_run_and_sees_its_progress(
    client, firm_a, org, django_capture_on_commit_callbacks
):
    client.force_login(firm_a.member(Role.PREPARER).user)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url(firm_a, "draft_create"), HTTP_HX_REQUEST="true")

    assert len(callbacks) == 1  # the Celery task, queued once the transaction commits
    run = ForecastRun.objects.for_firm(firm_a.firm).get()
    body = response.content.decode()
    assert "Forecasting" in body and 'hx-trigger="every 2s"' in body
    assert url(firm_a, "forecast_run_status", run.pk) in body

    forecast_run_execute(firm=firm_a.firm, run_id=run.pk)
    status = client.get(url(firm_a, "forecast_run_status", run.pk), HTTP_HX_REQUEST="true")

    body = status.content.decode()
    assert "every 2s" not in body  # finished: polling stops
    assert "3 suggested changes" in body and "Open the draft" in body
    draft = Draft.objects.for_firm(firm_a.firm).get()
    assert draft.created_by == firm_a.member(Role.PREPARER).user


def test_a_preparer_edits_a_month_with_a_reason(client, firm_a, draft):
    client.force_login(firm_a.member(Role.PREPARER).user)
    rent = rent_of(firm_a, draft)
    edit = url(firm_a, "draft_line_edit", draft.pk, rent.pk)

    refused = client.post(edit, {"period": "2026-11", "amount": "5400", "reason": ""})
    saved = client.post(edit, {"period": "2026-11", "amount": "5400", "reason": "New lease"})

    assert refused.status_code == 400 and "Say why" in refused.content.decode()
    assert saved.status_code == 302
    november = DraftBalance.objects.for_firm(firm_a.firm).get(line=rent, period="2026-11-01")
    assert november.edited_amount == Decimal("5400.00") and november.edit_reason == "New lease"
    draft.refresh_from_db()
    assert draft.revision == 2


def test_the_edit_form_checks_the_policy_as_you_type(client, firm_a, admin_policy, draft):
    client.force_login(firm_a.member(Role.PREPARER).user)
    rent = rent_of(firm_a, draft)
    check = url(firm_a, "draft_line_check", draft.pk, rent.pk)

    over = client.post(check, {"period": "2026-11", "amount": "9000"}, HTTP_HX_REQUEST="true")
    within = client.post(check, {"period": "2026-11", "amount": "5100"}, HTTP_HX_REQUEST="true")

    assert "Nov 2026: a change of 4,000.00 is more than the 500.00" in over.content.decode()
    # November is now within the limit; the months not yet edited still break it.
    assert "Nov 2026:" not in within.content.decode()
    assert "Dec 2026: a change of" in within.content.decode()
    draft.refresh_from_db()
    assert draft.revision == 1  # checking saves nothing


@pytest.fixture
def admin_policy(firm_a, org):
    from budgeting.drafts.services import budget_policy_update

    return budget_policy_update(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        user=firm_a.member(Role.ADMIN).user,
        scope="all",
        account_ids=[],
        tracking_option_ids=[],
        account_caps={},
        class_caps={},
        max_change_percent=None,
        max_change_amount=Decimal("500"),
        capex_account_ids=[],
        extra_approval_above=None,
        horizon=6,
    )


def test_accept_and_reset_from_the_draft(client, firm_a, draft):
    client.force_login(firm_a.member(Role.PREPARER).user)
    rent = rent_of(firm_a, draft)

    client.post(url(firm_a, "draft_line_accept", draft.pk, rent.pk))
    rent.refresh_from_db()
    assert rent.accepted
    assert draft_editors(firm=firm_a.firm, draft=draft) == {
        firm_a.member(Role.PREPARER).user.email.lower()
    }
    client.post(url(firm_a, "draft_section_accept", draft.pk), {"section": "operating_expenses"})
    client.post(url(firm_a, "draft_line_reset", draft.pk, rent.pk))
    rent.refresh_from_db()
    assert not rent.accepted
    # An unknown section is bad input (400 naming the field), not a missing object.
    refused = client.post(url(firm_a, "draft_section_accept", draft.pk), {"section": "x"})
    assert refused.status_code == 400
    assert refused.content.decode().startswith("section: choose one of")


def test_an_admin_sets_the_policy_and_open_drafts_are_checked_against_it(
    client, firm_a, org, draft
):
    client.force_login(firm_a.member(Role.ADMIN).user)
    form = client.get(url(firm_a, "budget_policy_edit"))
    assert form.status_code == 200 and "Read-only analysis" in form.content.decode()

    bad = client.post(
        url(firm_a, "budget_policy_edit"),
        {"scope": "all", "horizon": "6", "account_caps": "999 = 10"},
    )
    response = client.post(
        url(firm_a, "budget_policy_edit"),
        {
            "scope": "all",
            "horizon": "12",
            "account_caps": "469 = 5500",
            "expense_cap": "100000",
            "capex_accounts": [str(org.accounts["400"].pk)],
        },
    )

    assert bad.status_code == 200 and "Line 1" in bad.content.decode()
    assert response.status_code == 302
    policy = BudgetPolicy.objects.for_firm(firm_a.firm).get()
    assert policy.version == 1 and policy.horizon == 12
    assert policy.account_caps == {str(org.accounts["469"].pk): "5500.00"}
    assert policy.class_caps == {"EXPENSE": "100000.00"}
    assert policy.history.first().history_user == firm_a.member(Role.ADMIN).user
    rent = rent_of(firm_a, draft)
    assert not rent.policy_ok and rent.policy_violations[0]["rule"] == "account_cap"
    advertising = DraftLine.objects.for_firm(firm_a.firm).get(draft=draft, account__code="400")
    assert advertising.needs_extra_approval
    # Checking the draft against new rules is nobody's edit: the admin may still approve it.
    assert draft_editors(firm=firm_a.firm, draft=draft) == set()


def test_assisted_policy_needs_a_choice(client, firm_a, org):
    client.force_login(firm_a.member(Role.OWNER).user)
    response = client.post(url(firm_a, "budget_policy_edit"), {"scope": "assisted", "horizon": "6"})
    assert response.status_code == 200 and "needs at least one account" in response.content.decode()


def test_the_accuracy_page(client, firm_a, draft):
    client.force_login(firm_a.member(Role.VIEWER).user)
    page = client.get(url(firm_a, "forecast_accuracy")).content.decode()
    assert (
        "No forecast month has closed yet" in page and "30 forecast months still to close" in page
    )


@pytest.mark.parametrize(
    ("name", "role", "data"),
    [
        ("draft_create", Role.VIEWER, {}),
        ("draft_create", Role.APPROVER, {}),
        ("draft_line_edit", Role.VIEWER, {"period": "2026-11", "amount": "1", "reason": "x"}),
        ("draft_line_accept", Role.VIEWER, {}),
        ("draft_line_reset", Role.APPROVER, {}),
        ("draft_section_accept", Role.VIEWER, {"section": "income"}),
        ("budget_policy_edit", Role.PREPARER, {"scope": "read_only", "horizon": "6"}),
        ("budget_policy_edit", Role.VIEWER, {"scope": "read_only", "horizon": "6"}),
    ],
)
def test_roles_that_may_not_change_drafts_or_policy_get_403(
    client, firm_a, draft, name, role, data
):
    client.force_login(firm_a.member(role).user)
    rent = rent_of(firm_a, draft)
    args = {
        "draft_create": (),
        "budget_policy_edit": (),
        "draft_section_accept": (draft.pk,),
    }.get(name, (draft.pk, rent.pk))

    response = client.post(url(firm_a, name, *args), data)

    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.revision == 1
    assert not ForecastRun.objects.for_firm(firm_a.firm).exists()
    assert not BudgetPolicy.objects.for_firm(firm_a.firm).exists()


def test_another_firms_drafts_are_not_found(client, firm_a, firm_b, draft):
    other = draft_organisation_create(firm=firm_b.firm, organisation=firm_b.organisation)
    assert other
    theirs = draft_create_rolling(firm=firm_b.firm, organisation=firm_b.organisation).draft
    their_line = rent_of(firm_b, theirs)
    mine = rent_of(firm_a, draft)
    client.force_login(firm_a.member(Role.OWNER).user)

    responses = [
        client.get(url(firm_a, "draft_detail", theirs.pk)),
        client.get(url(firm_a, "draft_csv", theirs.pk)),
        client.get(url(firm_a, "draft_line_detail", draft.pk, their_line.pk)),
        client.get(url(firm_a, "draft_line_detail", theirs.pk, mine.pk)),
        client.post(
            url(firm_a, "draft_line_edit", draft.pk, their_line.pk),
            {"period": "2026-11", "amount": "1", "reason": "x"},
        ),
        client.post(url(firm_a, "draft_line_accept", theirs.pk, their_line.pk)),
        client.get(reverse("draft_list", args=[firm_a.firm.slug, firm_b.organisation.pk])),
    ]

    assert [r.status_code for r in responses] == [404] * len(responses)
    their_line.refresh_from_db()
    assert not their_line.accepted and not their_line.edited


def test_the_draft_page_runs_a_fixed_number_of_queries(
    client, firm_a, draft, django_assert_max_num_queries
):
    from budgeting.drafts.services import draft_section_accept

    client.force_login(firm_a.member(Role.PREPARER).user)
    draft_section_accept(
        firm=firm_a.firm,
        draft=draft,
        section="operating_expenses",
        user=firm_a.member(Role.PREPARER).user,
    )
    # Session, user, membership, firm, organisation, draft, lines, months, accuracy (5),
    # submission checks, the latest approval round, the organisation's publishing setting
    # (replace the original or not), the lines whose narrative provider was not used, its
    # departments and whether it has a tracking option's lines to assign: whatever the number
    # of lines.
    with django_assert_max_num_queries(18):
        response = client.get(url(firm_a, "draft_detail", draft.pk))
    assert response.status_code == 200
