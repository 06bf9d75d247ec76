"""Importing a CRM export: a good file becomes the next version with every deal; a file with
unknown columns, non-numeric amounts, months out of range or unknown tracking options is
refused with each row and reason, and nothing of it is saved."""

import datetime as dt
from decimal import Decimal

import pytest

from budgeting.deals.selectors import sales_pipeline_current
from budgeting.deals.services import DealImportError, sales_pipeline_import_csv
from budgeting.models import Deal, SalesPipelineUpload
from tenants.roles import Role

# The draft organisation is locked to October 2026; it is November where the client is.
pytestmark = pytest.mark.clock("2026-11-16T09:00:00Z")
NOVEMBER, DECEMBER = dt.date(2026, 11, 1), dt.date(2026, 12, 1)

GOOD = (
    "Deal,Amount,Stage,Probability,Close Month,Tracking Option,Account\n"
    'Harbour fit-out,"12,500.00",Proposal,,2026-12,,\n'
    "Marina catering,8000,Negotiation,40%,2027-01-31,North,\n"
    "Office lunches,1200.50,,90,2026-12,Region: North,270\n"
)


def _import(cast, data: str, **extra):
    return sales_pipeline_import_csv(
        firm=cast.firm,
        organisation=cast.organisation,
        data=data.encode(),
        file_name="crm.csv",
        user=cast.member(Role.PREPARER).user,
        **extra,
    )


def test_a_good_export_becomes_version_one_with_every_deal(firm_a, organisation_a):
    upload = _import(firm_a, GOOD)
    assert (upload.version, upload.as_of, upload.deal_count) == (1, NOVEMBER, 3)
    assert upload.default_account == organisation_a.accounts["200"]  # the most revenue
    deals = list(Deal.objects.for_firm(firm_a.firm).filter(upload=upload).order_by("row"))
    assert [(d.row, d.name, d.amount, d.probability, d.probability_from_stage) for d in deals] == [
        (2, "Harbour fit-out", Decimal("12500.00"), Decimal("50.00"), True),
        (3, "Marina catering", Decimal("8000.00"), Decimal("40.00"), False),
        (4, "Office lunches", Decimal("1200.50"), Decimal("90.00"), False),
    ]
    assert [d.close_month for d in deals] == [DECEMBER, dt.date(2027, 1, 1), DECEMBER]
    assert [d.tracking_option for d in deals] == [
        None,
        organisation_a.option,
        organisation_a.option,
    ]
    assert [d.account.code for d in deals] == ["200", "200", "270"]
    # 6,250 + 3,200 + 1,080.45
    assert upload.weighted_amount == Decimal("10530.45")
    assert upload.total_amount == Decimal("21700.50")
    assert upload.history.first().history_change_reason == (
        "Sales pipeline v1 uploaded: 3 deals from crm.csv"
    )


def test_each_upload_is_a_new_version_and_the_latest_month_is_current(firm_a, organisation_a):
    first = _import(firm_a, GOOD)
    older = _import(firm_a, GOOD.replace("2026-12", "2026-09"), as_of=dt.date(2026, 8, 1))
    assert (first.version, older.version) == (1, 2)
    assert sales_pipeline_current(firm=firm_a.firm, organisation=firm_a.organisation) == first
    again = _import(firm_a, GOOD)
    assert again.version == 3
    assert sales_pipeline_current(firm=firm_a.firm, organisation=firm_a.organisation) == again


def test_bad_rows_are_refused_each_with_its_row_and_reason_and_nothing_is_saved(
    firm_a, organisation_a
):
    bad = (
        "deal,amount,stage,probability,close_month,tracking_option\n"
        "Fine deal,1000,Proposal,,2026-12,\n"
        "Wordy amount,ten thousand,Proposal,,2026-12,\n"
        "Too early,1000,Proposal,,2026-10,\n"
        "Too late,1000,Proposal,,2029-11,\n"
        "Nowhere,1000,Proposal,,2026-12,South\n"
        "Guess,1000,Maybe,,13/2026,\n"
        ",-5,,150,,\n"
    )
    with pytest.raises(DealImportError) as refused:
        _import(firm_a, bad)
    said = [str(e) for e in refused.value.errors]
    assert said == [
        "Row 3, amount: 'ten thousand' is not a number (write 12500.00)",
        "Row 4, close_month: 2026-10 is out of range: a deal of the pipeline as of Nov 2026 "
        "closes from 2026-11 to 2029-10",
        "Row 5, close_month: 2029-11 is out of range: a deal of the pipeline as of Nov 2026 "
        "closes from 2026-11 to 2029-10",
        "Row 6, tracking_option: unknown tracking option 'South'",
        "Row 7, probability: stage 'Maybe' has no default probability: give a probability (0-100)",
        "Row 7, close_month: '13/2026' is not a month (write 2027-03 or 2027-03-31)",
        "Row 8, deal: the deal has no name",
        "Row 8, amount: -5 is negative; a deal's amount is what it would bring in",
        "Row 8, probability: 150 is not between 0 and 100",
        "Row 8, close_month: '' is not a month (write 2027-03 or 2027-03-31)",
    ]
    assert not SalesPipelineUpload.objects.for_firm(firm_a.firm).exists()
    assert not Deal.objects.for_firm(firm_a.firm).exists()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            "deal,amount,owner,close_month\nA,1,Ana,2026-12\n",
            "The file: Line 1: unknown column 'owner'; the columns are deal, amount, stage, "
            "probability, close_month, tracking_option, account.",
        ),
        ("deal,amount\nA,1\n", "The file: Line 1: the column close_month is missing."),
        (
            "deal,amount,close_month\nA,1,2026-12,extra\n",
            "The file: Line 2: 4 cells for 3 columns.",
        ),
        ("", "The file: The file is empty: line 1 should name the columns."),
        ("deal,amount,close_month\n", "The file: there is no deal in it"),
    ],
)
def test_a_file_that_is_not_the_export_is_refused_whole(firm_a, organisation_a, data, reason):
    with pytest.raises(DealImportError) as refused:
        _import(firm_a, data)
    assert [str(e) for e in refused.value.errors] == [reason]


def test_a_file_that_is_not_utf8_text_is_refused(firm_a, organisation_a):
    with pytest.raises(DealImportError, match="not UTF-8"):
        sales_pipeline_import_csv(
            firm=firm_a.firm,
            organisation=firm_a.organisation,
            data=b"deal,amount,close_month\n\xff\xfe,1,2026-12\n",
            file_name="crm.csv",
            user=None,
        )


def test_a_pipeline_cannot_be_as_of_a_month_still_to_come(firm_a, organisation_a):
    with pytest.raises(DealImportError, match="not 2026-12"):
        _import(firm_a, GOOD, as_of=DECEMBER)


def test_an_option_two_categories_share_must_name_its_category(firm_a, organisation_a):
    from budgeting.models import TrackingCategory, TrackingOption

    owned = {"firm": firm_a.firm, "organisation": firm_a.organisation}
    team = TrackingCategory.objects.create(**owned, category_id="cat-2", name="Team")
    TrackingOption.objects.create(**owned, category=team, option_id="opt-2", name="North")
    with pytest.raises(DealImportError) as refused:
        _import(
            firm_a, "deal,amount,probability,close_month,tracking_option\nA,1,50,2026-12,north\n"
        )
    assert str(refused.value.errors[0]) == (
        "Row 2, tracking_option: 'north' is an option of Region, Team: write it as Category: Option"
    )
    upload = _import(
        firm_a, "deal,amount,probability,close_month,tracking_option\nA,1,50,2026-12,Team: North\n"
    )
    assert Deal.objects.for_firm(firm_a.firm).get(upload=upload).tracking_option.category == team


def test_another_firms_account_or_an_expense_account_is_no_default(
    firm_a, organisation_a, firm_b, organisation_b
):
    for account in (organisation_b.accounts["200"], organisation_a.accounts["469"]):
        with pytest.raises(DealImportError, match="revenue accounts"):
            _import(firm_a, GOOD, default_account=account)
