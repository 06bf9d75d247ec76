"""Writes for cash: the threshold a firm sets per organisation (history kept, with who set it)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from budgeting.cash.models import CashSetting
from budgeting.cash.selectors import cash_setting_get
from core.history import history_note
from core.money import amount_in
from core.tasks import enqueue
from tenants.models import ClientOrganisation, Firm, User

# The largest threshold a MONEY field holds.
THRESHOLD_MAX = Decimal("99999999999999.99")


class CashSettingInvalid(Exception):
    pass


def cash_threshold_set(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    threshold: Decimal | None,
    user: User | None,
) -> CashSetting:
    """Set (or clear, with None) the closing cash the organisation should stay above."""
    if organisation.firm_id != firm.pk:
        raise CashSettingInvalid("That organisation is not one of this firm's.")
    if threshold is not None:
        if not threshold.is_finite() or abs(threshold) > THRESHOLD_MAX:
            raise CashSettingInvalid("Enter an amount of at most 14 digits before the point.")
        if threshold != threshold.quantize(Decimal("0.01")):
            raise CashSettingInvalid("Enter the threshold to the cent at most.")
    with transaction.atomic():
        setting = cash_setting_get(firm=firm, organisation=organisation)
        if setting.pk is not None and setting.threshold == threshold:
            return setting
        setting.threshold = threshold
        setting.updated_by = user
        setting.updated_at = timezone.now()
        words = (
            f"Cash threshold set to {amount_in(threshold, organisation.base_currency)}"
            if threshold is not None
            else "Cash threshold cleared"
        )
        history_note(setting, reason=words, user=user)
        setting.save()
        if threshold is not None:
            # The cash alert rules, against the new threshold, once this commits.
            enqueue("budgeting.tasks.cash_alerts_evaluate_task", firm.pk, organisation.pk)
    return setting
