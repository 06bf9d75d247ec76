"""Django admin for staff. Admin is deliberately unscoped: staff see every firm.

Each admin class below opts out of the firm scope explicitly through UnscopedAdmin; a firm-owned
model registered without it would raise ScopeError on its changelist, which is the point.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django_scopes import scopes_disabled
from simple_history.admin import SimpleHistoryAdmin

from tenants.models import (
    ApiKey,
    ClientOrganisation,
    Firm,
    Invitation,
    Membership,
    SecurityEvent,
    User,
)


class UnscopedAdmin(SimpleHistoryAdmin):
    """Staff-only, cross-firm access, made explicit."""

    def get_queryset(self, request):
        return self.model.objects.with_scopes_disabled().all()

    def changeform_view(self, *args, **kwargs):
        with scopes_disabled():
            return super().changeform_view(*args, **kwargs)

    def changelist_view(self, *args, **kwargs):
        with scopes_disabled():
            return super().changelist_view(*args, **kwargs)

    def delete_view(self, *args, **kwargs):
        with scopes_disabled():
            return super().delete_view(*args, **kwargs)

    def history_view(self, *args, **kwargs):
        with scopes_disabled():
            return super().history_view(*args, **kwargs)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("full_name", "timezone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Firm)
class FirmAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "require_mfa", "created_at"]
    search_fields = ["name", "slug"]


@admin.register(Membership)
class MembershipAdmin(UnscopedAdmin):
    list_display = ["user", "firm", "role"]
    list_filter = ["role"]


@admin.register(Invitation)
class InvitationAdmin(UnscopedAdmin):
    list_display = ["email", "firm", "role", "expires_at", "accepted_at"]
    exclude = ["token_hash"]


@admin.register(ClientOrganisation)
class ClientOrganisationAdmin(UnscopedAdmin):
    list_display = ["name", "firm", "base_currency"]
    search_fields = ["name"]


@admin.register(ApiKey)
class ApiKeyAdmin(UnscopedAdmin):
    list_display = ["name", "prefix", "firm", "scopes", "last_used_at", "revoked_at"]
    search_fields = ["name", "prefix"]
    # Keys are made and revoked by the firm in its screens; staff only look.
    fields = readonly_fields = [
        f.name for f in ApiKey._meta.fields if f.name not in ("id", "key_hash")
    ]


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only, for staff too (no add, change or delete)."""

    list_display = ["created_at", "firm", "kind", "actor_email", "ip", "detail"]
    list_filter = ["kind"]
    search_fields = ["actor_email", "detail", "firm__name"]

    def get_queryset(self, request):
        return self.model.objects.with_scopes_disabled().select_related("firm")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changeform_view(self, *args, **kwargs):
        with scopes_disabled():
            return super().changeform_view(*args, **kwargs)

    def changelist_view(self, *args, **kwargs):
        with scopes_disabled():
            return super().changelist_view(*args, **kwargs)
