"""Sign-up, email verification, login and TOTP multi-factor, end to end with the test client."""

import datetime as dt
import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from tenants.models import Firm, User
from tenants.roles import Role
from tests.factories import PASSWORD, UserFactory


def _current_code(secret: str) -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def _login(client, email, password=PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_sign_up_needs_email_verification_then_logs_in(client, db, mailoutbox):
    response = client.post(
        reverse("account_signup"),
        {"email": "nina@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    # Not signed in until the address is verified.
    assert client.get(reverse("home")).status_code == 302

    assert len(mailoutbox) == 1
    confirm_path = re.search(r"http://testserver(/accounts/confirm-email/\S+/)", mailoutbox[0].body)
    assert confirm_path, mailoutbox[0].body
    path = confirm_path.group(1)
    assert client.get(path).status_code == 200  # a page with a button; GET confirms nothing
    response = client.post(path)
    assert response.status_code == 302
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert "Start a new firm" in home.content.decode()


def test_login_with_an_unverified_email_is_held_back(client, db, mailoutbox):
    UserFactory(email="unverified@example.com", verified=False)
    response = _login(client, "unverified@example.com")
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert len(mailoutbox) == 1


def test_wrong_password_is_refused_and_login_is_rate_limited(client, db):
    UserFactory(email="ana@example.com")
    for _ in range(5):
        response = _login(client, "ana@example.com", "wrong password")
        assert response.status_code == 200
        assert "not correct" in response.content.decode()
    blocked = _login(client, "ana@example.com", "wrong password")
    assert "Too many failed login attempts" in blocked.content.decode()
    # Even the right password is held back while the limit is in force.
    assert "Too many failed login attempts" in _login(client, "ana@example.com").content.decode()


def test_totp_setup_then_login_needs_a_code_and_recovery_codes_work(client, db):
    user = UserFactory(email="olga@example.com")
    assert _login(client, "olga@example.com").status_code == 302

    page = client.get(reverse("mfa_activate_totp"), follow=True)
    if page.redirect_chain:
        # allauth asks for the password again before a security change.
        assert "reauthenticate" in page.redirect_chain[-1][0]
        client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
        page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": _current_code(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    codes_page = client.get(reverse("mfa_view_recovery_codes"))
    recovery_codes = codes_page.context["unused_codes"]
    assert len(recovery_codes) == 10

    client.post(reverse("account_logout"))
    response = _login(client, "olga@example.com")
    assert response.status_code == 302
    assert response.url == reverse("mfa_authenticate")
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200
    assert client.get(reverse("home")).status_code == 302  # still not signed in

    assert client.post(reverse("mfa_authenticate"), {"code": recovery_codes[0]}).status_code == 302
    assert client.get(reverse("home")).status_code == 200

    # A recovery code works once.
    client.post(reverse("account_logout"))
    _login(client, "olga@example.com")
    again = client.post(reverse("mfa_authenticate"), {"code": recovery_codes[0]})
    assert again.status_code == 200


def test_firm_requiring_mfa_sends_approvers_without_it_to_set_it_up(client, firm_a):
    firm_a.firm.require_mfa = True
    firm_a.firm.save()
    dashboard = reverse("firm_dashboard", args=[firm_a.firm.slug])

    client.force_login(firm_a.member(Role.APPROVER).user)
    response = client.get(dashboard)
    assert response.status_code == 302
    assert response.url == reverse("mfa_required", args=[firm_a.firm.slug])
    assert "two-factor" in client.get(response.url).content.decode()

    # Preparers and viewers are not covered by the requirement.
    client.force_login(firm_a.member(Role.VIEWER).user)
    assert client.get(dashboard).status_code == 200


def test_owner_with_totp_passes_the_firm_mfa_requirement(client, firm_a):
    firm_a.firm.require_mfa = True
    firm_a.firm.save()
    owner = firm_a.member(Role.OWNER).user
    Authenticator.objects.create(user=owner, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(owner)
    assert client.get(reverse("firm_dashboard", args=[firm_a.firm.slug])).status_code == 200


def test_sign_up_refuses_a_password_shorter_than_twelve_characters(client, db):
    short = "kiwi-tui-42"  # 11 characters, neither common nor numeric: length alone refuses it
    response = client.post(
        reverse("account_signup"),
        {"email": "rua@example.com", "password1": short, "password2": short},
    )
    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()
    assert not User.objects.filter(email="rua@example.com").exists()

    longer = short + "!"
    response = client.post(
        reverse("account_signup"),
        {"email": "rua@example.com", "password1": longer, "password2": longer},
    )
    assert response.status_code == 302
    assert User.objects.filter(email="rua@example.com").exists()


def test_a_changed_password_is_emailed_to_the_account(client, db, mailoutbox):
    user = UserFactory(email="tama@example.com")
    assert _login(client, "tama@example.com").status_code == 302
    new = "a brand new passphrase"
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)
    assert [m.to for m in mailoutbox] == [["tama@example.com"]]
    assert "password" in mailoutbox[0].subject.lower()
    assert "changed" in mailoutbox[0].body.lower()


def test_a_remembered_session_ends_after_twelve_hours(client, db):
    UserFactory(email="aroha@example.com")
    response = client.post(
        reverse("account_login"),
        {"login": "aroha@example.com", "password": PASSWORD, "remember": "on"},
    )
    assert response.status_code == 302
    twelve_hours = 12 * 60 * 60
    assert response.cookies["sessionid"]["max-age"] == twelve_hours
    stored = Session.objects.get(session_key=client.session.session_key)
    assert stored.expire_date <= timezone.now() + dt.timedelta(seconds=twelve_hours)


def test_the_demo_users_with_their_known_password_are_never_made_without_debug(db, settings):
    from django.core.management import CommandError, call_command

    settings.DEBUG = False
    with pytest.raises(CommandError, match="runs with DEBUG=1 only"):
        call_command("demo_setup")
    assert not Firm.objects.filter(slug="demo").exists()
    assert not User.objects.filter(email__endswith="@demo.example.com").exists()
