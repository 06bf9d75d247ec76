"""Error pages inside the app's layout, with a way back; the favicon exists."""

from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from tenants.roles import Role


def test_a_missing_page_is_404_in_the_layout_with_a_way_back(client, firm_a, firm_b):
    client.force_login(firm_a.member(Role.VIEWER).user)
    for url in (
        "/no/such/page/",
        # Another firm's client looks the same as one that does not exist.
        reverse("organisation_detail", args=[firm_a.firm.slug, firm_b.organisation.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 404
        page = response.content.decode()
        assert "<h1>Not found</h1>" in page and "Skip to content" in page
        assert firm_b.organisation.name not in page


def test_a_refusal_is_403_in_the_layout_saying_why(client, firm_a, firm_b):
    client.force_login(firm_a.member(Role.VIEWER).user)
    response = client.get(reverse("firm_settings", args=[firm_a.firm.slug]))
    assert response.status_code == 403
    page = response.content.decode()
    assert "<h1>Not allowed</h1>" in page and "Skip to content" in page
    assert f'href="{reverse("firm_dashboard", args=[firm_a.firm.slug])}"' in page


def test_the_500_page_stands_alone_without_a_request_context(db):
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page and 'href="/"' in page


def test_the_favicon_exists(client, db):
    from pathlib import Path

    from django.contrib.staticfiles import finders
    from django.templatetags.static import static

    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == static("favicon.svg")
    assert Path(finders.find("favicon.svg")).read_bytes().startswith(b"<svg")
