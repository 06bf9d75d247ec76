from django.conf import settings
from django.urls import path

from integrations import views
from integrations.slack import views as slack_views

urlpatterns = [
    path("integrations/xero/callback/", views.xero_callback, name="xero_callback"),
    path("integrations/xero/webhooks/", views.xero_webhook, name="xero_webhook"),
    path("f/<slug:firm_slug>/xero/connect/", views.xero_connect, name="xero_connect"),
    path(
        "f/<slug:firm_slug>/xero/connections/<int:connection_id>/",
        views.xero_connection_link,
        name="xero_connection_link",
    ),
    path(
        "f/<slug:firm_slug>/xero/connections/<int:connection_id>/disconnect/",
        views.xero_connection_disconnect,
        name="xero_connection_disconnect",
    ),
    # The Slack app's Request URL (Interactivity & Shortcuts): clicks on our messages' buttons.
    path(
        "integrations/slack/interactions/",
        slack_views.slack_interactions,
        name="slack_interactions",
    ),
    path("f/<slug:firm_slug>/settings/slack/", slack_views.slack_settings, name="slack_settings"),
    path("f/<slug:firm_slug>/settings/slack/test/", slack_views.slack_test, name="slack_test"),
    path(
        "f/<slug:firm_slug>/settings/slack/members/lookup/",
        slack_views.slack_members_lookup,
        name="slack_members_lookup",
    ),
    path(
        "f/<slug:firm_slug>/settings/slack/members/",
        slack_views.slack_member_set,
        name="slack_member_set",
    ),
    path(
        "f/<slug:firm_slug>/settings/slack/messages/<int:message_id>/resend/",
        slack_views.slack_message_resend,
        name="slack_message_resend",
    ),
]

if settings.XERO_TRANSPORT == "inprocess":
    from integrations.xero.sandbox_mount import sandbox_proxy

    urlpatterns.append(path("xero-sandbox/<path:path>", sandbox_proxy, name="xero_sandbox"))

if settings.SLACK_TRANSPORT == "inprocess":
    from integrations.slack import demo as slack_demo

    urlpatterns += [
        path("slack-imitation/", slack_demo.slack_imitation_page, name="slack_imitation_page"),
        path(
            "slack-imitation/click/",
            slack_demo.slack_imitation_click,
            name="slack_imitation_click",
        ),
    ]
