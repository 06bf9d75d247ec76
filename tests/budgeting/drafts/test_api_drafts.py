"""The partner API's variance report, kept forecasts and forecast drafts: read after a real sync
from the Xero sandbox, a draft made by the rolling forecast, edits with a reason, submission and
the draft's history. Always with two firms."""

# The Xero sandbox fixtures are imported below, so test arguments "redefine" them.

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from budgeting.approvals import services as approvals
from budgeting.drafts.services import draft_create_rolling, draft_line_accept
from budgeting.models import (
    ActualBalance,
    BudgetBalance,
    BudgetPolicy,
    Draft,
    DraftBalance,
    DraftLine,
    ForecastRecord,
    TrackingOption,
)
from core.months import last_closed_month
from tenants.models import ApiKey
from tenants.roles import Role
from tests.api import assert_error, bearer
from tests.budgeting.drafts.api_casts import api_cast
from tests.factories import api_key_create

# The Xero sandbox fixtures of the integration tests: firm A connected to every organisation.

# Small, with a closed month and lines the rolling forecast suggests changes for.
SOFTWARE = "Tidepool Software"
# Tracked (category Project), with a tracking budget per project.
CONSTRUCTION = "Ashford & Vale Construction"


@pytest.fixture
def drafted(connected_firm):
    """Firm A after a sync of the software company and a rolling forecast that drafted changes."""
    cast = api_cast(connected_firm, SOFTWARE)
    result = draft_create_rolling(firm=cast.firm, organisation=cast.org)
    assert result.draft is not None, result.message
    cast.draft = result.draft
    cast.lines = list(DraftLine.objects.for_firm(cast.firm).filter(draft=cast.draft).order_by("pk"))
    cast.drafts = f"{cast.base}/drafts"
    return cast


@pytest.fixture
def tracked(connected_firm):
    return api_cast(connected_firm, CONSTRUCTION)


def _h(key) -> dict:
    return {"headers": bearer(key), "content_type": "application/json"}


def _all(client, url: str, key: str, **params) -> list[dict]:
    rows = []
    response = client.get(url, params, headers=bearer(key))
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        if not body["next"]:
            return rows
        response = client.get(body["next"], headers=bearer(key))


# --- Variances --------------------------------------------------------------------------------


def _csv(client, cast, period: str, **params) -> list[list[str]]:
    client.force_login(cast.member(Role.VIEWER).user)
    url = reverse("variance_report_csv", args=[cast.firm.slug, cast.org.pk])
    response = client.get(url, {"period": period, **params})
    assert response.status_code == 200
    client.logout()
    return list(csv.reader(io.StringIO(response.content.decode())))


def _as_csv_rows(report: dict) -> list[list[str]]:
    """The API's report as the CSV writes it (budgeting.variance.views.variance_report_rows)."""

    def figures(c: dict) -> list[str]:
        return [
            c["actual"],
            c["budget"],
            c["variance"],
            c["percent"] or "",
            c["status"],
            "yes" if c["material"] else "no",
        ]

    def forecast(against: dict | None) -> list[str]:
        if against is None:
            return ["", "", "", ""]
        return [
            against["month"]["budget"],
            against["month"]["variance"],
            against["year_to_date"]["budget"],
            against["year_to_date"]["variance"],
        ]

    rows = []
    for section in report["sections"]:
        for line in section["lines"]:
            rows.append(
                [
                    section["label"],
                    line["account_code"],
                    line["account_name"],
                    line["class"],
                    *figures(line["month"]),
                    *figures(line["year_to_date"]),
                    *forecast(line["against_forecast"]),
                ]
            )
        is_profit = section["section"] in ("gross_profit", "net_profit")
        name = section["label"] if is_profit else f"Total {section['label']}"
        rows.append(
            [
                section["label"],
                "",
                name,
                "",
                *figures(section["month"]),
                *figures(section["year_to_date"]),
                *forecast(section["against_forecast"]),
            ]
        )
    return rows


def test_the_variance_report_has_the_csvs_figures(client, tracked):
    closed = last_closed_month(tracked.profile.period_lock_date)
    period = f"{closed:%Y-%m}"
    # One account with actuals loses its budget, so the report has a "no budget" line.
    unbudgeted = (
        BudgetBalance.objects.for_firm(tracked.firm)
        .filter(organisation=tracked.org, period=closed, budget_line__budget__type="OVERALL")
        .exclude(amount=0)
        .filter(
            budget_line__account__actuals__period=closed,
            budget_line__account__actuals__tracking_option=None,
        )
        .values_list("budget_line_id", flat=True)
        .first()
    )
    assert unbudgeted is not None
    BudgetBalance.objects.for_firm(tracked.firm).filter(budget_line_id=unbudgeted).delete()
    response = client.get(f"{tracked.base}/variances/", {"period": period}, **_h(tracked.key))
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["period"] == period
    assert report["currency"] == tracked.profile.base_currency
    assert report["tracking_option_id"] is None
    assert report["budget_id"]
    assert [s["section"] for s in report["sections"]] == [
        "income",
        "cost_of_sales",
        "gross_profit",
        "other_income",
        "operating_expenses",
        "net_profit",
    ]
    exported = _csv(client, tracked, period)
    assert exported[0] == ["Currency", report["currency"], "Period", period]
    assert _as_csv_rows(report) == exported[2:]
    assert len(exported[2:]) > 6
    line = next(line for s in report["sections"] for line in s["lines"])
    assert set(line) == {
        "account_id",
        "account_code",
        "account_name",
        "account_type",
        "class",
        "month",
        "year_to_date",
        "against_forecast",
    }
    assert set(line["month"]) == {
        "actual",
        "budget",
        "variance",
        "percent",
        "favourable",
        "status",
        "material",
    }
    # No budget: no percent (null, not zero).
    no_budget = [
        c
        for s in report["sections"]
        for line in s["lines"]
        for c in (line["month"], line["year_to_date"])
        if Decimal(c["budget"]) == 0
    ]
    assert no_budget, "the report's data has an account with actuals and no budget"
    assert all(c["percent"] is None and c["status"] == "no budget" for c in no_budget)


def test_variances_per_tracking_option_and_filtered_match_the_csv(client, tracked):
    period = f"{last_closed_month(tracked.profile.period_lock_date):%Y-%m}"
    option = (
        TrackingOption.objects.for_firm(tracked.firm)
        .filter(organisation=tracked.org, category__name="Project")
        .order_by("name")
        .first()
    )
    url = f"{tracked.base}/variances/"
    params = {"period": period, "tracking_option": option.option_id}
    report = client.get(url, params, **_h(tracked.key)).json()
    assert report["tracking_option_id"] == option.option_id
    assert _as_csv_rows(report) == _csv(client, tracked, period, tracking=option.pk)[2:]

    params = {"period": period, "class": "expense", "material": "true"}
    report = client.get(url, params, **_h(tracked.key)).json()
    lines = [line for s in report["sections"] for line in s["lines"]]
    assert {line["class"] for line in lines} <= {"EXPENSE"}
    assert all(line["month"]["material"] or line["year_to_date"]["material"] for line in lines)
    expected = _csv(client, tracked, period, **{"class": "EXPENSE", "material": "1"})[2:]
    assert _as_csv_rows(report) == expected


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({}, "period", "This field is required."),
        (
            {"period": "2026-13"},
            "period",
            "Give a month as YYYY-MM, from 1901-01 to 9999-12, e.g. 2026-03.",
        ),
        (
            {"period": "October"},
            "period",
            "Give a month as YYYY-MM, from 1901-01 to 9999-12, e.g. 2026-03.",
        ),
        # Its financial year would start before 1900-01, which is no YYYY-MM the API can return.
        (
            {"period": "1900-02"},
            "period",
            "Give a month as YYYY-MM, from 1901-01 to 9999-12, e.g. 2026-03.",
        ),
        ({"period": "2026-10", "class": "ASSET"}, "class", '"ASSET" is not a valid choice.'),
        ({"period": "2026-10", "tracking_option": "a b"}, "tracking_option", "Give Xero's"),
        ({"period": "2026-10", "material": "maybe"}, "material", "Must be a valid boolean."),
        ({"period_from": "2026-10"}, "period_from", "Unknown parameter."),
    ],
)
def test_bad_variance_input_is_400_naming_the_parameter(client, tracked, params, field, message):
    response = client.get(f"{tracked.base}/variances/", params, **_h(tracked.key))
    error = assert_error(response, 400, "invalid")
    assert field in error["fields"]
    assert error["fields"][field][0].startswith(message)


def test_variances_of_an_unknown_option_or_an_unsynced_organisation(client, tracked):
    url = f"{tracked.base}/variances/"
    params = {"period": "2026-10", "tracking_option": "00000000-0000-0000-0000-000000000000"}
    error = assert_error(client.get(url, params, **_h(tracked.key)), 404, "not_found")
    assert "tracking option" in error["message"]
    # Firm A's own "Harbour Lane Café" is not linked to Xero.
    unsynced = f"/api/v1/organisations/{tracked.organisation.public_id}/variances/"
    response = client.get(unsynced, {"period": "2026-10"}, **_h(tracked.key))
    assert "not been synced" in assert_error(response, 409, "not_synced")["message"]


# --- Forecasts --------------------------------------------------------------------------------


def test_kept_forecasts_are_listed_with_filters_and_accuracy_once_scored(client, drafted):
    records = ForecastRecord.objects.for_firm(drafted.firm).filter(organisation=drafted.org)
    url = f"{drafted.base}/forecasts/"
    rows = _all(client, url, drafted.key, page_size=50)
    assert len(rows) == records.count() > 0
    assert {r["scored"] for r in rows} == {False}
    assert {r["actual"] for r in rows} == {None}

    # Scored: the month closed (as forecast_records_score fills it).
    record = records.select_related("account").order_by("pk").first()
    records.filter(pk=record.pk).update(
        actual=Decimal("120.00"), abs_error=Decimal("20.50"), within_80=False, within_95=True
    )
    row = next(r for r in _all(client, url, drafted.key, page_size=500) if r["id"] == record.pk)
    assert row["account_id"] == record.account.account_id
    assert row["made_at"] == f"{record.made_at:%Y-%m}"
    assert row["target"] == f"{record.target:%Y-%m}"
    assert row["point"] == f"{record.point:.2f}"
    assert (row["scored"], row["actual"], row["abs_error"]) == (True, "120.00", "20.50")
    assert (row["within_80"], row["within_95"]) == (False, True)

    by_account = _all(client, url, drafted.key, account=record.account.code, page_size=500)
    assert by_account
    assert len(by_account) == records.filter(account=record.account).count()
    assert {r["account_id"] for r in by_account} == {record.account.account_id}
    by_method = _all(client, url, drafted.key, method=record.method, page_size=500)
    assert len(by_method) == records.filter(method=record.method).count()
    overall = _all(client, url, drafted.key, tracking_option="none", page_size=500)
    assert len(overall) == records.filter(tracking_option__isnull=True).count()
    month = f"{record.made_at:%Y-%m}"
    assert len(_all(client, url, drafted.key, made_from=month, made_to=month, page_size=500)) == (
        records.filter(made_at=record.made_at).count()
    )
    later = f"{record.made_at.year + 1}-01"
    assert _all(client, url, drafted.key, made_from=later) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"made_from": "2026-13"}, "made_from"),
        ({"made_to": "26-01"}, "made_to"),
        ({"method": "Seasonal Naive"}, "method"),
        ({"account": "200; DROP"}, "account"),
        ({"target": "2026-01"}, "target"),
    ],
)
def test_bad_forecast_filters_are_400(client, drafted, params, field):
    response = client.get(f"{drafted.base}/forecasts/", params, **_h(drafted.key))
    assert list(assert_error(response, 400, "invalid")["fields"]) == [field]


# --- Drafts -----------------------------------------------------------------------------------


def test_drafts_list_and_a_draft_with_its_lines_and_months(client, drafted):
    rows = _all(client, f"{drafted.drafts}/", drafted.key)
    assert [r["id"] for r in rows] == [drafted.draft.pk]
    assert rows[0]["status"] == "draft"
    assert rows[0]["line_count"] == len(drafted.lines)

    response = client.get(f"{drafted.drafts}/{drafted.draft.pk}/", **_h(drafted.key))
    assert response.status_code == 200, response.content
    draft = response.json()
    assert draft["revision"] == drafted.draft.revision
    assert draft["first_period"] == f"{drafted.draft.first_period:%Y-%m}"
    assert draft["can_submit"] is False
    assert any("neither accepted nor edited" in r for r in draft["submit_blockers"])
    assert {line["id"] for line in draft["lines"]} == {line.pk for line in drafted.lines}
    line = draft["lines"][0]
    model = next(x for x in drafted.lines if x.pk == line["id"])
    assert line["account_id"] == model.account.account_id
    assert line["method"] == model.method
    assert line["confidence"] == model.confidence
    assert line["policy"] == {
        "ok": True,
        "violations": [],
        "needs_extra_approval": model.needs_extra_approval,
        "extra_approval_reasons": model.extra_approval_reasons,
    }
    balances = DraftBalance.objects.for_firm(drafted.firm).filter(line=model).order_by("period")
    assert len(line["balances"]) == balances.count() == drafted.draft.horizon
    first, month = line["balances"][0], balances.first()
    assert first["period"] == f"{month.period:%Y-%m}"
    assert first["suggested"] == f"{month.suggested_amount:.2f}"
    assert first["effective"] == first["suggested"]
    assert first["edited"] is None
    assert Decimal(first["lo_95"]) <= Decimal(first["lo_80"]) <= Decimal(first["hi_80"])
    assert set(first) == {
        "period",
        "original",
        "actual",
        "suggested",
        "lo_80",
        "hi_80",
        "lo_95",
        "hi_95",
        "edited",
        "effective",
        "edited_by",
        "edited_at",
        "reason",
    }


def _edit_url(cast, line=None) -> str:
    line = line or cast.lines[0]
    return f"{cast.drafts}/{cast.draft.pk}/lines/{line.pk}/edit/"


def _period(cast, line=None) -> str:
    line = line or cast.lines[0]
    balance = DraftBalance.objects.for_firm(cast.firm).filter(line=line).order_by("period")
    return f"{balance.first().period:%Y-%m}"


def test_an_edit_with_a_reason_changes_the_figure_and_bumps_the_revision(client, drafted):
    period = _period(drafted)
    body = {"period": period, "amount": "1234.00", "reason": "Signed a bigger contract"}
    response = client.post(_edit_url(drafted), body, **_h(drafted.write_key))
    assert response.status_code == 200, response.content
    line = response.json()
    assert line["id"] == drafted.lines[0].pk
    assert line["edited"] is True and line["accepted"] is True
    assert line["reason"] == "Signed a bigger contract"
    month = next(b for b in line["balances"] if b["period"] == period)
    assert (month["edited"], month["effective"]) == ("1234.00", "1234.00")
    assert month["edited_by"] == drafted.preparer.user.email
    assert month["reason"] == "Signed a bigger contract"
    assert line["policy"]["ok"] is True
    draft = Draft.objects.for_firm(drafted.firm).get(pk=drafted.draft.pk)
    assert draft.revision == drafted.draft.revision + 1


def test_a_policy_violation_is_returned_and_blocks_submission_not_the_edit(client, drafted):
    BudgetPolicy.objects.for_firm(drafted.firm).create(
        firm=drafted.firm, organisation=drafted.org, max_change_amount=Decimal("1.00")
    )
    line = drafted.lines[0]
    body = {"period": _period(drafted), "amount": "999999.00", "reason": "Testing the cap"}
    response = client.post(_edit_url(drafted), body, **_h(drafted.write_key))
    assert response.status_code == 200, response.content
    policy = response.json()["policy"]
    assert policy["ok"] is False
    assert policy["violations"] and policy["violations"][0]["message"]
    assert all(v["period"] is None or len(v["period"]) == 7 for v in policy["violations"])
    line.refresh_from_db()
    assert line.policy_ok is False

    submit = f"{drafted.drafts}/{drafted.draft.pk}/submit/"
    error = assert_error(client.post(submit, **_h(drafted.write_key)), 409, "cannot_submit")
    assert "break the policy" in error["message"]
    assert Draft.objects.for_firm(drafted.firm).get(pk=drafted.draft.pk).status == "draft"


def test_the_default_guardrails_refuse_a_huge_figure_and_negative_revenue(client, drafted, firm_b):
    """No policy was saved: the defaults apply, and each violation names its rule and limit."""
    assert not BudgetPolicy.objects.for_firm(drafted.firm).exists()
    revenue = next(line for line in drafted.lines if line.account.account_class == "REVENUE")
    actuals = ActualBalance.objects.for_firm(drafted.firm).filter(
        account=revenue.account, tracking_option=None
    )
    largest = max(abs(a.amount) for a in actuals)
    assert min(a.amount for a in actuals) >= 0
    period = _period(drafted, revenue)
    _api_key, key_b = api_key_create(
        firm=firm_b.firm, scopes=ApiKey.Scope.values, member=firm_b.member(Role.OWNER)
    )
    body = {"period": period, "amount": "99999999999999", "reason": "Testing the guardrails"}
    assert_error(client.post(_edit_url(drafted, revenue), body, **_h(key_b)), 404, "not_found")

    huge = client.post(_edit_url(drafted, revenue), body, **_h(drafted.write_key))
    assert huge.status_code == 200, huge.content
    policy = huge.json()["policy"]
    assert policy["ok"] is False
    multiple = next(v for v in policy["violations"] if v["rule"] == "actual_multiple")
    assert multiple["period"] == period and multiple["limit"] == f"{3 * largest:.2f}"
    assert f"at most {3 * largest:,.2f}" in multiple["message"]

    body = {"period": period, "amount": "-500.00", "reason": "Testing the guardrails"}
    negative = client.post(_edit_url(drafted, revenue), body, **_h(drafted.write_key))
    assert negative.status_code == 200, negative.content
    sign = [v for v in negative.json()["policy"]["violations"] if v["rule"] == "sign"]
    assert [(v["period"], v["limit"]) for v in sign] == [(period, "0.00")]
    assert "is negative, but revenue figures are zero or more" in sign[0]["message"]
    assert "Within policy" not in negative.content.decode()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"amount": "10.00", "reason": ""},
            "reason",
            "Say why you changed the figure: a reason is required.",
        ),
        ({"amount": "10.00"}, "reason", "Say why you changed the figure: a reason is required."),
        ({"amount": "ten", "reason": "x"}, "amount", "A valid number is required."),
        ({"amount": "10.001", "reason": "x"}, "amount", "10.001 has more than 2 decimal places"),
        (
            {"amount": "100000000000000", "reason": "x"},
            "amount",
            "100,000,000,000,000.00 is too large: a budget figure is at most "
            "99,999,999,999,999.99.",
        ),
        ({"amount": "1e400", "reason": "x"}, "amount", "1E+400 is too large"),
        ({"period": "2026-13", "amount": "1", "reason": "x"}, "period", "Give a month as YYYY-MM"),
        ({"period": "1999-01", "amount": "1", "reason": "x"}, "period", "This line has no 1999-01"),
    ],
)
def test_a_bad_edit_is_400_with_a_clear_message(client, drafted, body, field, message):
    body = {"period": _period(drafted), **body}
    response = client.post(_edit_url(drafted), body, **_h(drafted.write_key))
    error = assert_error(response, 400, "invalid")
    assert error["fields"][field][0].startswith(message), error
    draft = Draft.objects.for_firm(drafted.firm).get(pk=drafted.draft.pk)
    assert draft.revision == drafted.draft.revision


def test_editing_and_submitting_need_the_write_scope_and_a_preparing_role(client, drafted):
    body = {"period": _period(drafted), "amount": "1.00", "reason": "x"}
    submit = f"{drafted.drafts}/{drafted.draft.pk}/submit/"
    for url in (_edit_url(drafted), submit):
        error = assert_error(client.post(url, body, **_h(drafted.key)), 403, "missing_scope")
        assert "'write'" in error["message"]
    viewer_key = api_key_create(
        firm=drafted.firm, scopes=["write"], member=drafted.member(Role.VIEWER)
    )[1]
    assert_error(client.post(_edit_url(drafted), body, **_h(viewer_key)), 403, "role_not_allowed")
    assert not DraftBalance.objects.for_firm(drafted.firm).filter(
        line__draft=drafted.draft, edited_amount__isnull=False
    )


def test_a_key_that_names_nobody_edits_as_the_person_who_made_it(client, drafted):
    # Segregation of duties needs a person: the key's creator (firm A's owner) is the editor.
    bot_key = api_key_create(firm=drafted.firm, scopes=["write"], name="Forecast bot")[1]
    body = {"period": _period(drafted), "amount": "10.00", "reason": "From our planning tool"}
    response = client.post(_edit_url(drafted), body, **_h(bot_key))
    assert response.status_code == 200, response.content
    month = next(b for b in response.json()["balances"] if b["period"] == body["period"])
    assert month["edited_by"] == drafted.member(Role.OWNER).user.email


def test_signed_in_people_edit_under_their_firm(client, drafted):
    client.force_login(drafted.preparer.user)
    url = f"/f/{drafted.firm.slug}{_edit_url(drafted)}"
    body = {"period": _period(drafted), "amount": "10.00", "reason": "Checked with the client"}
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 200, response.content
    client.force_login(drafted.member(Role.VIEWER).user)
    assert_error(client.post(url, body, content_type="application/json"), 403, "role_not_allowed")


def test_an_edit_of_an_approved_draft_is_409(client, drafted):
    Draft.objects.for_firm(drafted.firm).filter(pk=drafted.draft.pk).update(status="approved")
    body = {"period": _period(drafted), "amount": "1.00", "reason": "Too late"}
    error = assert_error(
        client.post(_edit_url(drafted), body, **_h(drafted.write_key)), 409, "not_editable"
    )
    assert "can no longer be changed" in error["message"]


def test_a_draft_is_submitted_under_the_approval_chain(client, drafted):
    submit = f"{drafted.drafts}/{drafted.draft.pk}/submit/"
    error = assert_error(client.post(submit, **_h(drafted.write_key)), 409, "cannot_submit")
    assert "accept or edit every line" in error["message"]
    for line in drafted.lines:
        draft_line_accept(
            firm=drafted.firm, draft=drafted.draft, line=line, user=drafted.preparer.user
        )
    error = assert_error(client.post(submit, **_h(drafted.write_key)), 409, "cannot_submit")
    assert "no approval chain" in error["message"]
    approvals.approval_chain_update(
        firm=drafted.firm,
        organisation=drafted.org,
        user=None,
        steps=[{"name": "Partner", "roles": ["approver"]}],
    )
    response = client.post(submit, **_h(drafted.write_key))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "submitted"
    assert response.json()["can_submit"] is False


# --- History ----------------------------------------------------------------------------------


def test_a_drafts_history_says_who_when_why_and_what(client, drafted):
    period = _period(drafted)
    body = {"period": period, "amount": "4321.00", "reason": "New lease from March"}
    assert client.post(_edit_url(drafted), body, **_h(drafted.write_key)).status_code == 200

    url = f"{drafted.drafts}/{drafted.draft.pk}/history/"
    entries = _all(client, url, drafted.key, page_size=500)
    # Newest first: the draft's revision, the line and the month edited.
    newest = entries[:3]
    assert {e["object"] for e in newest} == {"draft", "draftline", "draftbalance"}
    assert {e["user"] for e in newest} == {drafted.preparer.user.email}
    assert all("New lease from March" in e["reason"] for e in newest)
    month = next(e for e in newest if e["object"] == "draftbalance")
    assert month["kind"] == "Changed"
    changes = {c["field"]: c for c in month["changes"]}
    assert changes["edited_amount"]["before"] is None
    assert changes["edited_amount"]["after"] == "4321.00"
    assert changes["edit_reason"]["after"] == "New lease from March"
    assert entries[-1]["kind"] == "Created"
    assert {e["user"] for e in entries if e["kind"] == "Created"} == {None}

    # Paged with the same links as every list: each entry once.
    paged = _all(client, url, drafted.key, page_size=7)
    assert [e["id"] for e in paged] == [e["id"] for e in entries]
    assert len(entries) > 7


def test_a_made_up_history_cursor_is_400(client, drafted):
    url = f"{drafted.drafts}/{drafted.draft.pk}/history/"
    response = client.get(url, {"cursor": "not-a-cursor"}, **_h(drafted.key))
    assert list(assert_error(response, 400, "invalid")["fields"]) == ["cursor"]


# --- Another firm -----------------------------------------------------------------------------


def test_another_firms_key_finds_none_of_it(client, drafted, firm_b):
    _api_key, key_b = api_key_create(
        firm=firm_b.firm, scopes=ApiKey.Scope.values, member=firm_b.member(Role.OWNER)
    )
    draft = f"{drafted.drafts}/{drafted.draft.pk}"
    for path in (
        f"{drafted.base}/variances/?period=2026-10",
        f"{drafted.base}/forecasts/",
        f"{drafted.drafts}/",
        f"{draft}/",
        f"{draft}/history/",
    ):
        response = client.get(path, headers=bearer(key_b))
        assert_error(response, 404, "not_found")
        assert SOFTWARE not in response.content.decode()
    body = {"period": _period(drafted), "amount": "1.00", "reason": "Not mine"}
    assert_error(client.post(_edit_url(drafted), body, **_h(key_b)), 404, "not_found")
    assert_error(client.post(f"{draft}/submit/", **_h(key_b)), 404, "not_found")
    assert not DraftBalance.objects.for_firm(drafted.firm).filter(
        line__draft=drafted.draft, edited_amount__isnull=False
    )


def test_a_draft_and_line_are_found_only_under_their_own_organisation(client, drafted):
    other = f"/api/v1/organisations/{drafted.organisation.public_id}/drafts/{drafted.draft.pk}/"
    assert_error(client.get(other, **_h(drafted.key)), 404, "not_found")
    theirs = draft_create_rolling(firm=drafted.firm, organisation=drafted.org).draft
    # A line of one draft under another draft's URL.
    assert theirs is not None and theirs.pk != drafted.draft.pk
    url = f"{drafted.drafts}/{theirs.pk}/lines/{drafted.lines[0].pk}/edit/"
    body = {"period": _period(drafted), "amount": "1.00", "reason": "x"}
    assert_error(client.post(url, body, **_h(drafted.write_key)), 404, "not_found")


@pytest.mark.parametrize("figure", ["12345678901234.56", "99999999999999.99", "-99999999999999.99"])
def test_every_figure_the_schema_allows_is_stored_to_the_cent(client, drafted, firm_b, figure):
    # The largest figure a budget holds and one of 16 significant digits: never through a float
    # (tests/test_demo.py checks the same on the demo's SQLite).
    body = {"period": _period(drafted), "amount": figure, "reason": "Exact money"}
    key_b = api_key_create(
        firm=firm_b.firm, scopes=["read", "write"], member=firm_b.member(Role.PREPARER)
    )[1]
    assert_error(client.post(_edit_url(drafted), body, **_h(key_b)), 404, "not_found")
    response = client.post(_edit_url(drafted), body, **_h(drafted.write_key))
    assert response.status_code == 200, response.content
    month = next(b for b in response.json()["balances"] if b["period"] == body["period"])
    assert month["edited"] == month["effective"] == figure
    stored = DraftBalance.objects.for_firm(drafted.firm).get(
        line=drafted.lines[0], edited_amount__isnull=False
    )
    assert stored.edited_amount == Decimal(figure)


def _accept_url(cast) -> str:
    return f"{cast.drafts}/{cast.draft.pk}/lines/accept/"


def _accepted(cast) -> set[int]:
    lines = DraftLine.objects.for_firm(cast.firm).filter(draft=cast.draft, accepted=True)
    return set(lines.values_list("pk", flat=True))


def test_lines_are_accepted_one_many_or_every_material_one(client, drafted, firm_b):
    assert len(drafted.lines) >= 3, "the software company's draft suggests several lines"
    first, second, third = (line.pk for line in drafted.lines[:3])
    key_b = api_key_create(
        firm=firm_b.firm, scopes=["read", "write"], member=firm_b.member(Role.PREPARER)
    )[1]
    assert_error(
        client.post(_accept_url(drafted), {"lines": [first]}, **_h(key_b)), 404, "not_found"
    )
    assert _accepted(drafted) == set()

    one = client.post(_accept_url(drafted), {"lines": [first]}, **_h(drafted.write_key))
    assert one.status_code == 200, one.content
    assert one.json()["accepted"] == 1
    assert one.json()["draft"]["revision"] == drafted.draft.revision + 1
    assert [line["accepted"] for line in one.json()["draft"]["lines"] if line["id"] == first] == [
        True
    ]
    assert _accepted(drafted) == {first}

    # Accepting one again changes nothing, and the revision stays.
    many = client.post(
        _accept_url(drafted), {"lines": [first, second, third]}, **_h(drafted.write_key)
    )
    assert many.status_code == 200, many.content
    assert many.json()["accepted"] == 2
    assert _accepted(drafted) == {first, second, third}
    line = DraftLine.objects.for_firm(drafted.firm).get(pk=second)
    assert line.history.first().history_change_reason == "Suggestion accepted"
    assert line.history.first().history_user == drafted.preparer.user

    material = client.post(_accept_url(drafted), {"material": True}, **_h(drafted.write_key))
    assert material.status_code == 200, material.content
    triggered = {line.pk for line in drafted.lines if line.trigger in ("variance", "both")} | {
        first,
        second,
        third,
    }
    assert _accepted(drafted) == triggered
    assert material.json()["accepted"] == len(triggered - {first, second, third})

    everything = [line.pk for line in drafted.lines]
    rest = client.post(_accept_url(drafted), {"lines": everything}, **_h(drafted.write_key))
    assert rest.status_code == 200, rest.content
    assert _accepted(drafted) == set(everything)
    assert not any("accept or edit" in b for b in rest.json()["draft"]["submit_blockers"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Name the lines to accept, or send material: true."),
        ({"material": False}, "Name the lines to accept, or send material: true."),
        ({"lines": []}, "Ensure this field has at least 1 elements."),
        ({"lines": ["x"]}, "A valid integer is required."),
        ({"lines": [999999999]}, "Not lines of this draft: 999999999."),
    ],
)
def test_a_bad_accept_is_400_naming_the_lines(client, drafted, body, message):
    error = assert_error(
        client.post(_accept_url(drafted), body, **_h(drafted.write_key)), 400, "invalid"
    )
    assert any(message in m for messages in error["fields"].values() for m in messages), error
    assert _accepted(drafted) == set()


def test_accepting_needs_the_write_scope_and_an_open_draft(client, drafted):
    body = {"lines": [drafted.lines[0].pk]}
    assert_error(client.post(_accept_url(drafted), body, **_h(drafted.key)), 403, "missing_scope")
    Draft.objects.for_firm(drafted.firm).filter(pk=drafted.draft.pk).update(status="approved")
    error = assert_error(
        client.post(_accept_url(drafted), body, **_h(drafted.write_key)), 409, "not_editable"
    )
    assert "can no longer be changed" in error["message"]
    assert _accepted(drafted) == set()
