"""Publishing an approved forecast to Xero: the Budget Manager import file, and the check after
the next sync that Xero holds exactly what the file asked for."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from budgeting.models import Account, Budget, BudgetBalance, BudgetPublication
from budgeting.publishing.import_file import (
    ImportFileError,
    ImportRow,
    budget_import_verify,
    month_heading,
    whole_units,
    xero_budget_import_file,
)
from budgeting.publishing.services import (
    PublicationError,
    budget_publication_create,
    budget_publications_verify,
)
from integrations.xero.sandbox.budget_import import parse_month
from tests.sandbox import SANDBOX_ADMIN, sandbox_http, sync

JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)


# --- The file ---------------------------------------------------------------------------------


def test_the_file_is_budget_managers_documented_format():
    text = xero_budget_import_file(
        rows=[
            ImportRow("Interest Income", "230", {JAN: Decimal("120.00"), MAR: Decimal("80.40")}),
            ImportRow("Advertising", "400", {FEB: Decimal("3000.50")}),
        ],
        months=[MAR, JAN, FEB],
    )
    assert text == (
        "Account,Jan-2026,Feb-2026,Mar-2026\r\n"
        "Interest Income (230),120,,80\r\n"
        "Advertising (400),,3001,\r\n"
    )
    grid = list(csv.reader(io.StringIO(text)))
    # Row 1: months as MMM-YYYY, which Xero documents (MMM-YY such as Jan-26 is not).
    assert [parse_month(m) for m in grid[0][1:]] == ["2026-01", "2026-02", "2026-03"]
    assert all(len(m) == 8 for m in grid[0][1:])
    # Column 1: "Account Name (Code)".
    assert [row[0] for row in grid[1:]] == ["Interest Income (230)", "Advertising (400)"]


def test_account_names_with_commas_and_quotes_are_quoted():
    text = xero_budget_import_file(
        rows=[ImportRow('Repairs, "Plant"', "460", {JAN: Decimal(5)})], months=[JAN]
    )
    assert list(csv.reader(io.StringIO(text)))[1] == ['Repairs, "Plant" (460)', "5"]


@pytest.mark.parametrize(
    ("amount", "whole"),
    [
        ("10.49", "10"),
        ("10.50", "11"),  # "Up to the nearest dollar if 50 cents or over"
        ("10.51", "11"),
        ("-10.50", "-11"),
        ("-10.49", "-10"),
        ("0.49", "0"),
        ("-0.40", "0"),
        ("1234567.5", "1234568"),
    ],
)
def test_amounts_round_half_up_to_whole_units(amount, whole):
    text = xero_budget_import_file(
        rows=[ImportRow("Sales", "200", {JAN: Decimal(amount)})], months=[JAN]
    )
    assert text.splitlines()[1] == f"Sales (200),{whole}"
    assert whole_units(Decimal(amount)) == Decimal(whole)


def test_only_the_changed_months_are_filled_and_unchanged_accounts_left_out():
    text = xero_budget_import_file(
        rows=[
            ImportRow("Sales", "200", {FEB: Decimal(0)}),
            ImportRow("Rent", "469", {}),
        ],
        months=[JAN, FEB, MAR],
    )
    # A zero is a figure (Xero imports it); a blank leaves Xero's figure alone.
    assert text == "Account,Jan-2026,Feb-2026,Mar-2026\r\nSales (200),,0,\r\n"


def test_a_file_that_xero_could_not_match_is_refused():
    with pytest.raises(ImportFileError, match="no code"):
        xero_budget_import_file(rows=[ImportRow("Sales", "", {JAN: Decimal(1)})], months=[JAN])
    with pytest.raises(ImportFileError, match="not in the file"):
        xero_budget_import_file(rows=[ImportRow("Sales", "200", {FEB: Decimal(1)})], months=[JAN])
    with pytest.raises(ImportFileError, match="twice"):
        xero_budget_import_file(
            rows=[ImportRow("Sales", "200", {JAN: 1}), ImportRow("Sales", "200", {JAN: 2})],
            months=[JAN],
        )


def test_verify_lists_every_figure_xero_holds_differently():
    expected = {("200", JAN): Decimal("100.40"), ("200", FEB): Decimal(0), ("400", JAN): 50}
    assert (
        budget_import_verify(
            expected=expected,
            synced={("200", JAN): Decimal("100.00"), ("400", JAN): Decimal("50.00")},
        )
        == []
    )
    differences = budget_import_verify(expected=expected, synced={("200", JAN): Decimal("101.00")})
    assert [(d.key, d.period, d.expected, d.synced) for d in differences] == [
        ("200", JAN, Decimal(100), Decimal("101.00")),
        ("400", JAN, Decimal(50), None),
    ]


# --- The loop with the sandbox ----------------------------------------------------------------

CAFE = "Harbour Lane Café"


def _publish(firm_cast, changes: dict[str, Decimal], *, user=None):
    """Publish new figures for the three months after the open one of the café's overall
    budget: {account code: amount}."""
    firm = firm_cast.firm
    organisation = firm_cast.linked[CAFE]
    budget = Budget.objects.for_firm(firm).get(organisation=organisation, type="OVERALL")
    accounts = {a.code: a for a in Account.objects.for_firm(firm).filter(organisation=organisation)}
    months = sorted(
        set(
            BudgetBalance.objects.for_firm(firm)
            .filter(budget_line__budget=budget, period__gt=dt.date.today())
            .values_list("period", flat=True)
        )
    )[:3]
    amounts = {
        (accounts[code], month): amount + index
        for code, amount in changes.items()
        for index, month in enumerate(months)
    }
    publication = budget_publication_create(
        firm=firm,
        organisation=organisation,
        budget=budget,
        amounts=amounts,
        user=user or firm_cast.member("preparer").user,
    )
    return publication, budget, amounts


def _import(xero_sandbox, budget, content: str):
    with sandbox_http(xero_sandbox) as http:
        answer = http.post(
            f"/_sandbox/organisations/cafe/budgets/{budget.budget_id}/import",
            content=content.encode(),
            headers={**SANDBOX_ADMIN, "Content-Type": "text/csv"},
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _two_codes(firm_cast) -> list[str]:
    organisation = firm_cast.linked[CAFE]
    lines = (
        BudgetBalance.objects.for_firm(firm_cast.firm)
        .filter(organisation=organisation, budget_line__budget__type="OVERALL")
        .exclude(budget_line__account__code="")
        .values_list("budget_line__account__code", flat=True)
        .distinct()
        .order_by("budget_line__account__code")
    )
    return list(lines)[:2]


@pytest.mark.mutable_sandbox
def test_import_then_sync_verifies_the_publication(
    connected_firm, xero_sandbox, django_capture_on_commit_callbacks, celery_eager
):
    assert sync(connected_firm, CAFE).state == "succeeded"
    first, second = _two_codes(connected_firm)
    with django_capture_on_commit_callbacks(execute=True):
        publication, budget, amounts = _publish(
            connected_firm, {first: Decimal("1234.50"), second: Decimal("99.49")}
        )
    assert publication.status == BudgetPublication.Status.AWAITING_IMPORT

    # The preparer gets the file and the steps to import it.
    (email,) = mail.outbox
    assert email.to == [connected_firm.member("preparer").user.email]
    assert email.attachments[0][0] == publication.file_name
    assert email.attachments[0][1] == publication.file_content
    assert "Reports, then Budget Manager" in email.body
    assert "Confirm" in email.body
    assert "Budget Manager" in email.alternatives[0][0]

    # A sync before anyone imported the file: still awaiting import, not a mismatch.
    assert sync(connected_firm, CAFE).state == "succeeded"
    organisation = connected_firm.linked[CAFE]
    (checked,) = budget_publications_verify(firm=connected_firm.firm, organisation=organisation)
    assert checked.status == BudgetPublication.Status.AWAITING_IMPORT

    # A Xero user imports the file in Budget Manager; the next sync reads it back.
    assert _import(xero_sandbox, budget, publication.file_content)["valuesImported"] == 6
    assert sync(connected_firm, CAFE).state == "succeeded"
    (checked,) = budget_publications_verify(firm=connected_firm.firm, organisation=organisation)
    assert checked.status == BudgetPublication.Status.VERIFIED
    assert checked.differences == []
    synced = {
        (b.budget_line.account_id, b.period): b.amount
        for b in BudgetBalance.objects.for_firm(connected_firm.firm).filter(
            budget_line__budget=budget
        )
    }
    assert {(a.pk, p): synced[(a.pk, p)] for a, p in amounts} == {
        (a.pk, p): whole_units(v) for (a, p), v in amounts.items()
    }
    assert checked.history.first().history_change_reason == "Xero holds every figure of the file"


@pytest.mark.mutable_sandbox
def test_a_tampered_import_is_a_mismatch_naming_the_line(connected_firm, xero_sandbox):
    assert sync(connected_firm, CAFE).state == "succeeded"
    first, second = _two_codes(connected_firm)
    publication, budget, _amounts = _publish(
        connected_firm, {first: Decimal("1000"), second: Decimal("2000")}
    )
    grid = list(csv.reader(io.StringIO(publication.file_content)))
    row = next(r for r in grid if r[0].endswith(f"({second})"))
    column = next(i for i, cell in enumerate(row) if i and cell)
    row[column] = str(int(row[column]) + 7)  # someone changed one cell before importing
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(grid)
    _import(xero_sandbox, budget, out.getvalue())

    assert sync(connected_firm, CAFE).state == "succeeded"
    organisation = connected_firm.linked[CAFE]
    (checked,) = budget_publications_verify(firm=connected_firm.firm, organisation=organisation)
    assert checked.status == BudgetPublication.Status.MISMATCH
    (difference,) = checked.differences
    assert difference["code"] == second
    assert Decimal(difference["synced"]) - Decimal(difference["expected"]) == 7
    assert month_heading(dt.date.fromisoformat(difference["period"])) == grid[0][column]

    # Importing the right file clears it on the next sync.
    _import(xero_sandbox, budget, publication.file_content)
    assert sync(connected_firm, CAFE).state == "succeeded"
    (checked,) = budget_publications_verify(firm=connected_firm.firm, organisation=organisation)
    assert checked.status == BudgetPublication.Status.VERIFIED


def test_a_budget_of_another_organisation_is_refused(connected_firm, firm_b):
    budget = Budget.objects.for_firm(firm_b.firm).create(
        firm=firm_b.firm, organisation=firm_b.organisation, budget_id="b-other", type="OVERALL"
    )
    with pytest.raises(PublicationError):
        budget_publication_create(
            firm=connected_firm.firm,
            organisation=connected_firm.linked[CAFE],
            budget=budget,
            amounts={},
            user=None,
        )


def test_the_file_downloads_for_its_firm_only(client, firm_a, firm_b):
    publication = BudgetPublication.objects.for_firm(firm_a.firm).create(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        xero_budget_id="b-1",
        budget_name="Overall Budget",
        file_name="harbour-lane-cafe-overall-budget-2026-01.csv",
        file_content="Account,Jan-2026\r\nSales (200),5\r\n",
    )
    url = reverse(
        "budget_publication_download",
        args=[firm_a.firm.slug, firm_a.organisation.pk, publication.pk],
    )
    client.force_login(firm_a.member("viewer").user)
    response = client.get(url)
    assert response.status_code == 200
    assert response.content == b"Account,Jan-2026\r\nSales (200),5\r\n"
    assert "harbour-lane-cafe-overall-budget-2026-01.csv" in response["Content-Disposition"]
    client.force_login(firm_b.member("owner").user)
    assert client.get(url).status_code == 404


# --- Publishing an approved draft --------------------------------------------------------------


def _approved_draft(cast):
    """An approved draft of Rent (overall budget) whose November and December change, and
    whose January stays as budgeted; Sales for the North option, into its tracking budget."""
    from budgeting.models import (
        Draft,
        DraftBalance,
        DraftLine,
        TrackingCategory,
        TrackingOption,
    )

    firm, owned = cast.firm, {"firm": cast.firm, "organisation": cast.organisation}
    overall = Budget.objects.for_firm(firm).create(
        **owned, budget_id="bud-overall", type="OVERALL", description="Overall Budget"
    )
    category = TrackingCategory.objects.for_firm(firm).create(
        **owned, category_id="cat-1", name="Region"
    )
    north = TrackingOption.objects.for_firm(firm).create(
        **owned, category=category, option_id="opt-north", name="North"
    )
    north_budget = Budget.objects.for_firm(firm).create(
        **owned, budget_id="bud-north", type="TRACKING", description="North", tracking_option=north
    )
    draft = Draft.objects.for_firm(firm).create(
        **owned,
        created_by=cast.member("preparer").user,
        status=Draft.Status.APPROVED,
        horizon=3,
        first_period=dt.date(2026, 11, 1),
        last_actual_period=dt.date(2026, 10, 1),
        original_budget=overall,
    )
    figures = {
        ("469", "Rent", None, overall): ["6000.00", "6000.40", "5000.00"],
        ("200", "Sales", north, north_budget): ["20000.50", "15000.00", "15000.00"],
    }
    for (code, name, option, budget), amounts in figures.items():
        account = Account.objects.for_firm(firm).create(
            **owned, account_id=f"acc-{code}", code=code, name=name, type="EXPENSE"
        )
        line = DraftLine.objects.for_firm(firm).create(
            **owned,
            draft=draft,
            account=account,
            tracking_option=option,
            original_budget=budget if option else None,
            section="operating_expenses",
            trigger="forecast",
            trigger_period=dt.date(2026, 10, 1),
            trigger_actual=0,
            trigger_budget=0,
            trigger_variance=0,
            forecast_total=0,
            budget_total=0,
            method="naive",
            confidence=60,
            confidence_label="medium",
            history_months=24,
            inputs_hash="0" * 64,
            accepted=True,
        )
        for index, amount in enumerate(amounts):
            period = dt.date(2026 + (10 + index) // 12, (10 + index) % 12 + 1, 1)
            original = Decimal("5000.00") if code == "469" else Decimal("15000.00")
            DraftBalance.objects.for_firm(firm).create(
                **owned,
                line=line,
                period=period,
                original_amount=original,
                suggested_amount=Decimal(amount),
                lo_80=0,
                hi_80=0,
                lo_95=0,
                hi_95=0,
            )
    return draft, overall, north_budget


def test_an_approved_draft_publishes_one_file_per_budget_with_only_changed_months(firm_a):
    from budgeting.models import Draft
    from budgeting.publishing.services import draft_publish

    draft, overall, north = _approved_draft(firm_a)
    made = draft_publish(firm=firm_a.firm, draft=draft, user=None, send=False)
    files = {p.budget_id: p.file_content for p in made}
    assert files[overall.pk] == "Account,Nov-2026,Dec-2026\r\nRent (469),6000,6000\r\n"
    assert files[north.pk] == "Account,Nov-2026\r\nSales (200),20001\r\n"
    draft.refresh_from_db()
    assert draft.status == Draft.Status.AWAITING_IMPORT

    # Xero now holds the overall file but not yet the North one: still awaiting; then both.
    def xero_holds(budget, account_code, period, amount):
        from budgeting.models import BudgetLine

        account = Account.objects.for_firm(firm_a.firm).get(code=account_code)
        line, _ = BudgetLine.objects.for_firm(firm_a.firm).get_or_create(
            firm=firm_a.firm, organisation=firm_a.organisation, budget=budget, account=account
        )
        BudgetBalance.objects.for_firm(firm_a.firm).update_or_create(
            firm=firm_a.firm,
            organisation=firm_a.organisation,
            budget_line=line,
            period=period,
            defaults={"amount": Decimal(amount)},
        )

    xero_holds(overall, "469", dt.date(2026, 11, 1), "6000")
    xero_holds(overall, "469", dt.date(2026, 12, 1), "6000")
    budget_publications_verify(firm=firm_a.firm, organisation=firm_a.organisation)
    draft.refresh_from_db()
    assert draft.status == Draft.Status.AWAITING_IMPORT
    xero_holds(north, "200", dt.date(2026, 11, 1), "20001")
    budget_publications_verify(firm=firm_a.firm, organisation=firm_a.organisation)
    draft.refresh_from_db()
    assert draft.status == Draft.Status.PUBLISHED


def test_only_an_approved_draft_publishes(firm_a):
    from budgeting.models import Draft
    from budgeting.publishing.services import draft_publish

    draft, _overall, _north = _approved_draft(firm_a)
    Draft.objects.for_firm(firm_a.firm).filter(pk=draft.pk).update(status="submitted")
    draft.refresh_from_db()
    with pytest.raises(PublicationError, match="Only an approved draft"):
        draft_publish(firm=firm_a.firm, draft=draft, user=None)


def test_publish_on_the_screen_emails_the_files(
    client, firm_a, firm_b, django_capture_on_commit_callbacks, celery_eager
):
    draft, _overall, _north = _approved_draft(firm_a)
    args = [firm_a.firm.slug, firm_a.organisation.pk, draft.pk]
    client.force_login(firm_a.member("viewer").user)
    assert client.post(reverse("draft_publish", args=args)).status_code == 403
    preparer = firm_a.member("preparer").user
    client.force_login(preparer)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("draft_publish", args=args)).status_code == 302
    assert sorted(len(m.attachments) for m in mail.outbox) == [1, 1]
    assert {tuple(m.to) for m in mail.outbox} == {(preparer.email,)}
    page = client.get(reverse("draft_approval", args=args)).content.decode()
    assert "Awaiting import into Xero" in page
    assert "import.csv" in page
    client.force_login(firm_b.member("owner").user)
    assert client.post(reverse("draft_publish", args=args)).status_code == 404
