from django.conf import settings
from django.urls import path

from integrations import views

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
]

if settings.XERO_TRANSPORT == "inprocess":
    from integrations.xero.sandbox_mount import sandbox_proxy

    urlpatterns.append(path("xero-sandbox/<path:path>", sandbox_proxy, name="xero_sandbox"))
