from django.urls import path

from budgeting.alerts import views as views_alerts
from budgeting.annual import views as views_annual
from budgeting.approvals import exports as exports_approvals
from budgeting.approvals import views as views_approvals
from budgeting.audit import views as views_audit
from budgeting.cash import views as views_cash
from budgeting.currency import views as views_currency
from budgeting.dashboard import views as views_dashboard
from budgeting.deals import views as views_deals
from budgeting.departments import views as views_departments
from budgeting.drafts import exports as exports_drafts
from budgeting.drafts import views as views_drafts
from budgeting.groups import views as views_groups
from budgeting.ledger import views
from budgeting.packs import views as views_packs
from budgeting.publishing import views as views_publishing
from budgeting.scenarios import views as views_scenarios
from budgeting.variance import views as views_variance

urlpatterns = [
    path("f/<slug:firm_slug>/", views_dashboard.firm_dashboard, name="firm_dashboard"),
    path("f/<slug:firm_slug>/waiting/", views_dashboard.waiting_queue, name="waiting_queue"),
    path(
        "f/<slug:firm_slug>/waiting/count/",
        views_dashboard.waiting_count,
        name="waiting_count",
    ),
    path(
        "f/<slug:firm_slug>/clients.csv",
        views_dashboard.firm_dashboard_csv,
        name="firm_dashboard_csv",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/",
        views.organisation_detail,
        name="organisation_detail",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/sync/",
        views_dashboard.organisation_sync_now,
        name="organisation_sync_now",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/sync/status/",
        views_dashboard.organisation_sync_status,
        name="organisation_sync_status",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/actuals.csv",
        views.organisation_actuals_csv,
        name="organisation_actuals_csv",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/budget.csv",
        views.organisation_budget_csv,
        name="organisation_budget_csv",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/sync-history.csv",
        views.organisation_sync_history_csv,
        name="organisation_sync_history_csv",
    ),
]

# Variance: the report, its CSV, an account's chart and narrative, the transactions behind it.
urlpatterns += [
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/variance/",
        views_variance.variance_report,
        name="variance_report",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/variance.csv",
        views_variance.variance_report_csv,
        name="variance_report_csv",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/variance/accounts/<int:account_id>/",
        views_variance.variance_account_detail,
        name="variance_account_detail",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/variance/accounts/<int:account_id>/"
        "transactions/",
        views_variance.variance_account_transactions,
        name="variance_account_transactions",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/variance/accounts/<int:account_id>/"
        "transactions.csv",
        views_variance.variance_account_transactions_csv,
        name="variance_account_transactions_csv",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/variance/currency.csv",
        views_variance.variance_currency_csv,
        name="variance_currency_csv",
    ),
    # Budget rates (budgeting/currency/).
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/budget-rates/",
        views_currency.budget_rates,
        name="budget_rates",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/budget-rates/enter/",
        views_currency.budget_rate_enter,
        name="budget_rate_enter",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/budget-rates/import/",
        views_currency.budget_rates_upload,
        name="budget_rates_upload",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/budget-rates/average/",
        views_currency.budget_rate_average,
        name="budget_rate_average",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/budget-rates/<int:budget_rate_id>/remove/",
        views_currency.budget_rate_delete,
        name="budget_rate_delete",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/budget-rates.csv",
        views_currency.budget_rates_csv,
        name="budget_rates_csv",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/variance/materiality/",
        views_variance.variance_materiality,
        name="variance_materiality",
    ),
    path(
        "f/<slug:firm_slug>/settings/narratives/",
        views_variance.narrative_provider_settings,
        name="narrative_provider_settings",
    ),
]

# Forecast drafts: the drafts and the run that makes them, a draft and its lines, accuracy, policy.
_ORG = "f/<slug:firm_slug>/clients/<int:organisation_id>/drafts/"
_DRAFT = _ORG + "<int:draft_id>/"
_LINE = _DRAFT + "lines/<int:line_id>/"
urlpatterns += [
    path(_ORG, views_drafts.draft_list_view, name="draft_list"),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/drafts.csv",
        exports_drafts.draft_list_csv,
        name="draft_list_csv",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/forecasts/accuracy.csv",
        exports_drafts.forecast_accuracy_csv,
        name="forecast_accuracy_csv",
    ),
    path(_ORG + "create/", views_drafts.draft_create, name="draft_create"),
    path(
        _ORG + "runs/<int:forecast_run_id>/",
        views_drafts.forecast_run_status,
        name="forecast_run_status",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/forecasts/accuracy/",
        views_drafts.forecast_accuracy_view,
        name="forecast_accuracy",
    ),
    path(_ORG + "policy/", views_drafts.budget_policy_edit, name="budget_policy_edit"),
    path(
        _ORG + "policy/restore/",
        views_audit.budget_policy_restore_view,
        name="budget_policy_restore",
    ),
    path(_DRAFT, views_drafts.draft_detail, name="draft_detail"),
    path(_DRAFT + "draft.csv", views_drafts.draft_csv, name="draft_csv"),
    path(
        _DRAFT + "sections/accept/",
        views_drafts.draft_section_decide,
        {"decision": "accept"},
        name="draft_section_accept",
    ),
    path(
        _DRAFT + "sections/reset/",
        views_drafts.draft_section_decide,
        {"decision": "reset"},
        name="draft_section_reset",
    ),
    path(_DRAFT + "lines/decide/", views_drafts.draft_lines_decide, name="draft_lines_decide"),
    path(_LINE, views_drafts.draft_line_detail, name="draft_line_detail"),
    path(_LINE + "edit/", views_drafts.draft_line_edit, name="draft_line_edit"),
    path(_LINE + "check/", views_drafts.draft_line_check, name="draft_line_check"),
    path(
        _LINE + "accept/",
        views_drafts.draft_line_decide,
        {"decision": "accept"},
        name="draft_line_accept",
    ),
    path(
        _LINE + "reset/",
        views_drafts.draft_line_decide,
        {"decision": "reset"},
        name="draft_line_reset",
    ),
]

# Publishing to Xero: the Budget Manager import files of an organisation.

_CLIENT = "f/<slug:firm_slug>/clients/<int:organisation_id>/"
urlpatterns += [
    path(
        _CLIENT + "publications.csv",
        views_publishing.budget_publication_list_csv,
        name="budget_publication_list_csv",
    ),
    path(
        _CLIENT + "publications/<int:publication_id>/import.csv",
        views_publishing.budget_publication_download,
        name="budget_publication_download",
    ),
    path(
        _CLIENT + "publications/<int:publication_id>/rollback/",
        views_publishing.budget_publication_rollback_view,
        name="budget_publication_rollback",
    ),
]

# The audit log of an organisation, and its CSV.

urlpatterns += [
    path(_CLIENT + "audit/", views_audit.audit_log, name="audit_log"),
    path(_CLIENT + "audit.csv", views_audit.audit_log_csv, name="audit_log_csv"),
    path(
        _CLIENT + "drafts/<int:draft_id>/audit/",
        views_audit.audit_log,
        name="draft_audit_log",
    ),
    path(
        _CLIENT + "drafts/<int:draft_id>/audit.csv",
        views_audit.audit_log_csv,
        name="draft_audit_log_csv",
    ),
]

# Approvals: submit, the timeline and decisions on the screen; the emailed sign-off link.

_APPROVAL = _CLIENT + "drafts/<int:draft_id>/approval/"
urlpatterns += [
    path(_APPROVAL, views_approvals.draft_approval, name="draft_approval"),
    path(
        _APPROVAL + "timeline.csv", exports_approvals.draft_approval_csv, name="draft_approval_csv"
    ),
    path(_APPROVAL + "submit/", views_approvals.draft_submit, name="draft_submit"),
    path(
        _APPROVAL + "decide/",
        views_approvals.draft_approval_decide,
        name="draft_approval_decide",
    ),
    path(_APPROVAL + "publish/", views_publishing.draft_publish_view, name="draft_publish"),
    path(
        _APPROVAL + "forecast-budget/",
        views_publishing.forecast_budget_choose_view,
        name="forecast_budget_choose",
    ),
    path(
        _APPROVAL + "replace-original/",
        views_publishing.replace_original_view,
        name="replace_original",
    ),
    path(_APPROVAL + "restore/", views_audit.draft_restore_view, name="draft_restore"),
    path(
        _CLIENT + "approval-chain/restore/",
        views_audit.approval_chain_restore_view,
        name="approval_chain_restore",
    ),
    path(
        _CLIENT + "approval-chain/",
        views_approvals.approval_chain_edit,
        name="approval_chain_edit",
    ),
    path(
        "approvals/digest/unsubscribe/<str:token>/",
        views_approvals.approval_digest_unsubscribe,
        name="approval_digest_unsubscribe",
    ),
    path("approvals/<str:token>/", views_approvals.approval_link, name="approval_link"),
]

# Drafts by department: assignments, the gap and its explanations, a manager's page and link.

_DEPARTMENTS = _CLIENT + "drafts/<int:draft_id>/departments/"
urlpatterns += [
    path(_DEPARTMENTS, views_departments.draft_departments, name="draft_departments"),
    path(_DEPARTMENTS + "assign/", views_departments.department_assign, name="department_assign"),
    path(
        _DEPARTMENTS + "gaps/<int:account_id>/",
        views_departments.department_gap_explain,
        name="department_gap_explain",
    ),
    path(
        _DEPARTMENTS + "<int:assignment_id>/",
        views_departments.department_detail,
        name="department_detail",
    ),
    path(
        _DEPARTMENTS + "<int:assignment_id>/withdraw/",
        views_departments.department_withdraw,
        name="department_withdraw",
    ),
    path(
        _DEPARTMENTS + "<int:assignment_id>/reopen/",
        views_departments.department_reopen,
        name="department_reopen",
    ),
    path(
        _DEPARTMENTS + "<int:assignment_id>/resend/",
        views_departments.department_resend,
        name="department_resend",
    ),
    path("departments/<str:token>/", views_departments.department_link, name="department_link"),
]

# Report packs: an organisation's packs, building and sending one, its schedule; the firm's branding.

urlpatterns += [
    path(_CLIENT + "packs/", views_packs.report_pack_list_view, name="report_pack_list"),
    path(_CLIENT + "packs.csv", views_packs.report_pack_list_csv, name="report_pack_list_csv"),
    path(_CLIENT + "packs/build/", views_packs.report_pack_build_view, name="report_pack_build"),
    path(_CLIENT + "packs/schedule/", views_packs.pack_schedule_edit, name="pack_schedule_edit"),
    path(
        _CLIENT + "packs/<int:pack_id>/pack.pdf",
        views_packs.report_pack_download,
        name="report_pack_download",
    ),
    path(
        _CLIENT + "packs/<int:pack_id>/send/",
        views_packs.report_pack_send_view,
        name="report_pack_send",
    ),
    path(
        "f/<slug:firm_slug>/settings/pack-branding/",
        views_packs.pack_branding_edit,
        name="pack_branding_edit",
    ),
    path(
        "f/<slug:firm_slug>/settings/pack-branding/logo.png",
        views_packs.pack_branding_logo,
        name="pack_branding_logo",
    ),
]

# Annual drafts: next financial year's budget from the history (reviewed as any draft).
urlpatterns += [
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/next-year/",
        views_annual.annual_draft_new,
        name="annual_draft_new",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/next-year/draft/",
        views_annual.annual_draft_create,
        name="annual_draft_create",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/drafts/<int:draft_id>/"
        "tendencies/<int:flag_id>/apply/",
        views_annual.annual_tendency_apply,
        name="annual_tendency_apply",
    ),
]

# Scenarios: what-if copies of a budget, draft or forecast; side by side; into a draft.
urlpatterns += [
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/sales-pipeline/",
        views_deals.sales_pipeline_view,
        name="sales_pipeline",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/sales-pipeline/upload/",
        views_deals.sales_pipeline_upload,
        name="sales_pipeline_upload",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/sales-pipeline/sample.csv",
        views_deals.sales_pipeline_sample,
        name="sales_pipeline_sample",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/sales-pipeline/<int:upload_id>/",
        views_deals.sales_pipeline_version,
        name="sales_pipeline_version",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/scenarios/",
        views_scenarios.scenario_list_view,
        name="scenario_list",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/scenarios/new/",
        views_scenarios.scenario_create_view,
        name="scenario_create",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/scenarios/compare/",
        views_scenarios.scenario_compare_view,
        name="scenario_compare",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/scenarios/compare.csv",
        views_scenarios.scenario_compare_csv,
        name="scenario_compare_csv",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/scenarios/compare.xlsx",
        views_scenarios.scenario_compare_xlsx,
        name="scenario_compare_xlsx",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/scenarios/accounts/",
        views_scenarios.scenario_account_search,
        name="scenario_account_search",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/scenarios/<int:scenario_id>/",
        views_scenarios.scenario_detail,
        name="scenario_detail",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/scenarios/<int:scenario_id>/sentence/",
        views_scenarios.scenario_sentence,
        name="scenario_sentence",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/scenarios/<int:scenario_id>/adjustments/",
        views_scenarios.scenario_adjustment_add,
        name="scenario_adjustment_add",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/scenarios/<int:scenario_id>/"
        "adjustments/<int:adjustment_id>/remove/",
        views_scenarios.scenario_adjustment_remove,
        name="scenario_adjustment_remove",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/scenarios/<int:scenario_id>/draft/",
        views_scenarios.scenario_draft_create_view,
        name="scenario_draft_create",
    ),
]

# Alerts between closes: the alerts with the month to date, acknowledging and snoozing, the CSV
# of what was sent to whom, and the rules.
urlpatterns += [
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/alerts/",
        views_alerts.alert_list,
        name="alert_list",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/alerts.csv",
        views_alerts.alert_list_csv,
        name="alert_list_csv",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/alerts/<int:alert_id>/acknowledge/",
        views_alerts.alert_acknowledge,
        name="alert_acknowledge",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/alerts/<int:alert_id>/snooze/",
        views_alerts.alert_snooze,
        name="alert_snooze",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/alerts/rules/",
        views_alerts.alert_rules,
        name="alert_rules",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/alerts/rules/<int:rule_id>/",
        views_alerts.alert_rule_edit,
        name="alert_rule_edit",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/alerts/rules/<int:rule_id>/delete/",
        views_alerts.alert_rule_delete,
        name="alert_rule_delete",
    ),
]

# Client groups (budgeting/groups/views.py).
urlpatterns += [
    path("f/<slug:firm_slug>/groups/", views_groups.group_list_view, name="group_list"),
    path("f/<slug:firm_slug>/groups/new/", views_groups.group_create_view, name="group_create"),
    path(
        "f/<slug:firm_slug>/groups/<int:group_id>/",
        views_groups.group_report,
        name="group_report",
    ),
    path(
        "f/<slug:firm_slug>/groups/<int:group_id>/report.csv",
        views_groups.group_report_csv,
        name="group_report_csv",
    ),
    path(
        "f/<slug:firm_slug>/groups/<int:group_id>/edit/",
        views_groups.group_edit_view,
        name="group_edit",
    ),
    path(
        "f/<slug:firm_slug>/groups/<int:group_id>/delete/",
        views_groups.group_delete_view,
        name="group_delete",
    ),
    path(
        "f/<slug:firm_slug>/groups/<int:group_id>/members/<int:organisation_id>/",
        views_groups.group_member_view,
        name="group_member",
    ),
    path(
        "f/<slug:firm_slug>/groups/<int:group_id>/rates/",
        views_groups.group_rates_view,
        name="group_rates",
    ),
    path(
        "f/<slug:firm_slug>/groups/<int:group_id>/rates/add/",
        views_groups.group_rate_add,
        name="group_rate_add",
    ),
    path(
        "f/<slug:firm_slug>/groups/<int:group_id>/rates/import/",
        views_groups.group_rates_import,
        name="group_rates_import",
    ),
    path(
        "f/<slug:firm_slug>/groups/<int:group_id>/rates.csv",
        views_groups.group_rates_csv,
        name="group_rates_csv",
    ),
    path(
        "f/<slug:firm_slug>/groups/<int:group_id>/rates/<int:rate_id>/remove/",
        views_groups.group_rate_remove,
        name="group_rate_remove",
    ),
    path(
        "f/<slug:firm_slug>/groups/<int:group_id>/pairs/",
        views_groups.group_mappings_view,
        name="group_mappings",
    ),
    path(
        "f/<slug:firm_slug>/groups/<int:group_id>/pairs/add/",
        views_groups.group_mapping_add,
        name="group_mapping_add",
    ),
    path(
        "f/<slug:firm_slug>/groups/<int:group_id>/pairs/<int:mapping_id>/remove/",
        views_groups.group_mapping_remove,
        name="group_mapping_remove",
    ),
]

# Cash: closing cash per month, actual and projected, its CSV and the threshold.
urlpatterns += [
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/cash/",
        views_cash.cash_view,
        name="cash_view",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/cash.csv",
        views_cash.cash_view_csv,
        name="cash_view_csv",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/cash/threshold/",
        views_cash.cash_threshold_edit,
        name="cash_threshold_edit",
    ),
]
