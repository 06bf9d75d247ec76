"""Alerts between closes: the writes.

1. Changed documents: a webhook's INVOICE and CREDITNOTE events are recorded as pending
   changes (`document_changes_record`), then fetched in batches, one Xero call per batch
   (`document_batches_fetch`: Invoices by `IDs=`, CreditNotes by a `where` of their ids, which
   the API gives them instead), checked to be what was asked for, and stored as the ledger's
   transaction lines. Bank transactions and manual journals have no webhook: they are polled
   with If-Modified-Since (`organisation_poll`). Every call goes through the Xero client and
   its shared rate limiter.
2. The changed accounts are measured (`alerts_evaluate`) against each active rule; a severity
   step passed for the first time this month raises one alert, and its deliveries are queued.
3. Deliveries are sent by channel (budgeting/alerts/delivery.py), after quiet hours and
   snoozes, retried with backoff when the mail server (or Slack) fails.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from budgeting.alerts import maths
from budgeting.alerts.delivery import ChannelNotSetUp, alert_subject, delivery_function
from budgeting.alerts.models import (
    DISCONNECTED_WAIT,
    Alert,
    AlertDelivery,
    AlertPoll,
    AlertRule,
    DocumentBatch,
    DocumentChange,
)
from budgeting.approvals.models import ExternalApprover
from budgeting.cash.selectors import cash_view_load
from budgeting.drafts.models import ForecastRecord
from budgeting.ledger.drivers import (
    PROFIT_AND_LOSS_CLASSES,
    manual_journals_granted,
    transaction_lines_publish,
)
from budgeting.ledger.models import (
    Account,
    BalanceSheetBalance,
    Budget,
    BudgetBalance,
    SyncRun,
    TrackingOption,
    TransactionLine,
    XeroOrganisation,
)
from budgeting.ledger.selectors import profile_month_window
from core.clock import xero_zone
from core.history import history_note
from core.money import amount_in, money
from core.months import add_months, days_in_month
from core.tasks import enqueue
from integrations.models import XeroConnection, XeroTenant, XeroWebhookDelivery
from integrations.xero.client import XeroClient
from integrations.xero.documents import MANUAL_JOURNALS, parse_document_page
from integrations.xero.errors import XeroForbidden, XeroPayloadError
from tenants.models import ClientOrganisation, Firm, Membership, User

logger = logging.getLogger(__name__)

# Ids per call: 100 GUIDs keep the URL well under the 8 KB most servers take.
BATCH_MAX = 100
POLLED_ENDPOINTS = ("BankTransactions", MANUAL_JOURNALS)
# A poll asks from a little before the last one started: Xero's clock and ours differ.
POLL_OVERLAP = dt.timedelta(minutes=2)
DELIVERY_MAX_ATTEMPTS = 8
SNOOZE_MAX = dt.timedelta(days=31)
LIMIT_MAX = Decimal("1000000000000")
SLACK_CHANNEL = re.compile(r"#[a-z0-9][a-z0-9_-]{0,79}")
DRIVERS_SHOWN = 3


# --- 1. Changed documents -----------------------------------------------------------------


def _fetch_flag(organisation_id: int) -> str:
    return f"alerts:fetch-queued:{organisation_id}"


def document_fetch_schedule(*, firm_id: int, organisation_id: int) -> None:
    """Queue a fetch of the organisation's pending changes, unless one is already queued: a
    burst of deliveries queues one fetch at a time, which takes everything pending when it
    starts. The fetch clears the flag before it claims, so a change recorded after its claim
    queues the next fetch. The flag expires, so a lost message holds nothing for long. It is
    kept in the cache: Redis, shared by every worker (cache.add is SET NX); the demo's one
    process keeps it in memory."""
    if cache.add(_fetch_flag(organisation_id), "1", timeout=60):
        enqueue("budgeting.tasks.alerts_documents_fetch_task", firm_id, organisation_id)


def document_fetch_flag_clear(*, organisation_id: int) -> None:
    cache.delete(_fetch_flag(organisation_id))


def document_changes_record(
    *,
    firm_id: int,
    organisation_id: int,
    received_at: dt.datetime,
    changes: list[tuple[str, str]],
) -> int:
    """Record changed documents as pending (one row per document while it waits); the fetch is
    queued once the transaction commits. Returns how many were new."""
    rows = [
        DocumentChange(
            firm_id=firm_id,
            organisation_id=organisation_id,
            endpoint=endpoint,
            document_id=document_id,
            received_at=received_at,
        )
        for endpoint, document_id in changes
    ]
    created = DocumentChange.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(
        lambda: document_fetch_schedule(firm_id=firm_id, organisation_id=organisation_id)
    )
    return len(created)


def _tenant(firm: Firm, organisation: ClientOrganisation) -> XeroTenant:
    return (
        XeroTenant.objects.for_firm(firm)
        .select_related("connection", "firm")
        .get(client_organisation=organisation, status=XeroTenant.Status.CONNECTED)
    )


def _connected(firm: Firm, organisation: ClientOrganisation) -> bool:
    """Whether the organisation's Xero link can be used: its tenant and connection both live."""
    return (
        XeroTenant.objects.for_firm(firm)
        .filter(
            client_organisation=organisation,
            status=XeroTenant.Status.CONNECTED,
            connection__status=XeroConnection.Status.CONNECTED,
        )
        .exists()
    )


def document_changes_give_up(
    *, firm: Firm, organisation: ClientOrganisation
) -> list[DocumentBatch]:
    """Give up the changes that waited longer than DISCONNECTED_WAIT for a lost connection:
    one given-up batch per endpoint, holding its changes, its reason in words. Changes within
    the wait stay pending and are fetched once the organisation is connected again."""
    given_up = []
    cutoff = timezone.now() - DISCONNECTED_WAIT
    with transaction.atomic():
        stale = list(
            DocumentChange.objects.for_firm(firm)
            .select_for_update(skip_locked=True)
            .filter(organisation=organisation, batch__isnull=True, received_at__lt=cutoff)
            .order_by("endpoint", "pk")
        )
        for endpoint in sorted({c.endpoint for c in stale}):
            ids = [c.pk for c in stale if c.endpoint == endpoint]
            batch = DocumentBatch.objects.create(
                firm=firm,
                organisation=organisation,
                source=DocumentBatch.Source.WEBHOOK,
                endpoint=endpoint,
                document_count=len(ids),
                state=DocumentBatch.State.GIVEN_UP,
                error=maths.disconnected_reason(len(ids)),
                finished_at=timezone.now(),
            )
            DocumentChange.objects.for_firm(firm).filter(pk__in=ids).update(batch=batch)
            given_up.append(batch)
    if given_up:
        logger.warning(
            "Alerts: %s changed documents of organisation %s given up, Xero disconnected",
            sum(b.document_count for b in given_up),
            organisation.pk,
        )
    return given_up


def _claim(firm: Firm, organisation: ClientOrganisation, endpoint: str) -> DocumentBatch | None:
    """Take up to BATCH_MAX pending changes of an endpoint into a new batch; skip rows another
    worker holds, so two fetches never take the same change."""
    with transaction.atomic():
        pending = list(
            DocumentChange.objects.for_firm(firm)
            .select_for_update(skip_locked=True)
            .filter(organisation=organisation, endpoint=endpoint, batch__isnull=True)
            .order_by("received_at", "pk")[:BATCH_MAX]
        )
        if not pending:
            return None
        batch = DocumentBatch.objects.create(
            firm=firm,
            organisation=organisation,
            source=DocumentBatch.Source.WEBHOOK,
            endpoint=endpoint,
            document_count=len(pending),
        )
        DocumentChange.objects.for_firm(firm).filter(pk__in=[c.pk for c in pending]).update(
            batch=batch
        )
    return batch


def _document_filter(endpoint: str, ids: list[str]) -> dict[str, object]:
    # Invoices take IDs=; CreditNotes do not (xero_accounting.yaml), but their `where` takes
    # Guid comparisons: the same one call for the whole batch.
    if endpoint == "Invoices":
        return {"IDs": ",".join(ids)}
    return {"where": " OR ".join(f'CreditNoteID==Guid("{i}")' for i in ids)}


def documents_fetch(client: XeroClient, *, endpoint: str, ids: list[str]):
    """The lines of exactly these documents, in one call; anything else is a payload error."""
    params = {"page": 1, "pageSize": BATCH_MAX, **_document_filter(endpoint, ids)}
    body = client.get(endpoint, params=params)
    page = parse_document_page(body, endpoint=endpoint)
    asked = {i.lower() for i in ids}
    got = [i.lower() for i in page.document_ids]
    extra = sorted(set(got) - asked)
    if extra or len(got) != len(set(got)):
        raise XeroPayloadError(
            endpoint, "IDs", f"returned documents that were not asked for: {', '.join(extra)}"
        )
    missing = sorted(asked - set(got))
    return page.lines, missing


def _retention_start(profile: XeroOrganisation | None) -> dt.date:
    window = profile_month_window(profile)
    return add_months(window.open_month, -(settings.XERO_TRANSACTION_MONTHS - 1))


def _lines_store(firm: Firm, organisation: ClientOrganisation, lines) -> set[int]:
    """Store fetched lines as the ledger's transaction lines (the documents' lines replaced);
    returns the pks of the accounts they touched, before and after."""
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    accounts = {
        a.account_id: a for a in Account.objects.for_firm(firm).filter(organisation=organisation)
    }
    options = {
        o.option_id: o
        for o in TrackingOption.objects.for_firm(firm).filter(organisation=organisation)
    }
    stored = TransactionLine.objects.for_firm(firm).filter(
        organisation=organisation, document_id__in={t.document_id for t in lines}
    )
    touched = set(stored.exclude(account=None).values_list("account_id", flat=True))
    touched |= {accounts[t.account_id].pk for t in lines if t.account_id in accounts}
    transaction_lines_publish(
        firm=firm,
        organisation=organisation,
        lines=list(lines),
        since=_retention_start(profile),
        incremental=True,
        accounts=accounts,
        options=options,
    )
    return touched


def document_batches_fetch(
    *, firm: Firm, organisation: ClientOrganisation, client: XeroClient | None = None
) -> list[DocumentBatch]:
    """Fetch every pending change of the organisation, a batch (one call) at a time, store the
    lines and measure the accounts they touched. A failed batch gives its changes back to the
    queue and raises, so the task retries. An organisation whose Xero link is lost fetches
    nothing: its changes wait for a reconnect, or are given up after DISCONNECTED_WAIT."""
    batches = []
    own_client = client is None
    if own_client and not _connected(firm, organisation):
        # Nothing to fetch with: the changes wait for a reconnect, for a bounded time.
        document_changes_give_up(firm=firm, organisation=organisation)
        return batches
    client = client or XeroClient(tenant=_tenant(firm, organisation))
    try:
        for endpoint in ("Invoices", "CreditNotes"):
            while (batch := _claim(firm, organisation, endpoint)) is not None:
                batches.append(batch)
                _batch_run(firm, organisation, client, batch)
    finally:
        if own_client:
            client.close()
    return batches


def _batch_run(
    firm: Firm, organisation: ClientOrganisation, client: XeroClient, batch: DocumentBatch
) -> None:
    changes = DocumentChange.objects.for_firm(firm).filter(batch=batch)
    ids = sorted(set(changes.values_list("document_id", flat=True)))
    received = min(changes.values_list("received_at", flat=True))
    calls_before = client.calls
    try:
        lines, missing = documents_fetch(client, endpoint=batch.endpoint, ids=ids)
        with transaction.atomic():
            touched = _lines_store(firm, organisation, lines)
            alerts = alerts_evaluate(
                firm=firm,
                organisation=organisation,
                account_pks=touched,
                source_received_at=received,
            )
            batch.lines = len(lines)
            batch.alerts_raised = len(alerts)
            batch.error = f"Not returned by Xero: {', '.join(missing)}" if missing else ""
            batch.state = DocumentBatch.State.DONE
            batch.xero_calls = client.calls - calls_before
            batch.finished_at = timezone.now()
            batch.save()
            changes.delete()
    except Exception as error:
        # Back to the queue (merged with any newer change of the same document), then retried.
        with transaction.atomic():
            pending = set(
                DocumentChange.objects.for_firm(firm)
                .filter(organisation=organisation, endpoint=batch.endpoint, batch__isnull=True)
                .values_list("document_id", flat=True)
            )
            changes.filter(document_id__in=pending).delete()
            changes.update(batch=None)
            DocumentBatch.objects.for_firm(firm).filter(pk=batch.pk).update(
                state=DocumentBatch.State.FAILED,
                error=str(error)[:2000],
                xero_calls=client.calls - calls_before,
                finished_at=timezone.now(),
            )
        raise


def _poll_since(firm: Firm, organisation: ClientOrganisation, poll: AlertPoll, endpoint: str):
    if endpoint in poll.modified_since:
        return dt.datetime.fromisoformat(poll.modified_since[endpoint])
    # First poll: from the last sync that read the transactions.
    last = (
        SyncRun.objects.for_firm(firm)
        .filter(organisation=organisation, state=SyncRun.State.SUCCEEDED)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return last or timezone.now() - dt.timedelta(days=1)


def organisation_poll(
    *, firm: Firm, organisation: ClientOrganisation, client: XeroClient | None = None
) -> list[DocumentBatch]:
    """Bank transactions and manual journals changed since the last poll (If-Modified-Since):
    one batch per endpoint, stored and measured like the webhook's documents."""
    own_client = client is None
    tenant = _tenant(firm, organisation)
    client = client or XeroClient(tenant=tenant)
    poll, _ = AlertPoll.objects.for_firm(firm).get_or_create(firm=firm, organisation=organisation)
    batches = []
    started = timezone.now()
    try:
        for endpoint in POLLED_ENDPOINTS:
            if (
                endpoint == MANUAL_JOURNALS
                and manual_journals_granted(tenant.connection.scopes) is False
            ):
                continue
            since = _poll_since(firm, organisation, poll, endpoint)
            batch = DocumentBatch.objects.create(
                firm=firm,
                organisation=organisation,
                source=DocumentBatch.Source.POLL,
                endpoint=endpoint,
            )
            calls_before = client.calls
            try:
                lines = client.transaction_lines(endpoint, modified_since=since - POLL_OVERLAP)
            except XeroForbidden as error:
                batch.state, batch.error = DocumentBatch.State.FAILED, str(error)
                batch.xero_calls, batch.finished_at = client.calls - calls_before, timezone.now()
                batch.save()
                continue
            with transaction.atomic():
                touched = _lines_store(firm, organisation, lines) if lines else set()
                alerts = (
                    alerts_evaluate(
                        firm=firm,
                        organisation=organisation,
                        account_pks=touched,
                        source_received_at=started,
                    )
                    if touched
                    else []
                )
                batch.document_count = len({t.document_id for t in lines})
                batch.lines = len(lines)
                batch.alerts_raised = len(alerts)
                batch.state = DocumentBatch.State.DONE
                batch.xero_calls = client.calls - calls_before
                batch.finished_at = timezone.now()
                batch.save()
                poll.modified_since[endpoint] = started.isoformat()
                poll.polled_at = started
                poll.save()
            batches.append(batch)
    finally:
        if own_client:
            client.close()
    return batches


def polls_enqueue() -> int:
    """Beat: poll every connected organisation that has an active rule, and queue again the
    work whose message was lost: deliveries not processed, changes not fetched."""
    from django_scopes import scopes_disabled

    with scopes_disabled():
        watched = set(
            AlertRule.objects.filter(active=True).values_list("firm_id", "organisation_id")
        )
        connected = set(
            XeroTenant.objects.filter(
                status=XeroTenant.Status.CONNECTED,
                connection__status=XeroConnection.Status.CONNECTED,
                client_organisation__isnull=False,
            ).values_list("firm_id", "client_organisation_id")
        )
        waiting = set(
            DocumentChange.objects.filter(
                batch__isnull=True, received_at__lt=timezone.now() - dt.timedelta(minutes=1)
            ).values_list("firm_id", "organisation_id")
        )
        # A delivery recorded but whose processing message was lost (Redis restarted between
        # the commit and the send) is processed now: Xero will not send it again.
        unprocessed = list(
            XeroWebhookDelivery.objects.filter(
                processed_at__isnull=True, received_at__lt=timezone.now() - dt.timedelta(minutes=1)
            ).values_list("pk", flat=True)
        )
    for delivery_id in unprocessed:
        enqueue("integrations.xero.tasks.xero_webhook_process", delivery_id)
    for firm_id, organisation_id in sorted(watched & connected):
        enqueue("budgeting.tasks.alerts_poll_organisation_task", firm_id, organisation_id)
    for firm_id, organisation_id in sorted(waiting & connected):
        enqueue("budgeting.tasks.alerts_documents_fetch_task", firm_id, organisation_id)
    # Not connected: the changes wait for a reconnect (fetched then, above), until they are
    # given up after DISCONNECTED_WAIT, never retried for ever.
    for firm_id, organisation_id in sorted(waiting - connected):
        firm = Firm.objects.get(pk=firm_id)
        organisation = ClientOrganisation.objects.for_firm(firm).get(pk=organisation_id)
        document_changes_give_up(firm=firm, organisation=organisation)
    return len(watched & connected)


# --- 2. Measuring ------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """An account's month to date, as far as the alerts need it."""

    actual: Decimal
    budget: Decimal | None
    expectation: maths.Expectation | None
    projected: Decimal
    share: float


def _rule_accounts(firm: Firm, organisation: ClientOrganisation, rule: AlertRule):
    accounts = Account.objects.for_firm(firm).filter(
        organisation=organisation, account_class__in=PROFIT_AND_LOSS_CLASSES
    )
    if rule.account_ids:
        accounts = accounts.filter(pk__in=rule.account_ids)
    elif rule.account_class:
        accounts = accounts.filter(account_class=rule.account_class)
    return accounts


def _option_q(option_id: int | None) -> Q:
    if option_id is None:
        return Q()
    return Q(tracking_option_id=option_id) | Q(tracking_option_2_id=option_id)


def month_to_date_amount(
    *, firm: Firm, account: Account, option_id: int | None, period: dt.date, until: dt.date
) -> Decimal:
    total = (
        TransactionLine.objects.for_firm(firm)
        .filter(_option_q(option_id), account=account, date__gte=period, date__lte=until)
        .aggregate(total=Sum("amount"))["total"]
    )
    return money(total or 0)


def _history(firm: Firm, account: Account, option_id: int | None, period: dt.date):
    """The account's past months in the kept lines, day by day."""
    first = add_months(period, -(settings.XERO_TRANSACTION_MONTHS - 1))
    days: dict[dt.date, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for day, total in (
        TransactionLine.objects.for_firm(firm)
        .filter(_option_q(option_id), account=account, date__gte=first, date__lt=period)
        .values("date")
        .annotate(total=Sum("amount"))
        .values_list("date", "total")
        .order_by()
    ):
        days[day.replace(day=1)][day.day] += total
    return [maths.DailyHistory(days=days_in_month(m), amounts=dict(a)) for m, a in days.items()]


def _budget(firm: Firm, account: Account, option_id: int | None, period: dt.date):
    budgets = Budget.objects.for_firm(firm).filter(organisation_id=account.organisation_id)
    if option_id is None:
        budgets = budgets.filter(type=Budget.Type.OVERALL)
    else:
        budgets = budgets.filter(
            Q(tracking_option_id=option_id) | Q(tracking_option_2_id=option_id)
        )
    amount = (
        BudgetBalance.objects.for_firm(firm)
        .filter(budget_line__budget__in=budgets, budget_line__account=account, period=period)
        .aggregate(total=Sum("amount"))["total"]
    )
    return None if amount is None else money(amount)


def _interval(firm: Firm, account: Account, option_id: int | None, period: dt.date):
    record = (
        ForecastRecord.objects.for_firm(firm)
        .filter(account=account, tracking_option_id=option_id, target=period)
        .order_by("-made_at")
        .first()
    )
    if record is None:
        return None
    return maths.Interval(
        point=record.point,
        lo_80=record.lo_80,
        hi_80=record.hi_80,
        lo_95=record.lo_95,
        hi_95=record.hi_95,
    )


def account_measure(
    *, firm: Firm, account: Account, option_id: int | None, today: dt.date
) -> Measure:
    period = today.replace(day=1)
    days = days_in_month(period)
    actual = month_to_date_amount(
        firm=firm, account=account, option_id=option_id, period=period, until=today
    )
    share = maths.pattern_share(
        _history(firm, account, option_id, period), day=today.day, days=days
    )
    budget = _budget(firm, account, option_id, period)
    expectation = (
        None
        if budget is None
        else maths.expectation(
            budget=budget, share=share, interval=_interval(firm, account, option_id, period)
        )
    )
    return Measure(
        actual=actual,
        budget=budget,
        expectation=expectation,
        projected=maths.projection(actual, share),
        share=share,
    )


def _drivers(firm: Firm, account: Account, option_id: int | None, today: dt.date, revenue: bool):
    lines = (
        TransactionLine.objects.for_firm(firm)
        .filter(
            _option_q(option_id), account=account, date__gte=today.replace(day=1), date__lte=today
        )
        .values("document_id", "document_type", "document_number", "contact_name", "date")
        .annotate(total=Sum("amount"))
        .order_by("total" if revenue else "-total", "document_id")[:DRIVERS_SHOWN]
    )
    return [
        {
            "document_id": row["document_id"],
            "document_type": row["document_type"],
            "document_number": row["document_number"],
            "contact_name": row["contact_name"],
            "date": row["date"].isoformat(),
            "amount": str(money(row["total"])),
        }
        for row in lines
    ]


def _summary(alert: Alert, currency: str, measure: Measure) -> str:
    def m(value):
        return amount_in(value, currency)

    if alert.threshold == AlertRule.Threshold.LIMIT:
        if alert.severity == Alert.Severity.CRITICAL:
            head = f"{alert.account} is {m(alert.by)} over its limit of {m(alert.edge)}"
        else:
            head = f"{alert.account} is heading {m(alert.by)} over its limit of {m(alert.edge)}"
    else:
        side = "below" if alert.account.account_class == "REVENUE" else "above"
        head = (
            f"{alert.account} is {m(alert.by)} {side} the band ({m(alert.edge)}) around the "
            f"{m(alert.expected)} expected by day {alert.day}"
        )
    text = (
        f"{head}: {m(alert.actual)} so far in {alert.period:%B %Y} (provisional, from the "
        f"documents posted in Xero). At this pace the month ends at {m(alert.projected)}"
    )
    if alert.budget is not None:
        text += f" against a budget of {m(alert.budget)}"
    text += "."
    if alert.drivers:
        largest = "; ".join(
            f"{d['document_number'] or d['document_type']} {d['contact_name']} "
            f"{m(Decimal(d['amount']))}".replace("  ", " ")
            for d in alert.drivers
        )
        text += f" Largest documents: {largest}."
    return text


def alerts_evaluate(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    account_pks: set[int] | None,
    source_received_at: dt.datetime | None,
) -> list[Alert]:
    """Measure the accounts (None: every account a rule watches) against each active rule of
    the organisation; raise an alert for each severity step passed for the first time this
    month, and queue its deliveries."""
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    zone_name = profile.timezone if profile else None
    today = timezone.localdate(timezone.now(), timezone=xero_zone(zone_name))
    currency = profile.base_currency if profile else organisation.base_currency
    raised = []
    rules = (
        AlertRule.objects.for_firm(firm)
        .filter(organisation=organisation, active=True)
        .exclude(threshold=AlertRule.Threshold.CASH)  # cash rules: cash_alerts_evaluate
    )
    for rule in rules:
        accounts = _rule_accounts(firm, organisation, rule)
        if account_pks is not None:
            accounts = accounts.filter(pk__in=account_pks)
        for account in accounts:
            alert = _account_check(
                firm, organisation, rule, account, today, currency, source_received_at
            )
            if alert is not None:
                raised.append(alert)
    for alert in raised:
        enqueue("budgeting.tasks.alert_deliveries_send_task", firm.pk, alert.pk)
    return raised


def _account_check(firm, organisation, rule, account, today, currency, received_at):
    option_id = rule.tracking_option_id
    measure = account_measure(firm=firm, account=account, option_id=option_id, today=today)
    revenue = account.account_class == "REVENUE"
    if rule.threshold == AlertRule.Threshold.LIMIT:
        breach = maths.limit_breach(
            actual=measure.actual, projected=measure.projected, limit=rule.limit
        )
    elif measure.expectation is None:
        return None  # no budget for the month: nothing to expect
    else:
        breach = maths.band_breach(
            actual=measure.actual, expectation=measure.expectation, revenue=revenue
        )
    if breach.severity == maths.NONE:
        return None
    period = today.replace(day=1)
    earlier = Alert.objects.for_firm(firm).filter(
        rule=rule, account=account, tracking_option_id=option_id, period=period
    )
    if earlier.filter(severity__gte=breach.severity).exists():
        return None  # this step (or a higher one) was already raised this month
    alert = Alert(
        firm=firm,
        organisation=organisation,
        rule=rule,
        account=account,
        tracking_option_id=option_id,
        period=period,
        severity=breach.severity,
        threshold=rule.threshold,
        day=today.day,
        actual=measure.actual,
        expected=measure.expectation.expected if measure.expectation else None,
        edge=breach.edge,
        by=breach.by,
        projected=measure.projected,
        budget=measure.budget,
        drivers=_drivers(firm, account, option_id, today, revenue),
        source_received_at=received_at,
    )
    alert.summary = _summary(alert, currency, measure)
    history_note(alert, reason=f"Raised by the rule {rule.name}"[:100], user=None)
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        return None  # another worker raised the same step a moment ago
    _deliveries_create(firm, organisation, rule, alert, earlier)
    return alert


def cash_alerts_evaluate(*, firm: Firm, organisation: ClientOrganisation) -> list[Alert]:
    """The organisation's cash rules against its cash projection (budgeting.cash): the first
    projected month under the cash threshold raises a warning, or a critical alert when cash
    would be overdrawn; each step once per rule and month, with its deliveries queued. The alert
    is kept against the organisation's main bank account (the one with the most cash)."""
    rules = list(
        AlertRule.objects.for_firm(firm).filter(
            organisation=organisation, active=True, threshold=AlertRule.Threshold.CASH
        )
    )
    if not rules:
        return []
    view = cash_view_load(firm=firm, organisation=organisation)
    projection = view.projection
    below = projection.below
    if below is None:
        return []
    latest = next(m for m in reversed(view.months) if m.actual)
    bank = (
        BalanceSheetBalance.objects.for_firm(firm)
        .filter(organisation=organisation, period=latest.period, account__type="BANK")
        .order_by("-amount", "account__code")
        .values_list("account_id", flat=True)
        .first()
    )
    if bank is None:
        return []
    account = Account.objects.for_firm(firm).get(pk=bank)
    severity = Alert.Severity.CRITICAL if below.cash < 0 else Alert.Severity.WARNING
    currency = view.currency
    terms = projection.terms
    summary = (
        f"Cash would fall below the threshold of {amount_in(projection.threshold, currency)} in "
        f"{below.period:%B %Y}: closing cash projected at {amount_in(below.cash, currency)}, "
        f"{amount_in(projection.threshold - below.cash, currency)} under it. The projected low "
        f"is {amount_in(projection.low.cash, currency)} in {projection.low.period:%B %Y}. "
        f"Projected from the forecast P&L with {terms.debtor_days} debtor days, "
        f"{terms.creditor_days} creditor days and GST/VAT paid every {terms.tax_cycle} "
        f"month{'s' if terms.tax_cycle != 1 else ''}, from {latest.period:%B %Y}'s "
        f"closing cash of {amount_in(latest.cash, currency)}."
    )
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    today = timezone.localdate(
        timezone.now(), timezone=xero_zone(profile.timezone if profile else None)
    )
    raised = []
    for rule in rules:
        earlier = Alert.objects.for_firm(firm).filter(
            rule=rule, account=account, tracking_option__isnull=True, period=below.period
        )
        if earlier.filter(severity__gte=severity).exists():
            continue
        alert = Alert(
            firm=firm,
            organisation=organisation,
            rule=rule,
            account=account,
            period=below.period,
            severity=severity,
            threshold=rule.threshold,
            day=today.day,
            actual=below.cash,
            edge=projection.threshold,
            by=projection.threshold - below.cash,
            projected=projection.low.cash,
            summary=summary,
        )
        history_note(alert, reason=f"Raised by the rule {rule.name}"[:100], user=None)
        try:
            with transaction.atomic():
                alert.save()
        except IntegrityError:
            continue  # another worker raised the same step a moment ago
        _deliveries_create(firm, organisation, rule, alert, earlier)
        raised.append(alert)
    for alert in raised:
        enqueue("budgeting.tasks.alert_deliveries_send_task", firm.pk, alert.pk)
    return raised


def _quiet_end(rule: AlertRule, now: dt.datetime, zone_name: str | None) -> dt.datetime | None:
    """When the rule's quiet hours end, if `now` is inside them (the organisation's zone)."""
    if rule.quiet_from is None or rule.quiet_until is None:
        return None
    local = timezone.localtime(now, xero_zone(zone_name))
    start, end, t = rule.quiet_from, rule.quiet_until, local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(end_day, end, tzinfo=local.tzinfo)


def rule_recipients(*, firm: Firm, organisation: ClientOrganisation, rule: AlertRule):
    """(channel, recipient) pairs of a rule, each once."""
    out: list[tuple[str, str]] = []
    for item in rule.recipients:
        kind = item.get("kind")
        if kind == AlertRule.RecipientKind.BUDGET_OWNERS:
            out += [
                (AlertDelivery.Channel.EMAIL, email)
                for email in ExternalApprover.objects.for_firm(firm)
                .filter(organisation=organisation, active=True)
                .values_list("email", flat=True)
            ]
        elif kind == AlertRule.RecipientKind.MEMBER:
            email = (
                Membership.objects.for_firm(firm)
                .filter(user_id=item.get("user_id"))
                .values_list("user__email", flat=True)
                .first()
            )
            if email:
                out.append((AlertDelivery.Channel.EMAIL, email))
        elif kind == AlertRule.RecipientKind.EMAIL:
            out.append((AlertDelivery.Channel.EMAIL, item["email"]))
        elif kind == AlertRule.RecipientKind.SLACK_CHANNEL:
            out.append((AlertDelivery.Channel.SLACK, item["channel"]))
    return list(dict.fromkeys((c, r.lower() if c == "email" else r) for c, r in out))


def _deliveries_create(firm, organisation, rule, alert, earlier) -> None:
    now = timezone.now()
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    due = _quiet_end(rule, now, profile.timezone if profile else None) or now
    snoozed = earlier.filter(snoozed_until__gt=now).order_by("-snoozed_until").first()
    if snoozed is not None:
        due = max(due, snoozed.snoozed_until)
        alert.state, alert.snoozed_until = Alert.State.SNOOZED, snoozed.snoozed_until
        history_note(alert, reason="Held by an earlier snooze", user=None)
        alert.save(update_fields=["state", "snoozed_until"])
    subject = alert_subject(alert)[:255]
    AlertDelivery.objects.bulk_create(
        [
            AlertDelivery(
                firm=firm,
                organisation=organisation,
                alert=alert,
                channel=channel,
                recipient=recipient,
                due_at=due,
                subject=subject,
            )
            for channel, recipient in rule_recipients(
                firm=firm, organisation=organisation, rule=rule
            )
        ],
        ignore_conflicts=True,
    )


# --- 3. Sending ---------------------------------------------------------------------------


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(3600, 30 * 2 ** (attempts - 1)))


def alert_deliveries_send(*, firm: Firm, alert_id: int) -> int:
    """Send the alert's deliveries that are due; returns how many went out. Each is claimed
    with a conditional update first, so two workers never send the same one."""
    now = timezone.now()
    sent = 0
    due = AlertDelivery.objects.for_firm(firm).filter(
        alert_id=alert_id,
        state__in=(AlertDelivery.State.PENDING, AlertDelivery.State.UNSUPPORTED),
        due_at__lte=now,
    )
    for delivery in due.select_related("alert__organisation", "alert__account", "alert__firm"):
        function = delivery_function(delivery.channel)
        if function is None:
            if delivery.state != AlertDelivery.State.UNSUPPORTED:
                delivery.state = AlertDelivery.State.UNSUPPORTED
                delivery.last_error = (
                    f"{delivery.get_channel_display()} delivery is not set up in this "
                    "installation yet; it is sent once it is."
                )
                history_note(delivery, reason="Channel not set up", user=None)
                delivery.save()
            continue
        waiting = delivery.state == AlertDelivery.State.UNSUPPORTED
        claimed = (
            AlertDelivery.objects.for_firm(firm)
            .filter(pk=delivery.pk, state=delivery.state, attempts=delivery.attempts)
            .update(state=AlertDelivery.State.SENDING, attempts=delivery.attempts + 1)
        )
        if not claimed:
            continue
        delivery.refresh_from_db()
        try:
            function(delivery)
        except ChannelNotSetUp as error:
            # Not a failure of the channel: it waits, checked again hourly, sent once set up;
            # its history says so once, not every hour.
            wait = {
                "state": AlertDelivery.State.UNSUPPORTED,
                "attempts": delivery.attempts - 1,
                "last_error": str(error),
                "due_at": timezone.now() + dt.timedelta(hours=1),
            }
            if waiting:
                AlertDelivery.objects.for_firm(firm).filter(pk=delivery.pk).update(**wait)
            else:
                for name, value in wait.items():
                    setattr(delivery, name, value)
                history_note(delivery, reason="Channel not set up", user=None)
                delivery.save()
            continue
        except Exception as error:  # the channel's failure, whatever it is: retried, shown
            logger.warning("Alert delivery %s failed: %s", delivery.pk, error)
            gave_up = delivery.attempts >= DELIVERY_MAX_ATTEMPTS
            delivery.state = AlertDelivery.State.FAILED if gave_up else AlertDelivery.State.PENDING
            delivery.last_error = f"{type(error).__name__}: {error}"[:2000]
            delivery.due_at = timezone.now() + _backoff(delivery.attempts)
            history_note(delivery, reason=f"Attempt {delivery.attempts} failed", user=None)
            delivery.save()
            continue
        delivery.state = AlertDelivery.State.SENT
        delivery.sent_at = timezone.now()
        delivery.last_error = ""
        history_note(delivery, reason=f"Sent to {delivery.recipient}"[:100], user=None)
        delivery.save()
        sent += 1
    return sent


def alert_deliveries_due() -> int:
    """Beat: queue the sending of every delivery now due (after quiet hours, a snooze, a retry's
    wait, or a channel that was set up since)."""
    from django_scopes import scopes_disabled

    with scopes_disabled():
        due = set(
            AlertDelivery.objects.filter(
                state__in=(AlertDelivery.State.PENDING, AlertDelivery.State.UNSUPPORTED),
                due_at__lte=timezone.now(),
            ).values_list("firm_id", "alert_id")
        )
        # A delivery whose worker died mid-send is sent again (an email may then arrive twice,
        # which beats never).
        AlertDelivery.objects.filter(
            state=AlertDelivery.State.SENDING,
            due_at__lte=timezone.now() - dt.timedelta(minutes=10),
        ).update(state=AlertDelivery.State.PENDING)
    for firm_id, alert_id in sorted(due):
        enqueue("budgeting.tasks.alert_deliveries_send_task", firm_id, alert_id)
    return len(due)


# --- Rules, acknowledging, snoozing ---------------------------------------------------------


class AlertRuleInvalid(Exception):
    """A rule that cannot be saved; `errors` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def _recipients_clean(firm: Firm, recipients, errors) -> list[dict]:
    if not isinstance(recipients, list) or not recipients:
        errors["recipients"] = [
            "Choose at least one recipient: budget owners, a member, an email or a Slack channel."
        ]
        return []
    clean = []
    members = set(Membership.objects.for_firm(firm).values_list("user_id", flat=True))
    problems = []
    for index, item in enumerate(recipients):
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind == AlertRule.RecipientKind.BUDGET_OWNERS:
            clean.append({"kind": kind})
        elif kind == AlertRule.RecipientKind.MEMBER:
            user_id = item.get("user_id")
            if not isinstance(user_id, int) or user_id not in members:
                problems.append(f"Recipient {index + 1}: no such member of this firm.")
            else:
                clean.append({"kind": kind, "user_id": user_id})
        elif kind == AlertRule.RecipientKind.EMAIL:
            email = str(item.get("email", "")).strip()
            try:
                validate_email(email)
            except ValidationError:
                problems.append(f"Recipient {index + 1}: {email!r} is not an email address.")
            else:
                clean.append({"kind": kind, "email": email.lower()})
        elif kind == AlertRule.RecipientKind.SLACK_CHANNEL:
            channel = str(item.get("channel", "")).strip()
            if not SLACK_CHANNEL.fullmatch(channel):
                problems.append(
                    f"Recipient {index + 1}: {channel!r} is not a Slack channel name "
                    "(# then lower-case letters, digits, - or _, at most 80)."
                )
            else:
                clean.append({"kind": kind, "channel": channel})
        else:
            kinds = ", ".join(AlertRule.RecipientKind.values)
            problems.append(f"Recipient {index + 1}: the kind must be one of {kinds}.")
    if problems:
        errors["recipients"] = problems
    return [dict(t) for t in dict.fromkeys(tuple(sorted(c.items())) for c in clean)]


def alert_rule_save(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    rule: AlertRule | None = None,
    name: str,
    threshold: str,
    account_ids: list[int],
    account_class: str = "",
    tracking_option: TrackingOption | None = None,
    limit: Decimal | str | None = None,
    recipients: list[dict],
    quiet_from: dt.time | None = None,
    quiet_until: dt.time | None = None,
    active: bool = True,
    user: User | None = None,
) -> AlertRule:
    """Create or change a rule; raises AlertRuleInvalid, naming each field, for a rule that
    cannot work (an unknown account, an impossible limit, nobody to tell, half a quiet window).
    The form and the API both come here, so they refuse the same rules with the same words."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Give the rule a name."]
    elif len(name) > 150:
        errors["name"] = ["At most 150 characters."]
    if threshold not in AlertRule.Threshold.values:
        errors["threshold"] = [f"Choose one of: {', '.join(AlertRule.Threshold.values)}."]
    if account_class not in ("", *PROFIT_AND_LOSS_CLASSES):
        errors["account_class"] = ["Choose REVENUE, EXPENSE or leave it empty."]
    ids = list(dict.fromkeys(account_ids or []))
    if any(not isinstance(i, int) or isinstance(i, bool) for i in ids):
        errors["account_ids"] = ["Accounts are given by their ids (whole numbers)."]
        ids = []
    known = set(
        Account.objects.for_firm(firm)
        .filter(organisation=organisation, pk__in=ids, account_class__in=PROFIT_AND_LOSS_CLASSES)
        .values_list("pk", flat=True)
    )
    unknown = [i for i in ids if i not in known]
    if unknown:
        errors["account_ids"] = [
            f"No profit and loss account with id {', '.join(map(str, unknown))} in "
            f"{organisation.name}."
        ]
    if threshold == AlertRule.Threshold.CASH and (ids or account_class or tracking_option):
        errors["account_ids"] = [
            "A cash rule watches the organisation's closing cash, not accounts: leave the "
            "accounts, class and tracking option empty, and set the threshold on the Cash page."
        ]
    if tracking_option is not None and tracking_option.organisation_id != organisation.pk:
        errors["tracking_option"] = ["No such tracking option in this organisation."]
    amount = None
    if threshold == AlertRule.Threshold.LIMIT:
        try:
            amount = None if limit in (None, "") else money(Decimal(str(limit)))
        except (InvalidOperation, ValueError):
            amount = None
            errors["limit"] = [f"{limit!r} is not an amount."]
        if "limit" not in errors:
            if amount is None:
                errors["limit"] = ["A fixed-limit rule needs its limit for the month."]
            elif not amount.is_finite() or amount <= 0 or amount >= LIMIT_MAX:
                errors["limit"] = ["The limit must be above zero and below 1,000,000,000,000."]
    elif limit not in (None, ""):
        errors["limit"] = [
            "Only a fixed-limit rule takes a limit; clear it or change the threshold."
        ]
    clean_recipients = _recipients_clean(firm, recipients, errors)
    if (quiet_from is None) != (quiet_until is None):
        errors["quiet_until" if quiet_until is None else "quiet_from"] = [
            "Give both ends of the quiet hours, or neither."
        ]
    elif quiet_from is not None and quiet_from == quiet_until:
        errors["quiet_until"] = ["Quiet hours that start and end at the same time never end."]
    if errors:
        raise AlertRuleInvalid(errors)
    is_new = rule is None
    rule = rule or AlertRule(firm=firm, organisation=organisation)
    rule.name = name
    rule.threshold = threshold
    rule.account_ids = sorted(known)
    rule.account_class = account_class
    rule.tracking_option = tracking_option
    rule.limit = amount
    rule.recipients = clean_recipients
    rule.quiet_from, rule.quiet_until = quiet_from, quiet_until
    rule.active = active
    rule.updated_at = timezone.now()
    history_note(rule, reason="Alert rule created" if is_new else "Alert rule changed", user=user)
    rule.save()
    return rule


def alert_rule_delete(*, firm: Firm, rule: AlertRule, user: User | None) -> AlertRule:
    """The rule stops raising alerts and leaves the lists; its alerts stay, with what was sent
    to whom. Deliveries it queued and has not sent yet are not sent."""
    with transaction.atomic():
        rule.active = False
        rule.deleted_at = timezone.now()
        rule.updated_at = rule.deleted_at
        history_note(rule, reason="Alert rule deleted", user=user)
        rule.save()
        AlertDelivery.objects.for_firm(firm).filter(
            alert__rule=rule,
            state__in=(AlertDelivery.State.PENDING, AlertDelivery.State.UNSUPPORTED),
        ).update(
            state=AlertDelivery.State.FAILED,
            last_error="Not sent: its alert rule was deleted.",
        )
    return rule


def alert_acknowledge(*, firm: Firm, alert: Alert, user: User) -> Alert:
    alert.state = Alert.State.ACKNOWLEDGED
    alert.acknowledged_by = user
    alert.acknowledged_at = timezone.now()
    alert.snoozed_until = None
    history_note(alert, reason="Acknowledged", user=user)
    alert.save()
    return alert


class SnoozeInvalid(Exception):
    pass


def alert_snooze(*, firm: Firm, alert: Alert, user: User, until: dt.datetime) -> Alert:
    """Hold this account's further alerts this month (a higher step) until `until`."""
    now = timezone.now()
    if until <= now:
        raise SnoozeInvalid("Snooze until a time in the future.")
    if until - now > SNOOZE_MAX:
        raise SnoozeInvalid("Snooze for at most 31 days.")
    alert.state = Alert.State.SNOOZED
    alert.snoozed_until = until
    history_note(alert, reason=f"Snoozed until {until:%Y-%m-%d %H:%M} UTC", user=user)
    alert.save()
    AlertDelivery.objects.for_firm(firm).filter(
        alert=alert, state=AlertDelivery.State.PENDING
    ).update(due_at=until)
    return alert
