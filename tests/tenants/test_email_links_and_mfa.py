"""Emailed links always use SITE_URL, whatever host the page that sent them was opened on: a
link to 127.0.0.1 or a proxy's internal name would not open on the reader's device. And the
pages that send a member to set up two-factor keep the firm's navigation."""

import re

from django.urls import reverse

from tests.factories import PASSWORD, UserFactory


def test_sign_up_and_password_reset_links_use_site_url(client, db, mailoutbox, settings):
    settings.SITE_URL = "https://budgets.example.com"
    UserFactory(email="known@example.com")

    client.post(
        reverse("account_signup"),
        {"email": "nina@example.com", "password1": PASSWORD, "password2": PASSWORD},
        HTTP_HOST="127.0.0.1",
    )
    client.post(
        reverse("account_reset_password"), {"email": "known@example.com"}, HTTP_HOST="127.0.0.1"
    )

    assert len(mailoutbox) == 2
    confirm, reset = (m.body for m in mailoutbox)
    assert re.search(r"https://budgets\.example\.com/accounts/confirm-email/\S+/", confirm)
    assert re.search(r"https://budgets\.example\.com/accounts/password/reset/key/\S+/", reset)
    assert "127.0.0.1" not in confirm + reset


def test_the_mfa_required_page_keeps_the_firms_navigation(client, firm_a, firm_b):
    for cast in (firm_a, firm_b):
        cast.firm.require_mfa = True
        cast.firm.save()
    client.force_login(firm_a.member("approver").user)

    page = client.get(reverse("mfa_required", args=[firm_a.firm.slug]))
    other = client.get(reverse("mfa_required", args=[firm_b.firm.slug]))

    assert page.status_code == 403
    assert f'href="{reverse("member_list", args=[firm_a.firm.slug])}"' in page.content.decode()
    # Not a member of firm B: no firm B navigation, no firm B name.
    assert reverse("member_list", args=[firm_b.firm.slug]) not in other.content.decode()
    assert firm_b.firm.name not in other.content.decode()
