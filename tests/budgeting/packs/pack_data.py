"""A client organisation ready for a report pack: October 2026's figures
(tests/budgeting/variance_data.py), forecasts kept after October closed, and a draft whose
approval is under way."""

import datetime as dt
import io
from decimal import Decimal

from budgeting.models import ApprovalRequest, ApprovalStep, Draft, ForecastRecord
from core.months import add_months
from tenants.roles import Role
from tests.budgeting.variance_data import OCTOBER, variance_organisation_create


def pack_organisation_create(cast):
    firm, owned = cast.firm, {"firm": cast.firm, "organisation": cast.organisation}
    data = variance_organisation_create(firm=firm, organisation=cast.organisation)
    sales = data.accounts["200"]
    for step in (1, 2, 3):
        ForecastRecord.objects.for_firm(firm).create(
            **owned,
            account=sales,
            made_at=OCTOBER,
            target=add_months(OCTOBER, step),
            step=step,
            point=Decimal("51234.00") + step,
            lo_80=Decimal("47000.00"),
            hi_80=Decimal("55500.00"),
            lo_95=Decimal("44100.00"),
            hi_95=Decimal("58800.00"),
            method="seasonal_naive",
            inputs_hash="x" * 64,
        )
    draft = Draft.objects.for_firm(firm).create(
        **owned,
        created_by=cast.member(Role.PREPARER).user,
        horizon=3,
        first_period=add_months(OCTOBER, 1),
        last_actual_period=OCTOBER,
        currency_code="NZD",
        status=Draft.Status.SUBMITTED,
    )
    request = ApprovalRequest.objects.for_firm(firm).create(**owned, draft=draft, revision=1)
    ApprovalStep.objects.for_firm(firm).create(
        **owned,
        request=request,
        position=1,
        name="Partner review",
        roles=[Role.APPROVER],
        status=ApprovalStep.Status.OPEN,
        opened_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC),
    )
    return data


def png(width: int = 64, height: int = 32, colour=(200, 30, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    """The PDF's text with every run of white space as one space (table cells wrap)."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())
