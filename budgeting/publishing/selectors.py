"""Reads for publishing: an organisation's publishing setting and its forecast budgets."""

from __future__ import annotations

from dataclasses import dataclass

from budgeting.drafts.models import Draft, DraftLine
from budgeting.ledger.models import Budget, TrackingOption
from budgeting.publishing.models import BudgetPublication, ForecastBudget, PublishingSetting
from tenants.models import ClientOrganisation, Firm

# The name the app suggests for the forecast budget a person adds in Xero's Budget Manager.
FORECAST_BUDGET_NAME = "Rolling Forecast"

# Why a draft gets the extra approval step while "replace the original" is on (the step's
# reasons; publishing a draft into the original needs that step approved).
REPLACE_ORIGINAL_REASON = (
    "Replace the original is on: the import files replace the original budget's figures"
)


def forecast_budget_suggested_name(*, original: Budget) -> str:
    """ "Rolling Forecast" beside the Overall Budget; "Rolling Forecast: North" beside the North
    option's budget (a tracking budget is for one option, so its forecast is too)."""
    options = [o for o in (original.tracking_option, original.tracking_option_2) if o is not None]
    if not options:
        return FORECAST_BUDGET_NAME
    return f"{FORECAST_BUDGET_NAME}: {' / '.join(o.name for o in options)}"


# The budget an annual draft goes into, named for its year: a new budget a person adds in
# Budget Manager, never one the client already has.
ANNUAL_BUDGET_NAME = "{organisation} budget FY{year} (Ledgerline)"
# An annual budget stands beside no original: in place of the original's Xero id, the key of
# its year and tracking option (never a Xero id, so no synced budget is taken for it).
# BudgetPublication.is_new_budget knows a new year's file by its "annual:" start.
ANNUAL_BUDGET_KEY = "annual:FY{year}:{option}"


def annual_budget_suggested_name(
    *, organisation: ClientOrganisation, financial_year: int, option: TrackingOption | None
) -> str:
    """ "Harbour Lane Café budget FY2028 (Ledgerline)"; ": North" after it for a tracking
    option's budget."""
    name = ANNUAL_BUDGET_NAME.format(organisation=organisation.name, year=financial_year)
    return f"{name}: {option.name}" if option is not None else name


def annual_budget_key(*, financial_year: int, option: TrackingOption | None) -> str:
    return ANNUAL_BUDGET_KEY.format(
        year=financial_year, option=option.option_id if option is not None else "overall"
    )


def annual_budget_tracking_words(*, firm: Firm, forecast: ForecastBudget) -> str:
    """The tracking to choose when adding a year's new budget: none for the whole business's,
    the option named in its key for a tracking option's."""
    option_id = forecast.original_xero_budget_id.rsplit(":", 1)[-1]
    option = (
        TrackingOption.objects.for_firm(firm)
        .filter(organisation_id=forecast.organisation_id, option_id=option_id)
        .select_related("category")
        .first()
    )
    if option is None:
        return "no tracking (the whole business, like the Overall Budget)"
    return f"{option.category.name}: {option.name}"


def original_tracking_words(*, original: Budget | None) -> str:
    """The tracking to choose in "Add budget", in words."""
    if original is None:
        return "the same tracking as the original budget"
    options = [o for o in (original.tracking_option, original.tracking_option_2) if o is not None]
    if not options:
        return "no tracking (the whole business, like the Overall Budget)"
    return ", ".join(f"{o.category.name}: {o.name}" for o in options)


def publishing_setting_get(*, firm: Firm, organisation: ClientOrganisation) -> PublishingSetting:
    """The organisation's setting, or the default (keep the original) when none was saved."""
    setting = PublishingSetting.objects.for_firm(firm).filter(organisation=organisation).first()
    return setting or PublishingSetting(firm=firm, organisation=organisation)


def forecast_budgets(*, firm: Firm, organisation: ClientOrganisation) -> list[ForecastBudget]:
    return list(
        ForecastBudget.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related(
            "budget",
            "original",
            "original__tracking_option__category",
            "original__tracking_option_2__category",
        )
    )


def forecast_budget_candidates(*, firm: Firm, forecast: ForecastBudget) -> list[Budget]:
    """The synced budgets a person may pick as the forecast budget: not the Overall Budget, not
    a budget some forecast stands beside, and with the original's tracking."""
    originals = ForecastBudget.objects.for_firm(firm).filter(
        organisation_id=forecast.organisation_id
    )
    budgets = (
        Budget.objects.for_firm(firm)
        .filter(organisation_id=forecast.organisation_id, type=Budget.Type.TRACKING)
        .exclude(budget_id__in=originals.values("original_xero_budget_id"))
    )
    original = forecast.original
    if original is not None:
        budgets = budgets.filter(
            tracking_option_id=original.tracking_option_id,
            tracking_option_2_id=original.tracking_option_2_id,
        )
    return list(budgets.order_by("description", "budget_id"))


@dataclass(frozen=True)
class ForecastTarget:
    """One original budget a draft changes, and where its forecast goes in Xero."""

    original: Budget
    name: str  # the forecast budget's name in Xero, suggested or as found
    forecast: ForecastBudget | None  # None until the first publish
    budget: Budget | None  # the forecast budget as synced; None until it is in Xero
    tracking_words: str
    candidates: list[Budget]


def draft_forecast_targets(*, firm: Firm, draft: Draft) -> list[ForecastTarget]:
    """The original budgets a draft stands beside (the overall budget, and the tracking budgets
    of its tracking lines), each with its forecast budget: what to add in Xero, or what was
    found there."""
    originals: dict[int, Budget] = {}
    if draft.original_budget_id:
        originals[draft.original_budget_id] = draft.original_budget
    for line in (
        DraftLine.objects.for_firm(firm)
        .filter(draft=draft, original_budget__isnull=False, tracking_option__isnull=False)
        .select_related("original_budget")
    ):
        originals.setdefault(line.original_budget_id, line.original_budget)
    existing = {
        f.original_xero_budget_id: f
        for f in forecast_budgets(firm=firm, organisation=draft.organisation)
    }
    targets = []
    for original in sorted(originals.values(), key=lambda b: (b.type, str(b))):
        forecast = existing.get(original.budget_id)
        targets.append(
            ForecastTarget(
                original=original,
                name=str(forecast.budget)
                if forecast and forecast.budget
                else (
                    forecast.name if forecast else forecast_budget_suggested_name(original=original)
                ),
                forecast=forecast,
                budget=forecast.budget if forecast else None,
                tracking_words=original_tracking_words(original=original),
                candidates=(
                    forecast_budget_candidates(firm=firm, forecast=forecast)
                    if forecast is not None and forecast.budget_id is None
                    else []
                ),
            )
        )
    return targets


def forecast_budget_synced(
    *, firm: Firm, organisation: ClientOrganisation, original: Budget
) -> Budget | None:
    """The forecast budget beside `original` as synced, once found in Xero; None before. The
    variance report compares actuals with it (budgeting.variance.comparisons)."""
    forecast = (
        ForecastBudget.objects.for_firm(firm)
        .filter(organisation=organisation, original_xero_budget_id=original.budget_id)
        .select_related("budget")
        .first()
    )
    return forecast.budget if forecast is not None else None


def budget_publication_rollback_choices(
    *, firm: Firm, publication: BudgetPublication
) -> list[BudgetPublication]:
    """The earlier revisions a published file can be rolled back to: the files Xero held
    (verified) for the same budget before it, newest first. The figures before the first file
    are always a choice too (`to` None in the rollback)."""
    return list(
        BudgetPublication.objects.for_firm(firm)
        .filter(
            organisation_id=publication.organisation_id,
            replaces_original=publication.replaces_original,
            original_xero_budget_id=publication.original_xero_budget_id,
            status=BudgetPublication.Status.VERIFIED,
            created_at__lt=publication.created_at,
        )
        .exclude(pk=publication.pk)
        .order_by("-created_at", "-pk")
    )


def organisation_publications(
    *, firm: Firm, organisation: ClientOrganisation
) -> list[BudgetPublication]:
    """An organisation's import files, newest first, with the rollbacks made of each."""
    return list(
        BudgetPublication.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related("draft")
        .order_by("-created_at", "-pk")
    )
