import datetime as dt
import re

from django.urls import reverse
from django.utils import timezone

from tenants import services
from tenants.models import Invitation, Membership
from tenants.roles import Role
from tests.factories import UserFactory


def _invite(firm_cast, email="newcomer@example.com", role=Role.APPROVER):
    return services.invitation_create(
        firm=firm_cast.firm, actor=firm_cast.member(Role.OWNER), email=email, role=role, send=False
    )


def test_invitation_email_links_to_a_page_that_joins_on_post(
    client, firm_a, mailoutbox, django_capture_on_commit_callbacks
):
    owner = firm_a.member(Role.OWNER)
    client.force_login(owner.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("invitation_create", args=[firm_a.firm.slug]),
            {"email": "newcomer@example.com", "role": Role.APPROVER},
        )
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["newcomer@example.com"]
    assert "Alder & Partners" in message.subject
    path = re.search(r"http://testserver(/invitations/[^/\s]+/)", message.body).group(1)
    assert message.alternatives and "Accept the invitation" in message.alternatives[0][0]

    newcomer = UserFactory(email="newcomer@example.com")
    client.force_login(newcomer)
    # A GET (a mail scanner, a preview) shows the invitation and changes nothing.
    assert client.get(path).status_code == 200
    assert not Membership.objects.for_firm(firm_a.firm).filter(user=newcomer).exists()
    response = client.post(path)
    assert response.status_code == 302
    membership = Membership.objects.for_firm(firm_a.firm).get(user=newcomer)
    assert membership.role == Role.APPROVER


def test_token_is_stored_hashed(firm_a):
    invitation, token = _invite(firm_a)
    assert token not in invitation.token_hash
    assert len(invitation.token_hash) == 64


def test_expired_invitation_is_refused_with_a_clear_message(client, firm_a):
    invitation, token = _invite(firm_a)
    invitation.expires_at = timezone.now() - dt.timedelta(minutes=1)
    invitation.save()
    client.force_login(UserFactory(email="newcomer@example.com"))
    response = client.post(reverse("invitation_accept", args=[token]))
    assert response.status_code == 400
    assert "has expired" in response.content.decode()
    assert "Ask the firm to send a new one" in response.content.decode()
    assert (
        not Membership.objects.for_firm(firm_a.firm)
        .filter(user__email="newcomer@example.com")
        .exists()
    )


def test_reused_invitation_is_refused(client, firm_a):
    _invitation, token = _invite(firm_a)
    client.force_login(UserFactory(email="newcomer@example.com"))
    assert client.post(reverse("invitation_accept", args=[token])).status_code == 302
    second = client.post(reverse("invitation_accept", args=[token]))
    assert second.status_code == 400
    assert "already been used" in second.content.decode()


def test_wrong_email_is_refused_and_says_which_email(client, firm_a):
    _invitation, token = _invite(firm_a)
    client.force_login(UserFactory(email="someone.else@example.com"))
    response = client.post(reverse("invitation_accept", args=[token]))
    assert response.status_code == 400
    body = response.content.decode()
    assert "newcomer@example.com" in body and "someone.else@example.com" in body
    assert (
        not Membership.objects.for_firm(firm_a.firm)
        .filter(user__email="someone.else@example.com")
        .exists()
    )


def test_withdrawn_invitation_is_refused(client, firm_a):
    invitation, token = _invite(firm_a)
    services.invitation_revoke(invitation=invitation, actor=firm_a.member(Role.OWNER))
    client.force_login(UserFactory(email="newcomer@example.com"))
    response = client.post(reverse("invitation_accept", args=[token]))
    assert response.status_code == 400
    assert "withdrawn" in response.content.decode()


def test_unknown_token_is_refused(client, db):
    response = client.get(reverse("invitation_accept", args=["not-a-real-token"]))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_signed_out_visitor_is_asked_to_sign_in_with_the_invited_email(client, firm_a):
    _invitation, token = _invite(firm_a)
    response = client.get(reverse("invitation_accept", args=[token]))
    assert response.status_code == 200
    assert "newcomer@example.com" in response.content.decode()
    assert Invitation.objects.for_firm(firm_a.firm).get().accepted_at is None
