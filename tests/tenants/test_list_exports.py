"""The firm's members and API keys export to CSV, named after the firm and the day: names are
guarded against formulas, no key's secret is ever in the file, and another firm's rows stay out."""

from django.urls import reverse

from core import clock
from tenants.roles import Role
from tests.budgeting.screens import csv_rows
from tests.factories import InvitationFactory, MembershipFactory, UserFactory, api_key_create


def screen(cast, name):
    return reverse(name, args=[cast.firm.slug])


def test_the_members_export_with_open_invitations_and_guarded_names(client, firm_a, firm_b):
    MembershipFactory(firm=firm_a.firm, user=UserFactory(full_name="+Mallory", email="m@a.example"))
    owner_a, owner_b = firm_a.member(Role.OWNER).user, firm_b.member(Role.OWNER).user
    InvitationFactory(
        firm=firm_a.firm, email="new.partner@a.example", role=Role.APPROVER, invited_by=owner_a
    )
    InvitationFactory(firm=firm_b.firm, email="someone@b.example", invited_by=owner_b)
    client.force_login(firm_a.member(Role.VIEWER).user)

    response = client.get(screen(firm_a, "member_list_csv"))

    rows = csv_rows(response)
    assert rows[0] == ["Name", "Email", "Role", "Member since", "Status"]
    emails = [row[1] for row in rows[1:]]
    assert len(emails) == len(Role.values) + 2
    assert ["'+Mallory", "m@a.example"] in [row[:2] for row in rows]
    assert ["", "new.partner@a.example", "Approver"] in [row[:3] for row in rows]
    assert "someone@b.example" not in emails
    assert not any(m.user.email in emails for m in firm_b.members.values())
    disposition = response["Content-Disposition"]
    assert disposition.endswith(f'filename="alder-partners-members-{clock.today()}.csv"')


def test_the_api_keys_export_without_secrets(client, firm_a, firm_b):
    api_key, secret = api_key_create(firm=firm_a.firm, name="=cmd|' /C calc'!A0")
    _theirs, _ = api_key_create(firm=firm_b.firm, name="Birch BI")
    client.force_login(firm_a.member(Role.ADMIN).user)

    response = client.get(screen(firm_a, "api_key_list_csv"))

    rows = csv_rows(response)
    assert rows[0][:3] == ["Name", "Key starts", "Scopes"]
    assert len(rows) == 2
    assert rows[1][0] == "'=cmd|' /C calc'!A0"
    assert rows[1][1] == f"ll_{api_key.prefix}_" and rows[1][-1] == "Active"
    assert secret not in response.content.decode()
    assert "Birch BI" not in response.content.decode()
    assert response["Content-Disposition"].endswith(
        f'filename="alder-partners-api-keys-{clock.today()}.csv"'
    )


def test_another_firms_members_and_keys_are_not_found(client, firm_a, firm_b):
    client.force_login(firm_b.member(Role.OWNER).user)

    assert client.get(screen(firm_a, "member_list_csv")).status_code == 404
    assert client.get(screen(firm_a, "api_key_list_csv")).status_code == 404
