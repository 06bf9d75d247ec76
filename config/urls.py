from django.contrib import admin
from django.urls import include, path

from tenants import views as tenant_views

urlpatterns = [
    path("", tenant_views.home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("staff/", admin.site.urls),
    path("", include("tenants.urls")),
    path("", include("config.api_urls")),
    path("", include("integrations.urls")),
    path("", include("budgeting.urls")),
]
