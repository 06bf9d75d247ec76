"""Guardrails on by default, on the screens: an organisation whose firm never saved a policy still
refuses a figure far above the line's history and a negative revenue figure, each saying its rule
and limit; a figure a budget cannot hold is a clear form error; a firm loosens the defaults, and
the change is audited. Always with two firms.

The draft organisation (tests/budgeting/draft_data.py): Rent's largest monthly actual is 6,030.00
(6,000 with at most 0.5% noise), so three times it is 18,090.00; North's Sales are revenue that
never went below zero."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from budgeting.drafts.services import draft_create_rolling
from budgeting.models import BudgetPolicy, Draft, DraftBalance, DraftLine
from tenants.roles import Role
from tests.budgeting.draft_data import draft_organisation_create

HUGE = "99999999999999"  # NZ$99,999,999,999,999: fits the column, nowhere near the history


@pytest.fixture
def draft(firm_a) -> Draft:
    draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    return draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation).draft


def _line(cast, draft, code, option=False) -> DraftLine:
    return DraftLine.objects.for_firm(cast.firm).get(
        draft=draft, account__code=code, tracking_option__isnull=not option
    )


def url(cast, name, *args):
    return reverse(name, args=[cast.firm.slug, cast.organisation.pk, *args])


def _check(client, cast, draft, line, amount):
    return client.post(
        url(cast, "draft_line_check", draft.pk, line.pk),
        {"period": "2026-11", "amount": amount},
        HTTP_HX_REQUEST="true",
    ).content.decode()


def test_with_no_saved_policy_the_drafted_lines_are_within_the_default_guardrails(firm_a, draft):
    assert not BudgetPolicy.objects.for_firm(firm_a.firm).exists()
    lines = DraftLine.objects.for_firm(firm_a.firm).filter(draft=draft)
    assert lines.count() == 3
    assert [line.policy_violations for line in lines] == [[], [], []]
    assert draft.policy_version == 0


def test_a_huge_figure_and_negative_revenue_break_the_default_guardrails_as_you_type(
    client, firm_a, firm_b, draft
):
    rent, north = _line(firm_a, draft, "469"), _line(firm_a, draft, "200", option=True)
    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.post(url(firm_a, "draft_line_check", draft.pk, rent.pk)).status_code == 404

    client.force_login(firm_a.member(Role.PREPARER).user)
    huge = _check(client, firm_a, draft, rent, HUGE)
    negative = _check(client, firm_a, draft, north, "-20000")
    within = _check(client, firm_a, draft, rent, "9000")

    assert "Within policy" not in huge
    assert "actual_multiple" in huge
    assert (
        "Nov 2026: 99,999,999,999,999.00 is more than 3 times this line&#x27;s largest monthly "
        "actual (6,030.00): at most 18,090.00." in huge
    )
    # The same figure is also more than double the budget's 5,000.
    assert "max_change_percent" in huge and "more than the 100% allowed" in huge
    assert "Within policy" not in negative
    assert "sign" in negative
    assert "Nov 2026: \u221220,000.00 is negative, but revenue figures are zero or more" in negative
    assert "Within policy" in within


def test_the_edit_is_saved_but_the_line_breaks_the_policy_and_blocks_submission(
    client, firm_a, draft
):
    client.force_login(firm_a.member(Role.PREPARER).user)
    north = _line(firm_a, draft, "200", option=True)
    response = client.post(
        url(firm_a, "draft_line_edit", draft.pk, north.pk),
        {"period": "2026-11", "amount": "-20000", "reason": "Typed the sign wrong"},
    )
    assert response.status_code == 302
    north.refresh_from_db()
    assert not north.policy_ok
    assert north.policy_violations == [
        {
            "rule": "sign",
            "message": "Nov 2026: \u221220,000.00 is negative, but revenue figures are zero or more "
            "(this line's actuals never went below zero).",
            "period": "2026-11-01",
            "limit": "0.00",
        },
        {
            "rule": "max_change_percent",
            "message": "Nov 2026: a change of 233.3% is more than the 100% allowed.",
            "period": "2026-11-01",
            "limit": "100",
        },
    ]
    page = client.get(url(firm_a, "draft_detail", draft.pk)).content.decode()
    assert "Not ready to submit" in page and "1 line break the policy" in page
    assert "\u221220,000.00 is negative" in page


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (
            "100000000000000",
            "100,000,000,000,000.00 is too large: a budget figure is at most "
            "99,999,999,999,999.99.",
        ),
        ("5000.005", "5000.005 has more than 2 decimal places: give it in cents at most."),
    ],
)
def test_a_figure_a_budget_cannot_hold_is_a_clear_form_error_and_nothing_is_saved(
    client, firm_a, draft, amount, message
):
    client.force_login(firm_a.member(Role.PREPARER).user)
    rent = _line(firm_a, draft, "469")
    response = client.post(
        url(firm_a, "draft_line_edit", draft.pk, rent.pk),
        {"period": "2026-11", "amount": amount, "reason": "Testing"},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert message in _check(client, firm_a, draft, rent, amount)
    assert not DraftBalance.objects.for_firm(firm_a.firm).filter(
        line=rent, edited_amount__isnull=False
    )
    draft.refresh_from_db()
    assert draft.revision == 1


def test_the_policy_screen_shows_the_defaults_and_a_firm_loosens_them_with_history(
    client, firm_a, firm_b, draft
):
    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.get(url(firm_a, "budget_policy_edit")).status_code == 404

    client.force_login(firm_a.member(Role.PREPARER).user)
    rent = _line(firm_a, draft, "469")
    client.post(
        url(firm_a, "draft_line_edit", draft.pk, rent.pk),
        {"period": "2026-11", "amount": "20000", "reason": "A second floor"},
    )
    rent.refresh_from_db()
    assert [v["rule"] for v in rent.policy_violations] == ["actual_multiple", "max_change_percent"]

    admin = firm_a.member(Role.ADMIN).user
    client.force_login(admin)
    form = client.get(url(firm_a, "budget_policy_edit")).content.decode()
    assert 'name="max_actual_multiple" value="3"' in form
    assert 'name="max_change_percent" value="100"' in form
    assert re.search(r'<input type="checkbox" name="sign_check"[^>]* checked', form)
    response = client.post(
        url(firm_a, "budget_policy_edit"),
        {"scope": "all", "horizon": "6", "max_actual_multiple": "4", "max_change_percent": "300"},
    )
    assert response.status_code == 302

    policy = BudgetPolicy.objects.for_firm(firm_a.firm).get()
    assert (policy.version, policy.max_actual_multiple, policy.max_change_percent) == (
        1,
        Decimal("4.00"),
        Decimal("300.00"),
    )
    assert policy.sign_check is False  # unticked: turned off
    saved = policy.history.first()
    assert saved.history_user == admin and saved.history_change_reason == "Budget policy changed"
    rent.refresh_from_db()
    assert rent.policy_ok  # 20,000 is under 4 x 6,030.00 and a 300% change
    north = _line(firm_a, draft, "200", option=True)
    client.force_login(firm_a.member(Role.PREPARER).user)
    assert "Within policy" in _check(client, firm_a, draft, north, "-100")


def test_a_long_edit_reason_is_kept_whole_on_the_figure_and_shortened_in_its_history(
    client, firm_a, firm_b, draft
):
    rent = _line(firm_a, draft, "469")
    edit = url(firm_a, "draft_line_edit", draft.pk, rent.pk)
    reason = "The landlord's letter of 3 November: " + "the new lease runs five years. " * 30
    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.post(
        edit, {"period": "2026-11", "amount": "5400", "reason": "x"}
    ).status_code == (404)

    client.force_login(firm_a.member(Role.PREPARER).user)
    response = client.post(edit, {"period": "2026-11", "amount": "5400", "reason": reason})

    assert response.status_code == 302
    november = DraftBalance.objects.for_firm(firm_a.firm).get(line=rent, period="2026-11-01")
    assert november.edit_reason == reason.strip()
    noted = november.history.first().history_change_reason
    assert (
        len(noted) == 100 and noted.startswith("Edited: The landlord's letter") and noted[-1] == "…"
    )
