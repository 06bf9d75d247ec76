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
from budgeting.publishing.models import ForecastBudget
from budgeting.publishing.services import (
    PublicationError,
    budget_publication_create,
    budget_publications_verify,
    draft_publish,
    forecast_budgets_find,
    publishing_setting_update,
)
from integrations.xero.sandbox.budget_import import parse_month
from tests.budgeting.publishing_data import (
    CAFE,
    _add_budget,
    _after_sync,
    _approved_draft,
    _cells,
    _forecast_budget,
    _import,
    _overall,
    _publish,
    _replace_original,
    _sandbox_draft,
    _sync_after_import,
    _two_codes,
    approve_through_the_chain,
)
from tests.factories import reauthenticated_login
from tests.sandbox import minute_in_a_second, sync

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


@pytest.mark.mutable_sandbox
def test_import_then_sync_verifies_the_publication(
    connected_firm, xero_sandbox, django_capture_on_commit_callbacks, celery_eager
):
    assert sync(connected_firm, CAFE).state == "succeeded"
    target = _forecast_budget(connected_firm, xero_sandbox)
    original = _cells(connected_firm, _overall(connected_firm).budget_id)
    first, second = _two_codes(connected_firm)
    with django_capture_on_commit_callbacks(execute=True):
        publication, amounts = _publish(
            connected_firm, target, {first: Decimal("1234.50"), second: Decimal("99.49")}
        )
    assert publication.status == BudgetPublication.Status.AWAITING_IMPORT
    assert publication.budget_name == "Rolling Forecast"
    assert publication.original_budget_name == "Overall Budget"
    assert not publication.replaces_original

    # The preparer gets the file and the steps to import it.
    (email,) = mail.outbox
    assert email.to == [connected_firm.member("preparer").user.email]
    assert email.attachments[0][0] == publication.file_name
    assert email.attachments[0][1] == publication.file_content
    assert "Reports, then Budget Manager" in email.body
    assert 'Choose the budget "Rolling Forecast"' in email.body
    assert 'Do not import it into "Overall Budget"' in email.body
    assert "Confirm" in email.body
    assert "Budget Manager" in email.alternatives[0][0]

    # A sync before anyone imported the file: still awaiting import, not a mismatch.
    assert sync(connected_firm, CAFE).state == "succeeded"
    organisation = connected_firm.linked[CAFE]
    (checked,) = budget_publications_verify(firm=connected_firm.firm, organisation=organisation)
    assert checked.status == BudgetPublication.Status.AWAITING_IMPORT

    # A Xero user imports the file in Budget Manager; the next sync reads it back.
    assert _import(xero_sandbox, target.budget_id, publication.file_content)["valuesImported"] == 6
    _sync_after_import(connected_firm)
    (checked,) = budget_publications_verify(firm=connected_firm.firm, organisation=organisation)
    assert checked.differences == [] and checked.original_differences == []
    assert checked.status == BudgetPublication.Status.VERIFIED
    synced = _cells(connected_firm, target.budget_id)
    assert synced == {(a.pk, p): whole_units(v) for (a, p), v in amounts.items()}
    # The original budget holds, cell by cell, what it held before.
    assert _cells(connected_firm, _overall(connected_firm).budget_id) == original
    assert checked.history.first().history_change_reason == (
        "Xero holds every figure of the file; the original budget is unchanged"
    )


@pytest.mark.mutable_sandbox
def test_a_tampered_import_is_a_mismatch_naming_the_line(connected_firm, xero_sandbox, settings):
    # Three syncs of the café pass Xero's 60 calls a minute: its minute lasts a second here
    # (the wait is not this test's subject; tests/integrations/xero tests the limiter).
    minute_in_a_second(xero_sandbox, settings)
    assert sync(connected_firm, CAFE).state == "succeeded"
    target = _forecast_budget(connected_firm, xero_sandbox)
    first, second = _two_codes(connected_firm)
    publication, _amounts = _publish(
        connected_firm, target, {first: Decimal("1000"), second: Decimal("2000")}
    )
    grid = list(csv.reader(io.StringIO(publication.file_content)))
    row = next(r for r in grid if r[0].endswith(f"({second})"))
    column = next(i for i, cell in enumerate(row) if i and cell)
    row[column] = str(int(row[column]) + 7)  # someone changed one cell before importing
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(grid)
    _import(xero_sandbox, target.budget_id, out.getvalue())

    _sync_after_import(connected_firm)
    organisation = connected_firm.linked[CAFE]
    (checked,) = budget_publications_verify(firm=connected_firm.firm, organisation=organisation)
    assert checked.status == BudgetPublication.Status.MISMATCH
    (difference,) = checked.differences
    assert difference["code"] == second
    assert Decimal(difference["synced"]) - Decimal(difference["expected"]) == 7
    assert month_heading(dt.date.fromisoformat(difference["period"])) == grid[0][column]

    # Importing the right file clears it on the next sync.
    _import(xero_sandbox, target.budget_id, publication.file_content)
    _sync_after_import(connected_firm)
    (checked,) = budget_publications_verify(firm=connected_firm.firm, organisation=organisation)
    assert checked.status == BudgetPublication.Status.VERIFIED


@pytest.mark.mutable_sandbox
def test_the_original_budget_is_refused_unless_replace_original_is_on(connected_firm):
    assert sync(connected_firm, CAFE).state == "succeeded"
    first, _second = _two_codes(connected_firm)
    overall = _overall(connected_firm)
    with pytest.raises(PublicationError, match=r"original budget \(Overall Budget\) is refused"):
        _publish(connected_firm, overall, {first: Decimal("1000")})
    assert not BudgetPublication.objects.for_firm(connected_firm.firm).exists()

    admin = connected_firm.member("admin").user
    organisation = connected_firm.linked[CAFE]
    with pytest.raises(PublicationError, match="Say why"):
        publishing_setting_update(
            firm=connected_firm.firm,
            organisation=organisation,
            replace_original=True,
            reason=" ",
            user=admin,
        )
    setting = publishing_setting_update(
        firm=connected_firm.firm,
        organisation=organisation,
        replace_original=True,
        reason="The board asked to re-base the budget",
        user=admin,
    )
    record = setting.history.first()
    assert record.history_user == admin
    assert record.history_change_reason == (
        "Replace the original: on: The board asked to re-base the budget"
    )
    publication, _amounts = _publish(connected_firm, overall, {first: Decimal("1000")})
    assert publication.replaces_original
    assert publication.xero_budget_id == overall.budget_id
    assert publication.original_cells == []


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


def test_a_first_publish_waits_for_the_forecast_budgets_with_the_whole_forecast(firm_a):
    from budgeting.models import Draft

    draft, _overall, _north = _approved_draft(firm_a)
    made = draft_publish(firm=firm_a.firm, draft=draft, user=None, send=False)
    by_name = {p.budget_name: p for p in made}
    assert set(by_name) == {"Rolling Forecast", "Rolling Forecast: North"}
    for publication in made:
        assert publication.status == BudgetPublication.Status.WAITING_FOR_BUDGET
        assert publication.budget is None and publication.xero_budget_id == ""
        assert not publication.replaces_original
    # The forecast budget holds the whole forecast over the draft's months, January included.
    assert by_name["Rolling Forecast"].file_content == (
        "Account,Nov-2026,Dec-2026,Jan-2027\r\nRent (469),6000,6000,5000\r\n"
    )
    assert by_name["Rolling Forecast"].original_budget_name == "Overall Budget"
    assert by_name["Rolling Forecast: North"].original_budget_name == "North"
    draft.refresh_from_db()
    assert draft.status == Draft.Status.AWAITING_FORECAST
    assert draft.get_status_display() == "Approved, waiting for the forecast budget"

    # The overall forecast budget is added in Xero and synced: the next pipeline step finds it
    # by its name (case and spaces aside), and the file waits for its import; North still waits.
    added = Budget.objects.for_firm(firm_a.firm).create(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        budget_id="bud-forecast",
        type="TRACKING",
        description="rolling  forecast",
    )
    (found,) = forecast_budgets_find(firm=firm_a.firm, organisation=firm_a.organisation)
    assert found.budget == added and found.chosen_by is None
    publication = BudgetPublication.objects.for_firm(firm_a.firm).get(
        pk=by_name["Rolling Forecast"].pk
    )
    assert publication.status == BudgetPublication.Status.AWAITING_IMPORT
    assert publication.xero_budget_id == "bud-forecast"
    draft.refresh_from_db()
    assert draft.status == Draft.Status.AWAITING_FORECAST
    assert forecast_budgets_find(firm=firm_a.firm, organisation=firm_a.organisation) == []


def test_with_replace_original_on_one_file_per_original_with_only_changed_months(firm_a):
    from budgeting.models import Draft

    draft, overall, north = _approved_draft(firm_a)
    _replace_original(firm_a)
    # With "replace the original" on, the draft gets the extra approval step (the owners').
    approve_through_the_chain(firm_a, draft)
    made = draft_publish(firm=firm_a.firm, draft=draft, user=None, send=False)
    assert all(p.replaces_original for p in made)
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

    draft, _overall, _north = _approved_draft(firm_a)
    Draft.objects.for_firm(firm_a.firm).filter(pk=draft.pk).update(status="submitted")
    draft.refresh_from_db()
    with pytest.raises(PublicationError, match="Only an approved draft"):
        draft_publish(firm=firm_a.firm, draft=draft, user=None)


def test_publish_on_the_screen_emails_the_files_and_the_steps_to_add_the_budget(
    client, firm_a, firm_b, django_capture_on_commit_callbacks, celery_eager
):
    draft, _overall, _north = _approved_draft(firm_a)
    args = [firm_a.firm.slug, firm_a.organisation.pk, draft.pk]
    client.force_login(firm_a.member("viewer").user)
    assert client.post(reverse("draft_publish", args=args)).status_code == 403
    preparer = firm_a.member("preparer").user
    client.force_login(preparer)
    page = client.get(reverse("draft_approval", args=args)).content.decode()
    # Before the first publish: where the figures will go, and what to add in Xero.
    assert "Rolling Forecast: North" in page
    assert "Add budget" in page
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("draft_publish", args=args)).status_code == 302
    assert sorted(len(m.attachments) for m in mail.outbox) == [1, 1]
    assert {tuple(m.to) for m in mail.outbox} == {(preparer.email,)}
    overall_mail = next(m for m in mail.outbox if '"Rolling Forecast"' in m.body)
    assert "Click Add budget." in overall_mail.body
    assert "Name it exactly: Rolling Forecast" in overall_mail.body
    assert "Tracking: no tracking" in overall_mail.body
    north_mail = next(m for m in mail.outbox if m is not overall_mail)
    assert "Tracking: Region: North." in north_mail.body
    page = client.get(reverse("draft_approval", args=args)).content.decode()
    assert "Status: <strong>Approved, waiting for the forecast budget</strong>" in page
    assert "Waiting for the forecast budget in Xero" in page
    assert "Name it exactly: <strong>Rolling Forecast</strong>" in page
    assert "import.csv" in page
    client.force_login(firm_b.member("owner").user)
    assert client.post(reverse("draft_publish", args=args)).status_code == 404


def test_the_forecast_budget_can_be_picked_from_the_synced_budgets(client, firm_a, firm_b):
    from budgeting.models import Draft

    draft, overall, _north = _approved_draft(firm_a)
    draft_publish(firm=firm_a.firm, draft=draft, user=None, send=False)
    owned = {"firm": firm_a.firm, "organisation": firm_a.organisation}
    named_otherwise = Budget.objects.for_firm(firm_a.firm).create(
        **owned, budget_id="bud-fy27", type="TRACKING", description="FY27 reforecast"
    )
    forecast = ForecastBudget.objects.for_firm(firm_a.firm).get(original=overall)
    args = [firm_a.firm.slug, firm_a.organisation.pk, draft.pk]
    url = reverse("forecast_budget_choose", args=args)
    choice = {"forecast": forecast.pk, "budget": named_otherwise.pk}

    client.force_login(firm_a.member("preparer").user)
    page = client.get(reverse("draft_approval", args=args)).content.decode()
    assert "Or pick it from the synced budgets" in page and "FY27 reforecast" in page
    # The original itself cannot be the forecast budget.
    response = client.post(url, {"forecast": forecast.pk, "budget": overall.pk}, follow=True)
    assert "is refused" in response.content.decode()
    forecast.refresh_from_db()
    assert forecast.budget is None

    client.force_login(firm_a.member("viewer").user)
    assert client.post(url, choice).status_code == 403
    client.force_login(firm_b.member("owner").user)
    assert client.post(url, choice).status_code == 404

    preparer = firm_a.member("preparer").user
    client.force_login(preparer)
    assert client.post(url, choice).status_code == 302
    forecast.refresh_from_db()
    assert forecast.budget == named_otherwise and forecast.chosen_by == preparer
    publication = BudgetPublication.objects.for_firm(firm_a.firm).get(forecast_budget=forecast)
    assert publication.status == BudgetPublication.Status.AWAITING_IMPORT
    assert publication.budget_name == "FY27 reforecast"
    draft.refresh_from_db()
    assert draft.status == Draft.Status.AWAITING_FORECAST  # North still waits


def test_choosing_the_forecast_budget_without_both_ids_is_a_400_naming_them(client, firm_a, firm_b):
    draft, overall, _north = _approved_draft(firm_a)
    draft_publish(firm=firm_a.firm, draft=draft, user=None, send=False)
    forecast = ForecastBudget.objects.for_firm(firm_a.firm).get(original=overall)
    url = reverse(
        "forecast_budget_choose", args=[firm_a.firm.slug, firm_a.organisation.pk, draft.pk]
    )
    client.force_login(firm_a.member("preparer").user)
    for bad in (
        {},
        {"forecast": forecast.pk},
        {"budget": overall.pk},
        {"forecast": "x", "budget": "1"},
    ):
        response = client.post(url, bad)
        assert response.status_code == 400
        assert response.content.decode() == (
            "forecast, budget: choose the forecast budget from the list."
        )
    # The original itself: refused, saying why, and nothing is chosen.
    response = client.post(url, {"forecast": forecast.pk, "budget": overall.pk}, follow=True)
    assert "Importing into the original budget (Overall Budget) is refused" in (
        response.content.decode()
    )
    forecast.refresh_from_db()
    assert forecast.budget is None
    client.force_login(firm_b.member("owner").user)
    assert client.post(url, {"forecast": forecast.pk, "budget": overall.pk}).status_code == 404


def test_replace_the_original_is_an_audited_setting_shown_in_red(client, firm_a, firm_b):
    from budgeting.models import PublishingSetting

    draft, _overall, _north = _approved_draft(firm_a)
    args = [firm_a.firm.slug, firm_a.organisation.pk, draft.pk]
    url = reverse("replace_original", args=args)
    client.force_login(firm_a.member("preparer").user)
    assert client.post(url, {"replace_original": "on", "reason": "x"}).status_code == 403
    client.force_login(firm_b.member("owner").user)
    assert client.post(url, {"replace_original": "on", "reason": "x"}).status_code == 404

    admin = firm_a.member("admin").user
    # A session whose password was entered long ago is asked for it again; nothing changes.
    client.force_login(admin)
    asked = client.post(url, {"replace_original": "on", "reason": "Board re-base"})
    assert asked.status_code == 302 and "reauthenticate" in asked["Location"]
    assert not PublishingSetting.objects.for_firm(firm_a.firm).exists()

    reauthenticated_login(client, admin)
    page = client.get(reverse("draft_approval", args=args)).content.decode()
    assert "replace-original-warning" not in page
    response = client.post(url, {"replace_original": "on"}, follow=True)
    assert "Say why the original budget may be replaced" in response.content.decode()
    assert not PublishingSetting.objects.for_firm(firm_a.firm).exists()

    assert (
        client.post(url, {"replace_original": "on", "reason": "Board re-base"}).status_code == 302
    )
    setting = PublishingSetting.objects.for_firm(firm_a.firm).get()
    assert setting.replace_original and setting.updated_by == admin
    assert setting.history.first().history_change_reason.endswith(": Board re-base")
    page = client.get(reverse("draft_approval", args=args)).content.decode()
    assert 'class="panel error" role="alert" id="replace-original-warning"' in page
    assert "Replace the original is on for Harbour Lane Café" in page
    detail = client.get(reverse("draft_detail", args=args)).content.decode()
    assert '<strong class="error">Replace the original is on for Harbour Lane Café' in detail
    # Firm B's organisation is untouched.
    client.force_login(firm_b.member("owner").user)
    assert not PublishingSetting.objects.for_firm(firm_b.firm).exists()

    client.force_login(admin)
    assert client.post(url, {"reason": "Back to the forecast budget"}).status_code == 302
    setting.refresh_from_db()
    assert not setting.replace_original
    assert setting.history.count() == 2
    # In the organisation's audit log, with who and why.
    log = client.get(
        reverse("audit_log", args=[firm_a.firm.slug, firm_a.organisation.pk]),
        {"model": "publishingsetting"},
    ).content.decode()
    assert "Replace the original: on: Board re-base" in log
    assert "Replace the original: off: Back to the forecast budget" in log


# --- The whole loop with the sandbox: forecast budget, import, verification on both sides ------


@pytest.mark.mutable_sandbox
def test_the_loop_waits_for_the_forecast_budget_then_verifies_both_sides(
    connected_firm, xero_sandbox, django_capture_on_commit_callbacks, celery_eager
):
    from budgeting.models import Draft

    cast = connected_firm
    assert sync(cast, CAFE).state == "succeeded"
    draft, overall, months, approved = _sandbox_draft(cast)
    original = _cells(cast, overall.budget_id)
    with django_capture_on_commit_callbacks(execute=True):
        (publication,) = draft_publish(
            firm=cast.firm, draft=draft, user=cast.member("preparer").user
        )
    assert publication.status == BudgetPublication.Status.WAITING_FOR_BUDGET
    assert publication.budget_name == "Rolling Forecast"
    (email,) = mail.outbox
    assert "Name it exactly: Rolling Forecast" in email.body
    # The original's every cell over the file's months is kept, to check it stays so.
    assert {
        (row["account"], dt.date.fromisoformat(row["period"])): Decimal(row["amount"])
        for row in publication.original_cells
    } == {cell: amount for cell, amount in original.items() if cell[1] in months}
    # The file is the whole forecast: the approved figures, and the original's elsewhere.
    expected = {
        (row["account"], dt.date.fromisoformat(row["period"])): Decimal(row["amount"])
        for row in publication.expected
    }
    assert expected == {
        cell: whole_units(approved.get(cell, original.get(cell, Decimal(0))))
        for cell in set(approved) | {c for c in original if c[1] in months}
    }

    # A sync before anyone adds the budget: the draft still waits.
    _after_sync(cast)
    draft.refresh_from_db()
    assert draft.get_status_display() == "Approved, waiting for the forecast budget"

    # A person adds it in Budget Manager; the next sync's pipeline finds it by its name.
    forecast_id = _add_budget(xero_sandbox, "Rolling Forecast")
    _after_sync(cast)
    publication.refresh_from_db()
    draft.refresh_from_db()
    assert publication.xero_budget_id == forecast_id
    assert publication.status == BudgetPublication.Status.AWAITING_IMPORT
    assert draft.status == Draft.Status.AWAITING_IMPORT

    # They import the file into it; the next sync verifies both sides.
    _import(xero_sandbox, forecast_id, publication.file_content)
    _after_sync(cast, full=True)
    publication.refresh_from_db()
    draft.refresh_from_db()
    assert publication.differences == [] and publication.original_differences == []
    assert publication.status == BudgetPublication.Status.VERIFIED
    assert draft.status == Draft.Status.PUBLISHED
    forecast = _cells(cast, forecast_id)
    assert {cell: amount for cell, amount in forecast.items() if amount} == {
        cell: amount for cell, amount in expected.items() if amount
    }
    for cell, amount in approved.items():
        assert forecast[cell] == whole_units(amount)
    assert _cells(cast, overall.budget_id) == original
    assert len(mail.outbox) == 1  # nothing differed: no alert


@pytest.mark.mutable_sandbox
def test_a_file_imported_into_the_original_is_shown_and_emailed_to_the_preparer(
    connected_firm, xero_sandbox, django_capture_on_commit_callbacks, celery_eager, client
):
    from budgeting.models import Draft

    cast = connected_firm
    assert sync(cast, CAFE).state == "succeeded"
    forecast_id = _add_budget(xero_sandbox, "Rolling Forecast")
    assert sync(cast, CAFE).state == "succeeded"
    draft, overall, _months, approved = _sandbox_draft(cast)
    original = _cells(cast, overall.budget_id)
    (publication,) = draft_publish(firm=cast.firm, draft=draft, user=None, send=False)
    assert publication.xero_budget_id == forecast_id

    # Someone imports the file into the Overall Budget by mistake.
    _import(xero_sandbox, overall.budget_id, publication.file_content)
    with django_capture_on_commit_callbacks(execute=True):
        _after_sync(cast)
    publication.refresh_from_db()
    draft.refresh_from_db()
    assert publication.status == BudgetPublication.Status.ORIGINAL_CHANGED
    assert draft.status == Draft.Status.MISMATCH
    moved = {
        (d["account"], dt.date.fromisoformat(d["period"])): (
            d["expected"] and Decimal(d["expected"]),
            Decimal(d["synced"]),
        )
        for d in publication.original_differences
    }
    assert moved == {
        cell: (original.get(cell), whole_units(amount))
        for cell, amount in approved.items()
        if whole_units(amount) != original.get(cell, Decimal(0))
    }
    (alert,) = mail.outbox
    assert alert.to == [cast.member("preparer").user.email]
    assert 'The original budget "Overall Budget" changed since the file was made' in alert.body
    # On the approval screen too, for the preparer.
    client.force_login(cast.member("preparer").user)
    args = [cast.firm.slug, cast.linked[CAFE].pk, draft.pk]
    page = client.get(reverse("draft_approval", args=args)).content.decode()
    assert "The original budget changed" in page
    assert "The original budget changed:</span>" in page
