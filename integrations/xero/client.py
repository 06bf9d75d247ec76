"""The Xero Accounting API client: one per (connection, organisation), over one httpx client.

Every call takes a slot from the shared rate limiter first and gives it back when the answer is
in; 5xx answers and timeouts are retried with backoff; a 429 blocks the organisation for
Retry-After seconds across all workers, then the call is retried. Calls are counted, so a sync
can record how many it used.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import httpx
from django.conf import settings

from integrations.models import XeroTenant
from integrations.xero import documents, parsing
from integrations.xero.errors import (
    XeroAuthError,
    XeroForbidden,
    XeroHttpError,
    XeroPayloadError,
    XeroUnavailable,
)
from integrations.xero.http import xero_http_client
from integrations.xero.oauth import xero_connection_access_token
from integrations.xero.ratelimit import RateLimiter, rate_limiter

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Xero allows at most 24 months of budget balances per request (developer.xero.com, Budgets).
BUDGET_WINDOW_MONTHS = 24


class XeroClient:
    def __init__(
        self,
        *,
        tenant: XeroTenant,
        limiter: RateLimiter | None = None,
        http: httpx.Client | None = None,
        backoff: Callable[[int], float] | None = None,
        access_token: Callable[[], str] | None = None,
    ):
        self.tenant = tenant
        self.tenant_id = tenant.tenant_id
        self.limiter = limiter or rate_limiter()
        self.http = http or xero_http_client()
        self.calls = 0
        # Pages read per list endpoint in the last transaction_lines call (the call plan's).
        self.pages_read: dict[str, int] = {}
        self.backoff = backoff or (
            lambda attempt: min(30.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0)
        )
        self._access_token = access_token or (
            lambda: xero_connection_access_token(
                connection_id=tenant.connection_id, firm=tenant.firm
            )
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> XeroClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- transport ------------------------------------------------------------------------

    def get(
        self,
        endpoint: str,
        *,
        params: dict[str, Any] | None = None,
        modified_since: dt.datetime | None = None,
    ) -> Any:
        """GET an Accounting API endpoint and return its parsed JSON body."""
        url = f"{settings.XERO_API_URL.rstrip('/')}/{endpoint}"
        headers = {"xero-tenant-id": self.tenant_id, "Accept": "application/json"}
        if modified_since is not None:
            headers["If-Modified-Since"] = email.utils.format_datetime(
                modified_since.astimezone(dt.UTC), usegmt=True
            )
        refreshed = False
        failure = ""
        for attempt in range(MAX_ATTEMPTS):
            headers["Authorization"] = f"Bearer {self._access_token()}"
            slot = self.limiter.acquire(self.tenant_id)
            try:
                self.calls += 1
                response = self.http.get(url, params=params, headers=headers)
            except httpx.TransportError as exc:
                logger.info("Xero %s: %s (attempt %d)", endpoint, exc, attempt + 1)
                failure = f"no answer ({type(exc).__name__})"
                time.sleep(self.backoff(attempt))
                continue
            finally:
                self.limiter.release(self.tenant_id, slot)

            if response.status_code == 429:
                retry_after = float(response.headers.get("Retry-After", "60"))
                problem = response.headers.get("X-Rate-Limit-Problem", "")
                logger.warning(
                    "Xero 429 (%s) for %s; waiting %ss", problem, self.tenant_id, retry_after
                )
                self.limiter.block(self.tenant_id, retry_after)
                failure = f"rate limited ({problem})"
                continue
            if response.status_code >= 500:
                failure = f"server error {response.status_code}"
                time.sleep(self.backoff(attempt))
                continue
            if response.status_code == 401 and not refreshed:
                # The access token died early (revoked or expired): refresh once and retry.
                refreshed = True
                self._expire_access_token()
                continue
            if response.status_code == 401:
                raise XeroAuthError("Xero refused this connection's sign-in (401).")
            if response.status_code == 403:
                raise XeroForbidden(endpoint, 403, _detail(response))
            if response.status_code == 304:
                return None
            if response.status_code >= 400:
                raise XeroHttpError(endpoint, response.status_code, _detail(response))
            try:
                return response.json()
            except ValueError:
                # Truncated or malformed JSON: treat like a transient failure and ask again.
                failure = "malformed JSON"
                time.sleep(self.backoff(attempt))
                continue
        if failure == "malformed JSON":
            raise XeroPayloadError(endpoint, "(body)", "not valid JSON after retries")
        raise XeroUnavailable(
            f"Xero {endpoint} kept failing ({failure}) after {MAX_ATTEMPTS} attempts."
        )

    def _expire_access_token(self) -> None:
        from integrations.models import XeroConnection

        XeroConnection.objects.for_firm(self.tenant.firm).filter(
            pk=self.tenant.connection_id
        ).update(access_token_expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))

    # --- endpoints ------------------------------------------------------------------------

    def organisation(self) -> parsing.XeroOrganisation:
        return parsing.parse_organisation(self.get("Organisation"))

    def accounts(self) -> list[parsing.XeroAccount]:
        return parsing.parse_accounts(self.get("Accounts"))

    def tracking_categories(self) -> list[parsing.XeroTrackingCategory]:
        return parsing.parse_tracking_categories(self.get("TrackingCategories"))

    def budgets(self) -> list[parsing.XeroBudget]:
        """Budget headers only: Xero returns lines only when a single budget is requested."""
        return parsing.parse_budgets(self.get("Budgets"))

    def budget(self, budget_id: str, *, date_from: dt.date, date_to: dt.date) -> parsing.XeroBudget:
        endpoint = f"Budgets/{budget_id}"
        body = self.get(
            endpoint, params={"DateFrom": date_from.isoformat(), "DateTo": date_to.isoformat()}
        )
        budgets = parsing.parse_budgets(body, endpoint=endpoint)
        if len(budgets) != 1:
            raise XeroPayloadError(endpoint, "Budgets", f"expected one budget, got {len(budgets)}")
        return budgets[0]

    def profit_and_loss(
        self,
        *,
        from_date: dt.date,
        to_date: dt.date,
        periods: int | None = None,
        tracking_category_id: str | None = None,
        tracking_option_id: str | None = None,
    ) -> parsing.ProfitAndLoss:
        params: dict[str, Any] = {
            "fromDate": from_date.isoformat(),
            "toDate": to_date.isoformat(),
            "standardLayout": "true",
        }
        if periods:
            params.update(periods=periods, timeframe="MONTH")
        if tracking_category_id:
            params["trackingCategoryID"] = tracking_category_id
        if tracking_option_id:
            params["trackingOptionID"] = tracking_option_id
        return parsing.parse_profit_and_loss(self.get("Reports/ProfitAndLoss", params=params))

    def balance_sheet(self, *, date: dt.date, periods: int | None = None) -> parsing.ProfitAndLoss:
        """The balance sheet at the end of `date`'s month and, with `periods`, at the end of
        each of the `periods` months before it (docs: periods 1-11, timeframe MONTH)."""
        params: dict[str, Any] = {"date": date.isoformat(), "standardLayout": "true"}
        if periods:
            params.update(periods=periods, timeframe="MONTH")
        return parsing.parse_balance_sheet(self.get("Reports/BalanceSheet", params=params))

    def transaction_lines(
        self, endpoint: str, *, modified_since: dt.datetime | None = None, where: str | None = None
    ) -> list[documents.XeroTransactionLine]:
        """Every line of Invoices, CreditNotes, BankTransactions or ManualJournals, page by page
        (Xero includes the lines only when a page is asked for)."""
        lines: list[documents.XeroTransactionLine] = []
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "pageSize": 1000}
            if where:
                params["where"] = where
            body = self.get(endpoint, params=params, modified_since=modified_since)
            if body is None:
                break
            parsed = documents.parse_document_page(body, endpoint=endpoint)
            lines.extend(parsed.lines)
            pagination = body.get("pagination") if isinstance(body, dict) else None
            page_count = pagination.get("pageCount") if isinstance(pagination, dict) else None
            if page_count is not None:
                if page >= int(page_count):
                    break
            elif parsed.document_count < 1000:
                break
            page += 1
        self.pages_read[endpoint] = page
        return lines


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("Detail") or body.get("Message") or body.get("Title") or body)[:300]
    return str(body)[:300]
