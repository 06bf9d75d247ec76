from django.urls import path

from budgeting import views, views_variance

urlpatterns = [
    path("f/<slug:firm_slug>/", views.firm_dashboard, name="firm_dashboard"),
    path("f/<slug:firm_slug>/clients.csv", views.firm_dashboard_csv, name="firm_dashboard_csv"),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/",
        views.organisation_detail,
        name="organisation_detail",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/sync/",
        views.organisation_sync_now,
        name="organisation_sync_now",
    ),
    path(
        "f/<slug:firm_slug>/clients/<int:organisation_id>/sync/status/",
        views.organisation_sync_status,
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
