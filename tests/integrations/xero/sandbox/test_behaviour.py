"""Behaviour switches: each reading of what Xero's docs leave open, one at a time."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from integrations.xero.sandbox.app import SandboxApp
from integrations.xero.sandbox.behaviour import Behaviour
from integrations.xero.sandbox.model import SandboxBudget, SandboxTrackingOption
from tests.integrations.xero.sandbox.harness import (
    OVERALL_BUDGET,
    REGION,
    RENT,
    SALES,
    Connected,
    cafe,
    connect,
    http,
    make_app,
    saas,
)

PL = "/api.xro/2.0/Reports/ProfitAndLoss"
ADMIN = {"X-Sandbox-Admin": "sandbox-admin"}
WEST = "b0000001-0000-4000-8000-000000000099"


def _api(**behaviour: Any) -> Connected:
    return connect(make_app(behaviour=Behaviour(**behaviour)))


def _report(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()["Reports"][0]


def _header(report: dict[str, Any]) -> list[str]:
    return [c["Value"] for c in report["Rows"][0]["Cells"]][1:]


def _row(report: dict[str, Any], account_id: str) -> list[str]:
    for section in report["Rows"]:
        for row in section.get("Rows", []):
            attributes = row["Cells"][0].get("Attributes") or []
            if attributes and attributes[0]["Value"] == account_id:
                return [c["Value"] for c in row["Cells"][1:]]
    raise AssertionError(f"no row for {account_id}")


def _march_by_region(api: Connected, **extra: Any) -> Any:
    return api.get(
        PL, fromDate="2026-03-01", toDate="2026-03-31", trackingCategoryID=REGION, **extra
    )


def test_defaults_are_the_sandbox_as_it_was() -> None:
    assert Behaviour() == Behaviour(
        pl_periods_with_tracking="combined",
        pl_column_order="newest_first",
        pl_header_labels="short",
        pl_missing_options="zero",
        pl_unassigned_column=True,
        budget_window="as_asked",
    )


def test_periods_with_tracking_combined_gives_options_per_period() -> None:
    report = _report(_march_by_region(_api(), periods=1, timeframe="MONTH"))

    assert _header(report) == [
        "North 31 Mar 26",
        "South 31 Mar 26",
        "Unassigned 31 Mar 26",
        "Total 31 Mar 26",
        "North 28 Feb 26",
        "South 28 Feb 26",
        "Unassigned 28 Feb 26",
        "Total 28 Feb 26",
    ]
    # Feb's North: 1000 less the 50 credit note.
    assert _row(report, SALES) == [
        "1000.00",
        "500.00",
        "0.00",
        "1500.00",
        "950.00",
        "500.00",
        "0.00",
        "1450.00",
    ]


def test_periods_with_tracking_ignored_gives_the_base_range_only() -> None:
    api = _api(pl_periods_with_tracking="ignored")

    report = _report(_march_by_region(api, periods=2, timeframe="MONTH"))

    assert _header(report) == ["North", "South", "Unassigned", "Total"]
    assert _row(report, SALES) == ["1000.00", "500.00", "0.00", "1500.00"]
    # Without tracking, periods still work.
    untracked = _report(
        api.get(PL, fromDate="2026-03-01", toDate="2026-03-31", periods=1, timeframe="MONTH")
    )
    assert _header(untracked) == ["31 Mar 26", "28 Feb 26"]


def test_periods_with_tracking_rejected_is_a_validation_error() -> None:
    api = _api(pl_periods_with_tracking="rejected")

    refused = _march_by_region(api, periods=1, timeframe="MONTH")

    assert refused.status_code == 400
    body = refused.json()
    assert body["Type"] == "ValidationException"
    assert "periods" in body["Elements"][0]["ValidationErrors"][0]["Message"]
    assert _header(_report(_march_by_region(api))) == ["North", "South", "Unassigned", "Total"]


def test_column_order_oldest_first() -> None:
    api = _api(pl_column_order="oldest_first")

    report = _report(
        api.get(PL, fromDate="2026-03-01", toDate="2026-03-31", periods=2, timeframe="MONTH")
    )
    by_region = _report(_march_by_region(api, periods=1, timeframe="MONTH"))

    assert _header(report) == ["31 Jan 26", "28 Feb 26", "31 Mar 26"]
    assert _row(report, SALES) == ["1577.00", "1450.00", "1500.00"]
    assert _header(by_region)[0] == "North 28 Feb 26"
    assert _header(by_region)[-1] == "Total 31 Mar 26"
    assert report["ReportTitles"][2] == "1 March 2026 to 31 March 2026"


@pytest.mark.parametrize(
    ("style", "labels", "tracked"),
    [
        ("short", ["31 Mar 26", "28 Feb 26"], "North 31 Mar 26"),
        ("long", ["31 Mar 2026", "28 Feb 2026"], "North 31 Mar 2026"),
        ("month", ["Mar 2026", "Feb 2026"], "North Mar 2026"),
    ],
)
def test_header_labels(style: str, labels: list[str], tracked: str) -> None:
    api = _api(pl_header_labels=style)

    report = _report(
        api.get(PL, fromDate="2026-03-01", toDate="2026-03-31", periods=1, timeframe="MONTH")
    )
    by_region = _report(_march_by_region(api, periods=1, timeframe="MONTH"))

    assert _header(report) == labels
    assert _header(by_region)[0] == tracked


def _cafe_with_an_idle_option() -> SandboxApp:
    org = cafe()
    org.tracking_categories[0].options.append(SandboxTrackingOption(WEST, "West"))
    return make_app(organisations=[org, saas()])


def test_missing_options_zero_gives_every_option_a_column() -> None:
    api = connect(_cafe_with_an_idle_option())

    report = _report(_march_by_region(api))

    assert _header(report) == ["North", "South", "West", "Unassigned", "Total"]
    assert _row(report, SALES) == ["1000.00", "500.00", "0.00", "0.00", "1500.00"]


def test_missing_options_omitted_drops_options_without_amounts() -> None:
    app = _cafe_with_an_idle_option()
    app.behaviour = Behaviour(pl_missing_options="omitted")
    api = connect(app)

    report = _report(_march_by_region(api, periods=1, timeframe="MONTH"))

    assert _header(report) == [
        "North 31 Mar 26",
        "South 31 Mar 26",
        "Unassigned 31 Mar 26",
        "Total 31 Mar 26",
        "North 28 Feb 26",
        "South 28 Feb 26",
        "Unassigned 28 Feb 26",
        "Total 28 Feb 26",
    ]
    assert _row(report, RENT) == ["0.00", "0.00", "800.00", "800.00"] * 2


def test_no_unassigned_column() -> None:
    api = _api(pl_unassigned_column=False)

    report = _report(_march_by_region(api))

    assert _header(report) == ["North", "South", "Total"]
    # Rent has no region: it shows in the Total only.
    assert _row(report, RENT) == ["0.00", "0.00", "800.00"]


def _app_with_a_two_year_budget(behaviour: Behaviour) -> SandboxApp:
    org = cafe()
    periods = [f"{year}-{month:02d}" for year in (2026, 2027) for month in range(1, 13)]
    org.budgets[0] = SandboxBudget(
        OVERALL_BUDGET, "OVERALL", "Overall Budget", {SALES: {p: Decimal(1000) for p in periods}}
    )
    return make_app(organisations=[org, saas()], behaviour=behaviour)


def _budget_periods(api: Connected, **params: str) -> list[str]:
    response = api.get(f"/api.xro/2.0/Budgets/{OVERALL_BUDGET}", **params)
    assert response.status_code == 200, response.text
    lines = response.json()["Budgets"][0]["BudgetLines"]
    return [b["Period"] for b in lines[0]["BudgetBalances"]] if lines else []


def test_budget_window_as_asked() -> None:
    api = connect(_app_with_a_two_year_budget(Behaviour()))

    assert _budget_periods(api, DateFrom="2026-03-01", DateTo="2026-05-31") == [
        "2026-03",
        "2026-04",
        "2026-05",
    ]
    assert len(_budget_periods(api, DateFrom="2026-01-01", DateTo="2027-12-31")) == 24
    too_long = api.get(
        f"/api.xro/2.0/Budgets/{OVERALL_BUDGET}", DateFrom="2026-01-01", DateTo="2028-01-31"
    )
    assert too_long.status_code == 400


def test_budget_window_whole_returns_every_period() -> None:
    api = connect(_app_with_a_two_year_budget(Behaviour(budget_window="whole")))

    periods = _budget_periods(api, DateFrom="2026-03-01", DateTo="2026-05-31")

    assert periods[0] == "2026-01" and periods[-1] == "2027-12" and len(periods) == 24


def test_budget_window_capped_stops_after_twelve_months() -> None:
    api = connect(_app_with_a_two_year_budget(Behaviour(budget_window="capped")))

    periods = _budget_periods(api, DateFrom="2026-03-01", DateTo="2027-12-31")

    assert periods[0] == "2026-03" and periods[-1] == "2027-02" and len(periods) == 12
    assert _budget_periods(api, DateFrom="2026-03-01", DateTo="2026-04-30") == [
        "2026-03",
        "2026-04",
    ]


def test_control_api_reads_and_sets_the_behaviour(app: SandboxApp) -> None:
    client = http(app)

    before = client.get("/_sandbox/behaviour", headers=ADMIN).json()
    after = client.post(
        "/_sandbox/behaviour",
        json={"plPeriodsWithTracking": "ignored", "plUnassignedColumn": False},
        headers=ADMIN,
    ).json()

    assert before == {
        "plPeriodsWithTracking": "combined",
        "plColumnOrder": "newest_first",
        "plHeaderLabels": "short",
        "plMissingOptions": "zero",
        "plUnassignedColumn": True,
        "budgetWindow": "as_asked",
    }
    assert after == before | {"plPeriodsWithTracking": "ignored", "plUnassignedColumn": False}
    assert app.behaviour.pl_periods_with_tracking == "ignored"


@pytest.mark.parametrize(
    "body",
    [
        {"plColumnOrder": "sideways"},
        {"pl_column_order": "oldest_first"},
        {"budgetWindow": "whole", "colour": "blue"},
        {"plUnassignedColumn": "false"},
        ["plColumnOrder"],
    ],
)
def test_control_api_refuses_unknown_switches_and_values(app: SandboxApp, body: Any) -> None:
    response = http(app).post("/_sandbox/behaviour", json=body, headers=ADMIN)

    assert response.status_code == 400
    assert "error" in response.json()
    assert app.behaviour == Behaviour()


def test_command_line_sets_the_behaviour() -> None:
    from integrations.xero.sandbox.__main__ import build_app, build_parser, main

    args = build_parser().parse_args(
        [
            "serve",
            "--behaviour",
            "pl_periods_with_tracking=rejected",
            "--behaviour",
            "plUnassignedColumn=false",
        ]
    )
    app = build_app(args)

    assert isinstance(app, SandboxApp)
    assert app.behaviour == Behaviour(
        pl_periods_with_tracking="rejected", pl_unassigned_column=False
    )
    with pytest.raises(SystemExit):
        main(["serve", "--behaviour", "budget_window=forever"])
