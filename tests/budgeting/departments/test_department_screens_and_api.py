"""The draft's departments on the screen and through the partner API, always with two firms:
a second firm's member or key gets 404 for the first firm's draft, department and account."""

import pytest
from django.urls import reverse

from budgeting.departments import services
from budgeting.models import DepartmentAssignment, DepartmentGapNote
from tenants.roles import Role
from tests.api import assert_error, bearer
from tests.budgeting.department_data import department_draft_create
from tests.factories import api_key_create

pytestmark = pytest.mark.django_db


def _url(cast, name, *args):
    return reverse(name, args=[cast.firm.slug, cast.organisation.pk, cast.draft.pk, *args])


def test_the_preparer_assigns_two_departments_on_the_screen(departments, client, mailoutbox):
    cast = departments
    client.force_login(cast.member(Role.PREPARER).user)
    with cast.committed():
        response = client.post(
            _url(cast, "department_assign"),
            {"option": cast.kitchen.pk, "email": "chef@client.example", "name": "Kim Chef"},
        )
    assert response.status_code == 302
    with cast.committed():
        client.post(
            _url(cast, "department_assign"),
            {"option": cast.bar.pk, "member": cast.member(Role.VIEWER).user.pk},
        )
    assert [m.to for m in mailoutbox] == [
        ["chef@client.example"],
        [cast.member(Role.VIEWER).user.email.lower()],
    ]
    page = client.get(_url(cast, "draft_departments")).content.decode()
    assert "Kim Chef &lt;chef@client.example&gt;" in page
    assert "2 departments not done yet" in page
    # The gap of Wages, 500 a month, and its form.
    assert "Wages" in page and "+NZ$500.00" in page.replace("\u00a0", "")
    # The draft's page shows the panel.
    draft_page = client.get(
        reverse("draft_detail", args=[cast.firm.slug, cast.organisation.pk, cast.draft.pk])
    ).content.decode()
    assert "By department" in draft_page and "0 of 2 departments (Department) done" in draft_page
    # ...and says the draft is not ready to submit, with the departments' reasons.
    assert "Not ready to submit for approval" in draft_page
    assert "2 departments not done yet" in draft_page and "ready to <a" not in draft_page


def test_bad_assignments_are_refused_with_the_reason(departments, client):
    cast = departments
    client.force_login(cast.member(Role.PREPARER).user)
    for data, reason in (
        ({"option": cast.kitchen.pk}, "Choose a member, or give the manager"),
        ({"option": cast.kitchen.pk, "email": "nope"}, "valid email"),
        ({"option": "999999", "email": "a@b.example"}, "Select a valid choice"),
        (
            {"option": cast.kitchen.pk, "email": "a@b.example", "member": "-1"},
            "Select a valid choice",
        ),
        ({"option": cast.kitchen.pk, "email": "a@b.example", "name": "x\x00"}, "NUL"),
    ):
        response = client.post(_url(cast, "department_assign"), data)
        assert response.status_code == 400, data
        assert reason in response.content.decode(), data
    assert not DepartmentAssignment.objects.for_firm(cast.firm).exists()


def test_a_viewer_cannot_assign(departments, client):
    cast = departments
    client.force_login(cast.member(Role.VIEWER).user)
    response = client.post(
        _url(cast, "department_assign"), {"option": cast.kitchen.pk, "email": "a@b.example"}
    )
    assert response.status_code == 403


def test_a_gap_is_explained_on_the_screen(departments, client):
    cast = departments
    services.department_assign(
        firm=cast.firm,
        draft=cast.draft,
        option=cast.kitchen,
        user=cast.member(Role.PREPARER).user,
        email="chef@client.example",
    )
    client.force_login(cast.member(Role.PREPARER).user)
    response = client.post(
        _url(cast, "department_gap_explain", cast.wages.pk), {"reason": "Temp staff overall"}
    )
    assert response.status_code == 302
    note = DepartmentGapNote.objects.for_firm(cast.firm).get()
    assert (note.account, note.reason) == (cast.wages, "Temp staff overall")
    page = client.get(_url(cast, "draft_departments")).content.decode()
    assert "Temp staff overall" in page and "explain each gap" not in page


def test_withdraw_reopen_and_resend_on_the_screen(departments, client, mailoutbox):
    cast = departments
    client.force_login(cast.member(Role.PREPARER).user)
    with cast.committed():
        assignment = services.department_assign(
            firm=cast.firm,
            draft=cast.draft,
            option=cast.kitchen,
            user=cast.member(Role.PREPARER).user,
            email="chef@client.example",
        )
    with cast.committed():
        assert client.post(_url(cast, "department_resend", assignment.pk)).status_code == 302
    assert len(mailoutbox) == 2
    assert client.post(_url(cast, "department_withdraw", assignment.pk)).status_code == 302
    assignment.refresh_from_db()
    assert assignment.status == "withdrawn"
    # Withdrawn: its page is gone, and it cannot be reopened (only a done one can).
    assert client.get(_url(cast, "department_detail", assignment.pk)).status_code == 404
    client.post(_url(cast, "department_reopen", assignment.pk))
    assignment.refresh_from_db()
    assert assignment.status == "withdrawn"


def test_firm_b_members_get_404_on_firm_a_departments(departments, firm_b, client):
    cast = departments
    assignment = services.department_assign(
        firm=cast.firm,
        draft=cast.draft,
        option=cast.kitchen,
        user=cast.member(Role.PREPARER).user,
        email="chef@client.example",
    )
    client.force_login(firm_b.member(Role.OWNER).user)
    for name, args in (
        ("draft_departments", ()),
        ("department_assign", ()),
        ("department_detail", (assignment.pk,)),
        ("department_withdraw", (assignment.pk,)),
        ("department_reopen", (assignment.pk,)),
        ("department_resend", (assignment.pk,)),
        ("department_gap_explain", (cast.wages.pk,)),
    ):
        # Firm B's own slug with firm A's ids: the lookups refuse.
        url = reverse(name, args=[firm_b.firm.slug, cast.organisation.pk, cast.draft.pk, *args])
        assert client.get(url).status_code in (404, 405), name
        posted = client.post(url, {"email": "x@y.example", "reason": "x"})
        assert posted.status_code in (404, 405), name
        assert {client.get(url).status_code, posted.status_code} & {404}, name
    assignment.refresh_from_db()
    assert assignment.status == "assigned"
    assert not DepartmentGapNote.objects.for_firm(cast.firm).exists()


# --- The partner API -------------------------------------------------------------------------------


def _api(cast):
    cast.key = api_key_create(firm=cast.firm)[1]
    cast.write_key = api_key_create(
        firm=cast.firm, scopes=["read", "write"], member=cast.member(Role.PREPARER)
    )[1]
    cast.base = f"/api/v1/organisations/{cast.organisation.public_id}/drafts/{cast.draft.pk}"
    return cast


def test_the_api_assigns_lists_and_shows_the_gap(departments, client, mailoutbox):
    cast = _api(departments)
    with cast.committed():
        response = client.post(
            cast.base + "/departments/",
            {"tracking_option_id": cast.kitchen.option_id, "manager_email": "Chef@Client.example"},
            headers=bearer(cast.write_key),
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["tracking_option"], body["manager_email"], body["status"]) == (
        "Kitchen",
        "chef@client.example",
        "assigned",
    )
    assert body["manager_is_member"] is False
    assert len(mailoutbox) == 1

    listed = client.get(cast.base + "/departments/", headers=bearer(cast.key)).json()
    assert [row["tracking_option"] for row in listed] == ["Kitchen"]

    gaps = client.get(cast.base + "/departments/gaps/", headers=bearer(cast.key)).json()
    assert gaps["tracking_category"] == "Department"
    (wages,) = gaps["accounts"]
    assert (wages["code"], wages["explanation"]) == ("477", None)
    assert [(m["period"], m["overall"], m["departments"], m["gap"]) for m in wages["months"]] == [
        ("2026-11", "5000.00", "4500.00", "500.00"),
        ("2026-12", "5000.00", "4500.00", "500.00"),
    ]
    assert any("not done yet" in p for p in gaps["problems"])


def test_the_api_refuses_bad_input(departments, client):
    cast = _api(departments)
    url = cast.base + "/departments/"
    key = bearer(cast.write_key)
    response = client.post(
        url,
        {"tracking_option_id": "nope", "manager_email": "a@b.example"},
        headers=key,
        content_type="application/json",
    )
    assert_error(response, 404, "not_found")
    response = client.post(
        url,
        {"tracking_option_id": cast.events.option_id, "manager_email": "a@b.example"},
        headers=key,
        content_type="application/json",
    )
    assert_error(response, 409, "not_assigned")
    response = client.post(
        url,
        {"tracking_option_id": cast.kitchen.option_id, "manager_email": "not-email"},
        headers=key,
        content_type="application/json",
    )
    assert_error(response, 400, "invalid")
    response = client.post(
        url,
        {"tracking_option_id": cast.kitchen.option_id, "manager_email": "a@b.example"},
        headers=bearer(cast.key),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not DepartmentAssignment.objects.for_firm(cast.firm).exists()


def test_firm_b_keys_get_404_on_firm_a_drafts(departments, firm_b, client):
    cast = _api(departments)
    department_draft_create(firm_b)
    other = _api(firm_b)
    for path in ("/departments/", "/departments/gaps/"):
        response = client.get(cast.base + path, headers=bearer(other.key))
        assert response.status_code == 404, path
        # Firm A's draft id under firm B's organisation is not firm B's either.
        wrong = f"/api/v1/organisations/{firm_b.organisation.public_id}/drafts/{cast.draft.pk}"
        assert client.get(wrong + path, headers=bearer(other.key)).status_code == 404
    response = client.post(
        cast.base + "/departments/",
        {"tracking_option_id": cast.kitchen.option_id, "manager_email": "a@b.example"},
        headers=bearer(other.write_key),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not DepartmentAssignment.objects.for_firm(cast.firm).exists()
