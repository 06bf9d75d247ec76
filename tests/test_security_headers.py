"""Every page sends a Content-Security-Policy with no 'unsafe-inline', and a Permissions-Policy."""

import pytest
from django.urls import reverse

from tenants.roles import Role


def _policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("who", ["firm_a", "firm_b"])
def test_pages_send_a_strict_content_security_policy(client, firm_a, firm_b, who):
    cast = {"firm_a": firm_a, "firm_b": firm_b}[who]
    client.force_login(cast.member(Role.VIEWER).user)
    for url in (
        reverse("firm_dashboard", args=[cast.firm.slug]),
        reverse("organisation_detail", args=[cast.firm.slug, cast.organisation.pk]),
        reverse("api:docs"),
        reverse("mfa_index"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        policy = _policy(response)
        assert policy["default-src"] == ["'self'"], url
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        for directive in ("script-src", "style-src"):
            assert "'unsafe-inline'" not in policy[directive], (url, directive)
            assert "'unsafe-eval'" not in policy[directive], (url, directive)
        assert "camera=()" in response.headers["Permissions-Policy"], url
    # Another firm's page is a 404, with the same headers.
    other = firm_b if cast is firm_a else firm_a
    response = client.get(reverse("firm_dashboard", args=[other.firm.slug]))
    assert response.status_code == 404
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_sign_in_page_has_the_policy_too(client, db):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_api_docs_page_has_no_inline_script_and_its_style_carries_the_nonce(client, db):
    response = client.get(reverse("api:docs"))
    page = response.content.decode()
    policy = _policy(response)
    nonce = next(v for v in policy["style-src"] if v.startswith("'nonce-"))[7:-1]
    assert f'<style nonce="{nonce}">' in page
    assert "<script>" not in page
    script = client.get(reverse("api:docs") + "?script")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


def test_the_admin_signs_in_through_the_apps_sign_in_with_its_second_factor(client):
    response = client.get("/staff/login/?next=/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_htmx_keeps_no_copies_of_pages_in_the_browser(client, firm_a, firm_b):
    # htmx's history cache would keep the last pages' figures in sessionStorage after sign-out.
    client.force_login(firm_a.member("viewer").user)
    page = client.get(f"/f/{firm_a.firm.slug}/").content.decode()
    assert '"historyCacheSize": 0' in page
