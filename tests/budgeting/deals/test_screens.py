"""The sales pipeline screen: a preparer uploads the client's CRM export and sees the pipeline
beside the statistical forecast with a chart; a bad file is refused with every row's reason and
nothing saved; a viewer reads but cannot upload; firm B never reaches firm A's pipeline."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from budgeting.deals.services import sales_pipeline_import_csv
from budgeting.models import Deal, SalesPipelineUpload
from tenants.roles import Role
from tests.budgeting.screens import login, text

pytestmark = pytest.mark.clock("2026-11-16T09:00:00Z")
GOOD = (
    b"Deal,Amount,Stage,Probability,Close month\n"
    b"Harbour fit-out,80000,Proposal,,2026-12\n"
    b"Marina catering,30000,,100,2027-01\n"
)


def url(cast, name, *args):
    return reverse(name, args=[cast.firm.slug, cast.organisation.pk, *args])


def _post(client, cast, organisation, content: bytes, as_of="2026-11"):
    return client.post(
        url(cast, "sales_pipeline_upload"),
        {
            "file": SimpleUploadedFile("crm.csv", content, content_type="text/csv"),
            "as_of": as_of,
            "default_account": str(organisation.accounts["200"].pk),
        },
    )


def test_a_preparer_uploads_an_export_and_sees_it_beside_the_forecast(
    client, firm_a, organisation_a
):
    login(client, firm_a)
    page = text(client.get(url(firm_a, "sales_pipeline")))
    assert "No sales pipeline yet" in page and "Upload a CRM export" in page
    response = _post(client, firm_a, organisation_a, GOOD)
    assert response.status_code == 302
    assert response["Location"] == url(firm_a, "sales_pipeline")
    upload = SalesPipelineUpload.objects.for_firm(firm_a.firm).get()
    assert (upload.version, upload.deal_count, upload.uploaded_by) == (
        1,
        2,
        firm_a.member(Role.PREPARER).user,
    )
    page = text(client.get(url(firm_a, "sales_pipeline")))
    assert "Sales pipeline v1 saved: 2 deals as of Nov 2026." in page
    assert "Version 1, as of Nov 2026" in page
    assert "<svg" in page and "Sales (200)" in page
    # Dec: 80,000 at Proposal's 50%; Jan: 30,000 at 100%; no past pipeline: weight 0.50.
    assert "40,000.00" in page and "30,000.00" in page
    assert "Weight of the pipeline: <strong>0.50</strong>" in page and "untested" in page
    assert "Harbour fit-out" in page and "(stage)" in page


def test_a_bad_file_is_refused_with_each_row_and_nothing_is_saved(client, firm_a, organisation_a):
    login(client, firm_a)
    bad = (
        b"deal,amount,probability,close_month,tracking_option\n"
        b"Fine,1000,50,2026-12,\n"
        b"Words,lots,50,2026-12,\n"
        b"Early,1000,50,2025-01,\n"
        b"Somewhere,1000,50,2026-12,Atlantis\n"
    )
    response = _post(client, firm_a, organisation_a, bad)
    assert response.status_code == 400
    page = response.content.decode()
    assert "The file was not imported: 3 problems" in page
    assert "<td>3</td><td>amount</td><td>&#x27;lots&#x27; is not a number" in page
    assert "<td>4</td><td>close_month</td><td>2025-01 is out of range" in page
    assert (
        "<td>5</td><td>tracking_option</td><td>unknown tracking option &#x27;Atlantis&#x27;" in page
    )
    response = _post(client, firm_a, organisation_a, b"deal,amount,colour,close_month\n")
    assert "unknown column &#x27;colour&#x27;" in response.content.decode()
    response = _post(client, firm_a, organisation_a, GOOD, as_of="November")
    assert response.status_code == 400
    assert "Give a month as YYYY-MM" in response.content.decode()
    assert not SalesPipelineUpload.objects.for_firm(firm_a.firm).exists()
    assert not Deal.objects.for_firm(firm_a.firm).exists()


def test_every_version_stays_readable(client, firm_a, organisation_a):
    login(client, firm_a)
    _post(client, firm_a, organisation_a, GOOD)
    _post(client, firm_a, organisation_a, GOOD.replace(b"80000", b"90000"))
    first, _ = SalesPipelineUpload.objects.for_firm(firm_a.firm).order_by("version")
    page = text(client.get(url(firm_a, "sales_pipeline_version", first.pk)))
    assert "Version 1, as of Nov 2026" in page and "80,000.00" in page
    page = text(client.get(url(firm_a, "sales_pipeline")))
    assert "Version 2, as of Nov 2026" in page and "90,000.00" in page


def test_a_viewer_reads_but_cannot_upload(client, firm_a, organisation_a):
    login(client, firm_a, Role.VIEWER)
    page = text(client.get(url(firm_a, "sales_pipeline")))
    assert "Upload a CRM export" not in page
    assert _post(client, firm_a, organisation_a, GOOD).status_code == 403
    assert not SalesPipelineUpload.objects.for_firm(firm_a.firm).exists()


def test_another_firm_never_reaches_the_pipeline(
    client, firm_a, firm_b, organisation_a, organisation_b
):
    upload = sales_pipeline_import_csv(
        firm=firm_a.firm, organisation=firm_a.organisation, data=GOOD, file_name="a.csv", user=None
    )
    login(client, firm_b)
    # Firm A's organisation under firm B's slug, and firm A's version under firm B's organisation.
    for address in (
        reverse("sales_pipeline", args=[firm_b.firm.slug, firm_a.organisation.pk]),
        reverse(
            "sales_pipeline_version", args=[firm_b.firm.slug, firm_a.organisation.pk, upload.pk]
        ),
        url(firm_b, "sales_pipeline_version", upload.pk),
    ):
        assert client.get(address).status_code == 404
    response = client.post(
        reverse("sales_pipeline_upload", args=[firm_b.firm.slug, firm_a.organisation.pk]),
        {"file": SimpleUploadedFile("crm.csv", GOOD), "as_of": "2026-11"},
    )
    assert response.status_code == 404
    # Firm A's own pages under firm A's slug are not firm B's to open.
    assert client.get(url(firm_a, "sales_pipeline")).status_code == 404
    page = text(client.get(url(firm_b, "sales_pipeline")))
    assert "No sales pipeline yet" in page and "Harbour fit-out" not in page
    assert SalesPipelineUpload.objects.for_firm(firm_a.firm).count() == 1


def test_the_sample_export_names_this_clients_account_and_option_and_imports_as_it_is(
    client, firm_a, firm_b, organisation_a
):
    login(client, firm_a)
    assert "Download a sample CRM export" in text(client.get(url(firm_a, "sales_pipeline")))
    response = client.get(url(firm_a, "sales_pipeline_sample"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    header, *rows = response.content.decode().splitlines()
    assert header == "deal,amount,stage,probability,close_month,tracking_option,account"
    # Closing in FY2028, the next financial year (the clock's open month is November 2026;
    # the year ends in March): the year an annual draft covers.
    assert [row.split(",")[4] for row in rows] == ["2027-05", "2027-06", "2027-08"]
    assert rows[1].split(",")[5:] == ["North", "200"]
    upload = _post(client, firm_a, organisation_a, response.content)
    assert upload.status_code == 302
    assert SalesPipelineUpload.objects.for_firm(firm_a.firm).get().deal_count == 3
    # Firm B: firm A's client's sample is not theirs.
    login(client, firm_b)
    sample = reverse("sales_pipeline_sample", args=[firm_b.firm.slug, firm_a.organisation.pk])
    assert client.get(sample).status_code == 404
