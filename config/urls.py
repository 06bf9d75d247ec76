from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from tenants import views as tenant_views


class FaviconRedirect(RedirectView):
    # Resolved per request: the hashed name of a manifest storage exists only after collectstatic.
    permanent = True

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("favicon.svg")


# Staff sign in to the admin through the app's own sign-in (allauth): its rate limits and its
# second factor, not the admin's own password-only form (ASVS 4.3.1, docs/security.md).
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", tenant_views.home, name="home"),
    # Browsers ask for /favicon.ico on pages without a <link rel="icon"> (the API's JSON, files).
    path("favicon.ico", FaviconRedirect.as_view()),
    path("accounts/", include("allauth.urls")),
    path("staff/", admin.site.urls),
    path("", include("tenants.urls")),
    path("", include("config.api_urls")),
    path("", include("integrations.urls")),
    path("", include("budgeting.urls")),
]
