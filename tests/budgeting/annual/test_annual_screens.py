"""Draft next year's budget from the organisation's page, review it with its flags panel and
the flagged months ringed on a line's chart, apply the firm's tendency; and the partner API.
Always with two firms: the other firm gets a 404 on every screen and endpoint."""

from decimal import Decimal

import pytest
from django.urls import reverse

from budgeting.models import AnnualDraft, AnnualLineFlag, Draft, DraftLine
from tenants.roles import Role
from tests.api import assert_error, bearer
from tests.budgeting.annual.test_annual_draft import _decided_draft
from tests.budgeting.draft_data import draft_organisation_create
from tests.budgeting.screens import login
from tests.factories import api_key_create


@pytest.fixture
def cast_a(firm_a):
    firm_a.data = draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    return firm_a


@pytest.fixture
def cast_b(firm_b):
    firm_b.data = draft_organisation_create(firm=firm_b.firm, organisation=firm_b.organisation)
    return firm_b


def _url(cast, name, *args, organisation=None):
    return reverse(name, args=[cast.firm.slug, (organisation or cast.organisation).pk, *args])


def test_an_owner_drafts_next_year_from_the_organisations_page_and_reviews_its_flags(
    client, cast_a, cast_b
):
    login(client, cast_a, Role.OWNER)
    page = client.get(_url(cast_a, "organisation_detail")).content.decode()
    assert f'href="{_url(cast_a, "annual_draft_new")}">Draft next year\'s budget</a>' in page
    new = client.get(_url(cast_a, "annual_draft_new"))
    assert new.status_code == 200
    text = new.content.decode()
    # The next financial year is the default choice.
    assert '<option value="2028" selected>FY2028 (April 2027 to March 2028)</option>' in text
    assert "No annual drafts yet." in text

    response = client.post(
        _url(cast_a, "annual_draft_create"), {"financial_year": "2028", "departure_percent": "25"}
    )
    draft = Draft.objects.for_firm(cast_a.firm).get(source=Draft.Source.ANNUAL)
    assert response.status_code == 302
    assert response["Location"] == _url(cast_a, "draft_detail", draft.pk)
    review = client.get(response["Location"]).content.decode()
    assert "FY2028: next year's budget, 1 line flagged" in review
    assert "One-off months" in review and "Oct 2026 (NZ$7,100.00)" in review
    assert f"{cast_a.organisation.name} budget FY2028 (Ledgerline)" in review
    assert (
        "Next year's budget: an approved draft is published into a new budget for FY2028, never "
        "into a budget the client already has." in review
    )
    advertising = DraftLine.objects.for_firm(cast_a.firm).get(
        draft=draft, account__code="400", tracking_option__isnull=True
    )
    line = client.get(_url(cast_a, "draft_line_detail", draft.pk, advertising.pk)).content.decode()
    assert "Flagged for a second look" in line
    # The flagged month is ringed on the chart, with why, and said in its description.
    assert '<circle class="flagged"' in line
    assert "<title>October 2026: One-off months</title>" in line
    assert "Flagged months: October 2026: One-off months." in line

    # Drafting the same year again without asking is refused; the page offers "Draft again".
    again = client.post(
        _url(cast_a, "annual_draft_create"), {"financial_year": "2028", "departure_percent": "25"}
    )
    assert again.status_code == 400
    assert "To draft it again, choose Draft again" in again.content.decode()
    assert "Draft FY2028 again" in again.content.decode()
    current = AnnualDraft.objects.for_firm(cast_a.firm).get()
    superseding = client.post(
        _url(cast_a, "annual_draft_create"),
        {"financial_year": "2028", "departure_percent": "25", "supersede": current.pk},
    )
    assert superseding.status_code == 302
    assert AnnualDraft.objects.for_firm(cast_a.firm).filter(superseded_at__isnull=True).count() == 1

    # Bad input is refused with the reason, never a 500.
    bad = client.post(
        _url(cast_a, "annual_draft_create"), {"financial_year": "2031", "departure_percent": "0"}
    )
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()

    # Firm B's people get 404 for firm A's organisation on every new URL.
    client.logout()
    login(client, cast_b, Role.OWNER)
    assert (
        client.get(_url(cast_b, "annual_draft_new", organisation=cast_a.organisation)).status_code
        == 404
    )
    assert (
        client.post(
            _url(cast_b, "annual_draft_create", organisation=cast_a.organisation),
            {"financial_year": "2028", "departure_percent": "25"},
        ).status_code
        == 404
    )
    flag = AnnualLineFlag.objects.for_firm(cast_a.firm).first()
    assert (
        client.post(
            _url(
                cast_b,
                "annual_tendency_apply",
                flag.annual.draft_id,
                flag.pk,
                organisation=cast_a.organisation,
            )
        ).status_code
        == 404
    )


def test_the_tendency_is_applied_with_one_click_by_a_preparer(client, cast_a, cast_b):
    rent = cast_a.data.accounts["469"]
    for days, change in ((90, "-10"), (60, "-8"), (30, "-12")):
        _decided_draft(cast_a, cast_a.organisation, rent, None, change, days)
    login(client, cast_a, Role.PREPARER)
    client.post(
        _url(cast_a, "annual_draft_create"), {"financial_year": "2028", "departure_percent": "25"}
    )
    flag = AnnualLineFlag.objects.for_firm(cast_a.firm).get(kind=AnnualLineFlag.Kind.TENDENCY)
    draft = flag.annual.draft
    review = client.get(_url(cast_a, "draft_detail", draft.pk)).content.decode()
    assert "Apply the tendency (-10.0%) to Rent" in review
    response = client.post(
        _url(cast_a, "annual_tendency_apply", draft.pk, flag.pk), {"next": "line"}
    )
    assert response.status_code == 302
    assert response["Location"] == _url(cast_a, "draft_line_detail", draft.pk, flag.line_id)
    flag.refresh_from_db()
    assert flag.applied_at is not None
    line = client.get(response["Location"]).content.decode()
    assert "The firm&#x27;s tendency applied (-10.0%)" in line
    assert "Apply the tendency" not in line
    # A viewer cannot apply it (404 for firm B's draft in firm A's URL space is above).
    client.logout()
    login(client, cast_a, Role.VIEWER)
    assert client.post(_url(cast_a, "annual_tendency_apply", draft.pk, flag.pk)).status_code == 403


# --- The partner API ---------------------------------------------------------------------------


def _keys(cast):
    cast.key = api_key_create(firm=cast.firm)[1]
    cast.write_key = api_key_create(
        firm=cast.firm, scopes=["read", "write"], member=cast.member(Role.PREPARER)
    )[1]
    cast.base = f"/api/v1/organisations/{cast.organisation.public_id}/annual-drafts/"
    return cast


def test_the_api_drafts_next_year_and_lists_its_flags_for_its_firm_only(client, cast_a, cast_b):
    a, b = _keys(cast_a), _keys(cast_b)
    made = client.post(a.base, {}, headers=bearer(a.write_key), content_type="application/json")
    assert made.status_code == 201, made.content
    body = made.json()
    draft = Draft.objects.for_firm(a.firm).get(pk=body["draft_id"])
    assert body == {
        "draft_id": draft.pk,
        "financial_year": 2028,
        "first_period": "2027-04",
        "status": "draft",
        "lines": 5,
        "flagged_lines": 1,
        "superseded_draft_id": None,
    }
    flags = client.get(f"{a.base}{draft.pk}/flags/", headers=bearer(a.key))
    assert flags.status_code == 200
    (flag,) = flags.json()["flags"]
    assert (flag["account_code"], flag["kind"], flag["months"]) == ("400", "one_off", ["2026-10"])
    assert flag["account_id"] == "acc-400" and flag["tracking_option_id"] is None

    # Twice without asking: 409, nothing drafted; asked, it supersedes.
    twice = client.post(a.base, {}, headers=bearer(a.write_key), content_type="application/json")
    assert_error(twice, 409, "not_drafted")
    again = client.post(
        a.base,
        {"supersede_draft_id": draft.pk, "departure_percent": "10"},
        headers=bearer(a.write_key),
        content_type="application/json",
    )
    assert again.status_code == 201 and again.json()["superseded_draft_id"] == draft.pk
    assert client.get(f"{a.base}{draft.pk}/flags/", headers=bearer(a.key)).json()["superseded"]
    # Bad input is a 400 naming the field.
    bad = client.post(
        a.base,
        {"departure_percent": "lots"},
        headers=bearer(a.write_key),
        content_type="application/json",
    )
    assert bad.status_code == 400 and "departure_percent" in bad.content.decode()
    # A read-only key cannot draft.
    assert (
        client.post(a.base, {}, headers=bearer(a.key), content_type="application/json").status_code
        == 403
    )

    # Firm B's keys: 404 for firm A's organisation and draft.
    assert (
        client.post(
            a.base, {}, headers=bearer(b.write_key), content_type="application/json"
        ).status_code
        == 404
    )
    assert client.get(f"{a.base}{draft.pk}/flags/", headers=bearer(b.key)).status_code == 404
    assert client.get(f"{b.base}{draft.pk}/flags/", headers=bearer(b.key)).status_code == 404
    assert Decimal(str(AnnualDraft.objects.for_firm(a.firm).first().departure_percent)) == Decimal(
        "10.0"
    )


def test_a_client_with_many_lines_is_drafted_by_a_worker(
    client, cast_a, cast_b, monkeypatch, celery_eager, django_capture_on_commit_callbacks
):
    from budgeting.annual import views

    monkeypatch.setattr(views, "BACKGROUND_ABOVE", 3)  # the client has 5 lines
    login(client, cast_a, Role.PREPARER)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url(cast_a, "annual_draft_create"),
            {"financial_year": "2028", "departure_percent": "25"},
        )
    assert response.status_code == 302
    assert response["Location"] == _url(cast_a, "annual_draft_new")
    page = client.get(response["Location"]).content.decode()
    assert "is being drafted in the background (5 lines)" in page
    annual = AnnualDraft.objects.for_firm(cast_a.firm).get()
    assert annual.created_by == cast_a.member(Role.PREPARER).user
    assert f'href="{_url(cast_a, "draft_detail", annual.draft_id)}"' in page
    assert not AnnualDraft.objects.for_firm(cast_b.firm).exists()
