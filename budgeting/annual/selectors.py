"""Reads for annual drafts: which financial years can be drafted, the current draft of a year,
the flags of a draft and of a line, and the firm's past decisions on the same client.

Every function takes the firm explicitly; the past decisions are read for one organisation
only (Xero's terms forbid pooling one client's data into another's model).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, Sum, Value
from django.db.models.functions import Coalesce

from budgeting.annual.maths import decision_percent
from budgeting.annual.models import AnnualDraft, AnnualLineFlag
from budgeting.drafts.models import Draft, DraftLine
from budgeting.drafts.selectors import forecast_last_closed
from budgeting.forecasting.engine import MAX_HORIZON
from budgeting.ledger.models import XeroOrganisation
from core.months import add_months
from tenants.models import ClientOrganisation, Firm
from tenants.scoping import client_organisation_get_or_404, get_firm_object_or_404

# Drafts whose figures were decided by the approval chain: their edits are the firm's
# decisions. Drafts of figures someone chose elsewhere (scenarios, rollbacks) are not
# suggestions a person corrected.
DECIDED = (
    Draft.Status.APPROVED,
    Draft.Status.AWAITING_FORECAST,
    Draft.Status.AWAITING_IMPORT,
    Draft.Status.PUBLISHED,
    Draft.Status.MISMATCH,
)
SUGGESTED_SOURCES = (Draft.Source.CLOSE, Draft.Source.MANUAL, Draft.Source.ANNUAL)


@dataclass(frozen=True)
class FinancialYear:
    """A financial year by the calendar year it ends in: FY2028 ends in 2028."""

    year: int
    end_month: int

    @property
    def last_period(self) -> dt.date:
        return dt.date(self.year, self.end_month, 1)

    @property
    def first_period(self) -> dt.date:
        return add_months(self.last_period, -11)

    @property
    def months(self) -> list[dt.date]:
        return [add_months(self.first_period, i) for i in range(12)]

    @property
    def label(self) -> str:
        return f"FY{self.year}"

    @property
    def words(self) -> str:
        return f"FY{self.year} ({self.first_period:%B %Y} to {self.last_period:%B %Y})"


def financial_year_of(period: dt.date, *, end_month: int) -> FinancialYear:
    return FinancialYear(period.year if period.month <= end_month else period.year + 1, end_month)


@dataclass(frozen=True)
class DraftableYears:
    profile: XeroOrganisation | None
    last_closed: dt.date | None
    years: list[FinancialYear]

    @property
    def default(self) -> FinancialYear | None:
        return self.years[0] if self.years else None

    def get(self, year: int) -> FinancialYear | None:
        return next((y for y in self.years if y.year == year), None)


def annual_years(*, firm: Firm, organisation: ClientOrganisation) -> DraftableYears:
    """The financial years an annual draft can cover: still wholly to come (each month after the
    last close) and within the engine's reach; the first is the next financial year."""
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    last_closed = forecast_last_closed(profile)
    if profile is None or last_closed is None:
        return DraftableYears(profile, last_closed, [])
    end_month = profile.financial_year_end_month
    year = financial_year_of(add_months(last_closed, 1), end_month=end_month)
    if year.first_period <= last_closed:
        year = FinancialYear(year.year + 1, end_month)
    years = []
    while add_months(last_closed, MAX_HORIZON) >= year.last_period:
        years.append(year)
        year = FinancialYear(year.year + 1, end_month)
    return DraftableYears(profile, last_closed, years)


def annual_lines_to_draft(
    *, firm: Firm, organisation: ClientOrganisation, last_closed: dt.date
) -> int:
    """How many lines (account, tracking option) have an actual in the history a draft reads:
    one query, to choose between drafting now and in the background."""
    from budgeting.drafts.selectors import HISTORY_MONTHS
    from budgeting.ledger.models import ActualBalance

    return (
        ActualBalance.objects.for_firm(firm)
        .filter(
            organisation=organisation,
            period__gt=add_months(last_closed, -HISTORY_MONTHS),
            period__lte=last_closed,
        )
        .exclude(amount=0)
        .values("account_id", "tracking_option_id")
        .distinct()
        .count()
    )


def annual_draft_current(
    *, firm: Firm, organisation: ClientOrganisation, financial_year: int
) -> AnnualDraft | None:
    return (
        AnnualDraft.objects.for_firm(firm)
        .filter(
            organisation=organisation, financial_year=financial_year, superseded_at__isnull=True
        )
        .select_related("draft")
        .first()
    )


def annual_drafts(*, firm: Firm, organisation: ClientOrganisation) -> list[AnnualDraft]:
    return list(
        AnnualDraft.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related("draft", "created_by")
        .order_by("-financial_year", "-created_at")
    )


def annual_draft_get_or_404(
    *, firm: Firm, organisation_id: object, draft_id: object
) -> tuple[ClientOrganisation, AnnualDraft]:
    organisation = client_organisation_get_or_404(firm=firm, organisation_id=organisation_id)
    annual = get_firm_object_or_404(
        AnnualDraft, firm=firm, draft_id=draft_id, organisation=organisation
    )
    return organisation, annual


def annual_of_draft(*, firm: Firm, draft: Draft) -> AnnualDraft | None:
    return AnnualDraft.objects.for_firm(firm).filter(draft=draft).first()


@dataclass(frozen=True)
class AnnualCounts:
    lines: int
    flagged_lines: int
    flags: int


def annual_counts(*, firm: Firm, annual: AnnualDraft) -> AnnualCounts:
    """How many lines the draft has, how many are flagged, and its flags."""
    flags = AnnualLineFlag.objects.for_firm(firm).filter(annual=annual)
    return AnnualCounts(
        lines=DraftLine.objects.for_firm(firm).filter(draft_id=annual.draft_id).count(),
        flagged_lines=flags.values("line_id").distinct().count(),
        flags=flags.count(),
    )


def annual_flags(*, firm: Firm, draft: Draft) -> list[AnnualLineFlag]:
    """The flags of a draft's lines, by line (tracking option, section, account) then kind."""
    return list(
        AnnualLineFlag.objects.for_firm(firm)
        .filter(annual__draft=draft)
        .select_related("line__account", "line__tracking_option", "applied_by")
        .order_by(
            "line__tracking_option__name",
            "line__section",
            "line__account__code",
            "kind",
        )
    )


def annual_line_flags(*, firm: Firm, line: DraftLine) -> list[AnnualLineFlag]:
    return list(
        AnnualLineFlag.objects.for_firm(firm)
        .filter(line=line)
        .select_related("applied_by")
        .order_by("kind")
    )


def annual_line_marks(*, firm: Firm, line: DraftLine) -> dict[dt.date, str]:
    """{month: why} of a line's flagged months, for its chart."""
    marks: dict[dt.date, list[str]] = defaultdict(list)
    for flag in annual_line_flags(firm=firm, line=line):
        for month in flag.months:
            marks[dt.date.fromisoformat(month)].append(flag.get_kind_display().lower())
    return {month: ", ".join(kinds).capitalize() for month, kinds in marks.items()}


LineKey = tuple[int, int | None]


def decision_changes(
    *, firm: Firm, organisation: ClientOrganisation, exclude_draft_id: int | None = None
) -> dict[LineKey, list[float]]:
    """For each line (account, tracking option) of the organisation's decided drafts: how far
    the decided figures moved the suggestion, in percent of it, newest draft first. One query:
    each line's suggested and decided totals summed in the database."""
    zero = Value(Decimal(0), output_field=DecimalField(max_digits=16, decimal_places=2))
    rows = (
        DraftLine.objects.for_firm(firm)
        .filter(
            organisation=organisation,
            draft__status__in=DECIDED,
            draft__source__in=SUGGESTED_SOURCES,
        )
        .exclude(draft_id=exclude_draft_id)
        .values("account_id", "tracking_option_id", "draft__created_at", "draft_id")
        .annotate(
            suggested=Coalesce(Sum("balances__suggested_amount"), zero),
            decided=Coalesce(
                Sum(Coalesce("balances__edited_amount", "balances__suggested_amount")), zero
            ),
        )
        .order_by("-draft__created_at", "-draft_id")
    )
    changes: dict[LineKey, list[float]] = defaultdict(list)
    for row in rows:
        change = decision_percent(suggested=float(row["suggested"]), decided=float(row["decided"]))
        if change is not None:
            changes[(row["account_id"], row["tracking_option_id"])].append(change)
    return dict(changes)
