"""Every page sends a Content-Security-Policy with no 'unsafe-inline', and a Permissions-Policy;
no response with data may be stored by a browser or proxy."""

import pytest
from django.test import Client
from django.urls import reverse

from tenants.models import ApiKey
from tenants.roles import Role
from tests.factories import PASSWORD, api_key_create
from tests.routes import ALL_ROUTES, KEY_API_PREFIX, OBJECT_FACTORIES, route_url


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


# Every route but the Django admin (staff only, and Django marks its pages never_cache itself).
CACHE_SWEPT = [r for r in ALL_ROUTES if not r.route.startswith("staff/")]


@pytest.mark.parametrize("route", CACHE_SWEPT, ids=[r.name for r in CACHE_SWEPT])
def test_no_response_with_data_may_be_stored(client, firm_a, firm_b, route):
    """Signed-in pages, API reads (by key and by session), exports, sign-off pages: whatever
    the answer, no browser or proxy may keep it (ASVS 8.2.1)."""
    values = {
        p: OBJECT_FACTORIES[p](firm_a) if p in OBJECT_FACTORIES else "made-up-token"
        for p in route.params
    }
    values["firm_slug"] = firm_a.firm.slug
    url = route_url(route, values)
    askers = []
    for cast in (firm_a, firm_b):  # firm A's own member, then firm B's for firm A's objects
        if route.route.startswith(KEY_API_PREFIX):
            _api_key, key = api_key_create(
                firm=cast.firm, scopes=ApiKey.Scope.values, member=cast.member(Role.OWNER)
            )
            askers.append((cast, {"Authorization": f"Bearer {key}"}))
        else:
            askers.append((cast, {}))
    for cast, headers in askers:
        if not headers:
            client.force_login(cast.member(Role.OWNER).user)
        response = client.get(url, headers=headers)
        assert "no-store" in response.headers.get("Cache-Control", ""), (cast.firm.slug, url)
        assert response.headers["Pragma"] == "no-cache", url
        if cast is firm_b:
            assert firm_a.organisation.name not in response.content.decode(errors="ignore")


def test_signed_out_pages_are_not_stored_either(client, db):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["Pragma"] == "no-cache"


def test_a_view_cannot_make_a_signed_in_page_cacheable(rf, firm_a):
    from django.http import HttpResponse

    from core.middleware import NoStoreMiddleware

    def cacheable(request):
        response = HttpResponse("figures")
        response["Cache-Control"] = "public, max-age=3600"
        return response

    request = rf.get("/")
    request.user = firm_a.member(Role.VIEWER).user
    assert NoStoreMiddleware(cacheable)(request)["Cache-Control"] == "private, no-store"


def test_signing_out_tells_the_browser_to_forget_what_it_kept(client, firm_a, firm_b):
    client.force_login(firm_a.member("owner").user)
    page = client.get(reverse("firm_dashboard", args=[firm_a.firm.slug]))
    assert "Clear-Site-Data" not in page  # only the sign-out clears

    signed_out = client.post(reverse("account_logout"))

    assert signed_out.status_code == 302
    assert signed_out["Clear-Site-Data"] == '"cache", "storage"'
    assert client.get(reverse("firm_dashboard", args=[firm_a.firm.slug])).status_code == 302
    # Firm B's member, signed in meanwhile in another browser, is not signed out or cleared.
    other = Client()
    other.force_login(firm_b.member("owner").user)
    assert other.get(reverse("firm_dashboard", args=[firm_b.firm.slug])).status_code == 200


def test_production_cookies_carry_the_host_prefix_and_what_it_needs(client, firm_a, settings):
    """ASVS 3.4.4: with SECURE on, the session and CSRF cookies are __Host- prefixed, which a
    browser accepts only with Secure, Path=/ and no Domain: all three are checked on a sign-in."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DEBUG": "0",
        "SECURE": "1",
        "SECRET_KEY": "test-" + "k" * 60,
        "ALLOWED_HOSTS": "budgets.example.com",
    }
    printed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from config import settings as s; "
            "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE)",
        ],
        env={k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert printed == ["__Host-sessionid", "__Host-csrftoken", "True"]

    settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME = printed[:2]
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    client.get(reverse("account_login"), secure=True)
    response = client.post(
        reverse("account_login"),
        {"login": firm_a.member(Role.OWNER).user.email, "password": PASSWORD},
        secure=True,
    )
    assert response.status_code == 302
    for name in printed[:2]:
        cookie = response.cookies[name]
        assert cookie["secure"] and cookie["path"] == "/" and not cookie["domain"], name
