"""The actuals grid's window is one of 12, 24 or 36 months: any other is refused with a message
on the Months field (or a 400 saying what to do, for the CSV), never replaced by 12."""

import pytest
from django.urls import reverse

from tenants.roles import Role


def url(cast, name, organisation=None):
    return reverse(name, args=[cast.firm.slug, (organisation or cast.organisation).pk])


@pytest.mark.parametrize("months", ["7", "abc", "-12"])
def test_an_unknown_window_is_refused_on_its_field(client, firm_a, firm_b, months):
    client.force_login(firm_a.member(Role.VIEWER).user)

    page = client.get(url(firm_a, "organisation_detail"), {"tab": "actuals", "months": months})
    download = client.get(url(firm_a, "organisation_actuals_csv"), {"months": months})

    assert page.status_code == 400
    text = page.content.decode()
    assert 'id="months-select" name="months" aria-invalid="true"' in text
    assert f"“{months}” is not one of the windows: choose 12, 24 or 36 months." in text
    assert "Actuals, all tracking options" not in text  # no grid of another window
    assert download.status_code == 400
    assert "is not one of the windows" in download.content.decode()
    client.force_login(firm_b.member(Role.OWNER).user)
    theirs = client.get(url(firm_b, "organisation_detail", firm_a.organisation), {"months": "7"})
    assert theirs.status_code == 404


def test_a_known_window_is_shown(client, firm_a):
    client.force_login(firm_a.member(Role.VIEWER).user)

    page = client.get(url(firm_a, "organisation_detail"), {"tab": "actuals", "months": "24"})

    assert page.status_code == 200
    assert '<option value="24" selected>' in page.content.decode()
