"""The default manager of every firm-owned model.

It fails closed (django-scopes): a query with no firm in scope raises ScopeError instead of
returning every firm's rows. Code that knows its firm asks for it explicitly with
`Model.objects.for_firm(firm)`; request handlers get the firm in scope from `firm_view`.
"""

from django.db import models
from django_scopes import ScopedManager
from django_scopes.exceptions import ScopeError


class _FirmManager(models.Manager):
    def for_firm(self, firm) -> models.QuerySet:
        # django-scopes treats a None scope value as "no filter"; refuse it rather than leak.
        if firm is None or getattr(firm, "pk", None) is None:
            raise ScopeError("A firm is required to query firm-owned data.")
        return self.with_scope(firm=firm).get_queryset()


def FirmScopedManager() -> models.Manager:
    return ScopedManager(_manager_class=_FirmManager, firm="firm")
