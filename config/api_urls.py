"""The partner API's routes, mounted twice with the same views (see tenants/api/__init__.py); in
config/ because they gather every package's endpoints (tenants/ imports no budgeting code):

- `/api/v1/...` (namespace `api`): the firm is the API key's firm.
- `/f/<firm_slug>/api/v1/...` (namespace `firm_api`): signed-in people; the firm is the URL's.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from budgeting.alerts import api as api_alerts
from budgeting.annual import api as api_annual
from budgeting.approvals import api as api_approvals
from budgeting.audit import api as api_audit
from budgeting.cash import api as api_cash
from budgeting.currency import api as api_currency
from budgeting.deals import api as api_deals
from budgeting.departments import api as api_departments
from budgeting.drafts import api as api_drafts
from budgeting.groups import api as api_groups
from budgeting.ledger import api as budgeting_api
from budgeting.packs import api as api_packs
from budgeting.publishing import api as api_publishing
from budgeting.scenarios import api as api_scenarios
from budgeting.variance import api as api_variance
from tenants.api.errors import api_not_found
from tenants.api.members import MemberListApi
from tenants.api.organisations import OrganisationDetailApi, OrganisationListApi

# Every endpoint, once. Add new ones here; both mounts and the schema follow.
ENDPOINTS = [
    # Alerts between closes (budgeting/alerts/api.py).
    path(
        "organisations/<uuid:organisation_public_id>/alert-rules/",
        api_alerts.AlertRuleListApi.as_view(),
        name="alert_rule_list",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/alert-rules/<int:rule_id>/",
        api_alerts.AlertRuleDetailApi.as_view(),
        name="alert_rule_detail",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/alerts/",
        api_alerts.AlertListApi.as_view(),
        name="alert_list",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/alerts/<int:alert_id>/acknowledge/",
        api_alerts.AlertAcknowledgeApi.as_view(),
        name="alert_acknowledge",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/alerts/<int:alert_id>/snooze/",
        api_alerts.AlertSnoozeApi.as_view(),
        name="alert_snooze",
    ),
    path("organisations/", OrganisationListApi.as_view(), name="organisation_list"),
    path(
        "organisations/<uuid:organisation_public_id>/",
        OrganisationDetailApi.as_view(),
        name="organisation_detail",
    ),
    path("members/", MemberListApi.as_view(), name="member_list"),
    # Synced Xero data of one client organisation, and its syncs (budgeting/ledger/api.py).
    path(
        "organisations/<uuid:organisation_public_id>/accounts/",
        budgeting_api.AccountListApi.as_view(),
        name="account_list",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/tracking-categories/",
        budgeting_api.TrackingCategoryListApi.as_view(),
        name="tracking_category_list",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/budgets/",
        budgeting_api.BudgetListApi.as_view(),
        name="budget_list",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/budgets/<uuid:budget_id>/balances/",
        budgeting_api.BudgetBalanceListApi.as_view(),
        name="budget_balance_list",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/actuals/",
        budgeting_api.ActualBalanceListApi.as_view(),
        name="actual_list",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/sync-runs/",
        budgeting_api.SyncRunApi.as_view(),
        name="sync_run_list",
    ),
    # The variance report, kept forecasts and forecast drafts (budgeting/drafts/api.py).
    path(
        "organisations/<uuid:organisation_public_id>/variances/",
        api_drafts.VarianceApi.as_view(),
        name="variance_report",
    ),
    # The currency split of the variances, and the budget rates (budgeting/currency/).
    path(
        "organisations/<uuid:organisation_public_id>/variances/currency/",
        api_variance.VarianceCurrencyApi.as_view(),
        name="variance_currency",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/budget-rates/",
        api_currency.BudgetRateListApi.as_view(),
        name="budget_rate_list",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/forecasts/",
        api_drafts.ForecastListApi.as_view(),
        name="forecast_list",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/drafts/",
        api_drafts.DraftListApi.as_view(),
        name="draft_list",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/drafts/<int:draft_id>/",
        api_drafts.DraftDetailApi.as_view(),
        name="draft_detail",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/drafts/<int:draft_id>/lines/<int:line_id>/edit/",
        api_drafts.DraftLineEditApi.as_view(),
        name="draft_line_edit",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/drafts/<int:draft_id>/lines/accept/",
        api_drafts.DraftLinesAcceptApi.as_view(),
        name="draft_lines_accept",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/drafts/<int:draft_id>/submit/",
        api_approvals.DraftSubmitApi.as_view(),
        name="draft_submit",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/drafts/<int:draft_id>/history/",
        api_audit.DraftHistoryApi.as_view(),
        name="draft_history",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/drafts/<int:draft_id>/lines/<int:line_id>/why/",
        api_audit.DraftLineWhyApi.as_view(),
        name="draft_line_why",
    ),
    # A client's sales pipeline (budgeting/deals/api.py).
    path(
        "organisations/<uuid:organisation_public_id>/sales-pipelines/",
        api_deals.SalesPipelineListApi.as_view(),
        name="sales_pipeline_list",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/sales-pipelines/<int:upload_id>/",
        api_deals.SalesPipelineDetailApi.as_view(),
        name="sales_pipeline_detail",
    ),
    # Annual drafts: next year's budget from the history (budgeting/annual/api.py).
    path(
        "organisations/<uuid:organisation_public_id>/annual-drafts/",
        api_annual.AnnualDraftCreateApi.as_view(),
        name="annual_draft_create",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/annual-drafts/<int:draft_id>/flags/",
        api_annual.AnnualDraftFlagsApi.as_view(),
        name="annual_draft_flags",
    ),
    # What-if scenarios (budgeting/scenarios/api.py).
    path(
        "organisations/<uuid:organisation_public_id>/scenarios/",
        api_scenarios.ScenarioListApi.as_view(),
        name="scenario_list",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/scenarios/read/",
        api_scenarios.ScenarioSentenceReadApi.as_view(),
        name="scenario_sentence_read",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/scenarios/compare/",
        api_scenarios.ScenarioCompareApi.as_view(),
        name="scenario_compare",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/scenarios/<int:scenario_id>/draft/",
        api_scenarios.ScenarioDraftApi.as_view(),
        name="scenario_draft",
    ),
    # A draft by department: its managers and the gap to the overall figures
    # (budgeting/departments/api.py).
    path(
        "organisations/<uuid:organisation_public_id>/drafts/<int:draft_id>/departments/",
        api_departments.DepartmentListApi.as_view(),
        name="draft_departments",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/drafts/<int:draft_id>/departments/gaps/",
        api_departments.DepartmentGapApi.as_view(),
        name="draft_department_gaps",
    ),
    # A draft's approval and decisions on its steps (budgeting/approvals/api.py).
    path(
        "organisations/<uuid:organisation_public_id>/drafts/<int:draft_id>/approval/",
        api_approvals.DraftApprovalApi.as_view(),
        name="draft_approval",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/drafts/<int:draft_id>/approval/steps/"
        "<int:step_id>/approve/",
        api_approvals.ApprovalStepApproveApi.as_view(),
        name="approval_step_approve",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/drafts/<int:draft_id>/approval/steps/"
        "<int:step_id>/reject/",
        api_approvals.ApprovalStepRejectApi.as_view(),
        name="approval_step_reject",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/drafts/<int:draft_id>/approval/steps/"
        "<int:step_id>/request-changes/",
        api_approvals.ApprovalStepRequestChangesApi.as_view(),
        name="approval_step_request_changes",
    ),
    # Import files for Xero's Budget Manager, and rolling one back (budgeting/publishing/api.py).
    path(
        "organisations/<uuid:organisation_public_id>/drafts/<int:draft_id>/publish/",
        api_publishing.DraftPublishApi.as_view(),
        name="draft_publish",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/publications/",
        api_publishing.PublicationListApi.as_view(),
        name="publication_list",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/publications/<int:publication_id>/rollback/",
        api_publishing.PublicationRollbackApi.as_view(),
        name="publication_rollback",
    ),
    # Client groups (budgeting/groups/api.py).
    path("groups/", api_groups.GroupListApi.as_view(), name="group_list"),
    path(
        "groups/<int:group_id>/report/",
        api_groups.GroupReportApi.as_view(),
        name="group_report",
    ),
    path(
        "groups/<int:group_id>/rates/",
        api_groups.GroupRateListApi.as_view(),
        name="group_rate_list",
    ),
    # Cash: closing cash per month, actual and projected (budgeting/cash/api.py).
    path(
        "organisations/<uuid:organisation_public_id>/cash/",
        api_cash.CashApi.as_view(),
        name="cash",
    ),
    # Report packs and their PDFs (budgeting/packs/api.py).
    path(
        "organisations/<uuid:organisation_public_id>/packs/",
        api_packs.ReportPackListApi.as_view(),
        name="report_pack_list",
    ),
    path(
        "organisations/<uuid:organisation_public_id>/packs/<int:pack_id>/pdf/",
        api_packs.ReportPackPdfApi.as_view(),
        name="report_pack_pdf",
    ),
]

# Last in each mount: an unknown API URL answers in the API's error format.
_NOT_FOUND = re_path(r"^", api_not_found)

_key_routes = [
    *ENDPOINTS,
    # The API's version is in its path; drf-spectacular would otherwise take ?version= into the
    # download's file name (Content-Disposition), where a newline in it is a 500.
    path("schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own, so the docs page
    # needs no inline script under the Content-Security-Policy.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    _NOT_FOUND,
]

urlpatterns = [
    path("api/v1/", include((_key_routes, "api"))),
    path("f/<slug:firm_slug>/api/v1/", include(([*ENDPOINTS, _NOT_FOUND], "firm_api"))),
]
