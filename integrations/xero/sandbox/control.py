"""The control API under /_sandbox/ for tests and the demo (JSON; header X-Sandbox-Admin).

Routes are listed in README.md. Errors are {"error": "..."} with 400, 401 or 404.
"""

from __future__ import annotations

import datetime as dt
import hmac
import uuid
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from integrations.xero.sandbox.budget_import import BudgetImportError, budget_import_file
from integrations.xero.sandbox.budget_manager import BudgetAddError, budget_add
from integrations.xero.sandbox.faults import FaultSpec
from integrations.xero.sandbox.model import (
    SandboxContact,
    SandboxDocument,
    SandboxJournalLine,
    SandboxLine,
    SandboxManualJournal,
    SandboxOrganisation,
)
from integrations.xero.sandbox.orgs.builder import COUNTRIES
from integrations.xero.sandbox.ratelimit import SandboxLimits
from integrations.xero.sandbox.serializers import OrgIndex, manual_journal_json, money
from integrations.xero.sandbox.wsgi import Request, Response, json_response

if TYPE_CHECKING:
    from integrations.xero.sandbox.app import SandboxApp


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def control(app: SandboxApp, request: Request) -> Response:
    supplied = request.headers.get("x-sandbox-admin", "")
    if not hmac.compare_digest(supplied.encode(), app.state.admin_token.encode()):
        return json_response(401, {"error": "X-Sandbox-Admin header missing or wrong"})
    parts = [p for p in request.path.split("/") if p][1:]
    try:
        return json_response(200, _dispatch(app, request, parts))
    except ControlError as error:
        return json_response(error.status, {"error": str(error)})
    except KeyError as error:
        return json_response(400, {"error": f"missing field {error}"})
    except ValueError as error:
        return json_response(400, {"error": str(error)})


def _dispatch(app: SandboxApp, request: Request, parts: list[str]) -> Any:
    method = request.method
    match parts:
        case ["organisations"] if method == "GET":
            return [
                {
                    "key": o.key,
                    "tenantId": o.organisation_id,
                    "name": o.name,
                    "baseCurrency": o.base_currency,
                }
                for o in app.state.organisations
            ]
        case ["config"] if method == "GET":
            return _config(app)
        case ["behaviour"] if method == "GET":
            return app.behaviour.as_json()
        case ["behaviour"] if method == "POST":
            # Unknown keys or values raise ValueError: a 400 and nothing changes.
            app.behaviour = app.behaviour.updated_from_json(request.json())
            return app.behaviour.as_json()
        case ["limits"] if method == "POST":
            return _set_limits(app, request.json())
        case ["clock"] if method == "GET":
            return _config(app)["clock"]
        case ["clock"] if method == "POST":
            return _set_clock(app, request.json())
        case ["faults"] if method == "GET":
            return [f.as_json() for f in app.faults.list()]
        case ["faults"] if method == "POST":
            body = request.json()
            specs = [
                FaultSpec.from_json(item) for item in (body if isinstance(body, list) else [body])
            ]
            return [app.faults.add(spec).as_json() for spec in specs]
        case ["faults"] if method == "DELETE":
            app.faults.clear()
            return {"cleared": True}
        case ["counters"] if method == "GET":
            return app.counters()
        case ["counters"] if method == "DELETE":
            app.reset_counters()
            return {"cleared": True}
        case ["organisations", org_key, "period-lock"] if method == "POST":
            org = _org(app, org_key)
            value = request.json().get("periodLockDate")
            with app.state.lock:
                org.period_lock_date = dt.date.fromisoformat(value) if value else None
            return {"periodLockDate": value}
        case ["organisations", org_key, "invoices"] if method == "POST":
            return _add_invoice(app, _org(app, org_key), request.json())
        case ["organisations", org_key, "invoices", invoice_id] if method == "POST":
            return _update_invoice(app, _org(app, org_key), invoice_id, request.json())
        case ["organisations", org_key, "manual-journals"] if method == "POST":
            return _add_manual_journal(app, _org(app, org_key), request.json())
        case ["organisations", org_key, "budgets"] if method == "POST":
            return _add_budget(app, _org(app, org_key), request.json())
        case ["organisations", org_key, "budgets", budget_id, "import"] if method == "POST":
            return _import_budget(
                app, _org(app, org_key), budget_id, request.body.decode("utf-8-sig")
            )
        case ["webhooks", "config"] if method == "POST":
            body = request.json()
            sender = app.webhooks
            sender.url = body.get("url", sender.url)
            sender.key = body.get("key", sender.key)
            sender.resource_base = body.get("resourceBase", sender.resource_base)
            return {"url": sender.url, "resourceBase": sender.resource_base}
        case ["webhooks", "events"] if method == "GET":
            return app.webhooks.pending()
        case ["webhooks", "events"] if method == "POST":
            body = request.json()
            org = _org(app, body["organisation"])
            return app.webhooks.queue_event(
                category=body["category"],
                event_type=body["eventType"],
                tenant_id=org.organisation_id,
                resource_id=body["resourceId"],
                data=body.get("data"),
            )
        case ["webhooks", "deliver"] if method == "POST":
            delivery = app.webhooks.deliver()
            return delivery.as_json() if delivery else {"status": None, "events": 0}
        case ["webhooks", "intent-to-receive"] if method == "POST":
            attempts = int((request.json() or {}).get("attempts", 4))
            ok, deliveries = app.webhooks.intent_to_receive(attempts=attempts)
            return {"ok": ok, "deliveries": [d.as_json() for d in deliveries]}
    raise ControlError(404, f"no control route {method} /_sandbox/{'/'.join(parts)}")


def _org(app: SandboxApp, key: str) -> SandboxOrganisation:
    org = app.state.organisation(key)
    if org is None:
        raise ControlError(404, f"no organisation {key!r}")
    return org


def _config(app: SandboxApp) -> dict[str, Any]:
    limits = app.state.limits
    return {
        "limits": {
            "minute": limits.minute,
            "concurrent": limits.concurrent,
            "day": limits.day,
            "appMinute": limits.app_minute,
        },
        "minuteWindowSeconds": app.minute_window_seconds,
        "clock": {
            "now": app.clock.now().isoformat(),
            "today": app.clock.today().isoformat(),
            "timeScale": app.clock.time_scale,
        },
    }


def _set_limits(app: SandboxApp, body: dict[str, Any]) -> dict[str, Any]:
    limits: SandboxLimits = app.state.limits
    for key, attribute in (
        ("minute", "minute"),
        ("concurrent", "concurrent"),
        ("day", "day"),
        ("appMinute", "app_minute"),
    ):
        if key in body:
            setattr(limits, attribute, int(body[key]))
    return _config(app)


def _set_clock(app: SandboxApp, body: dict[str, Any]) -> dict[str, Any]:
    if "timeScale" in body:
        app.clock.set_time_scale(float(body["timeScale"]))
    if "advanceSeconds" in body:
        app.clock.advance(float(body["advanceSeconds"]))
    if "today" in body:
        app.clock.set_today(dt.date.fromisoformat(body["today"]) if body["today"] else None)
    return _config(app)["clock"]


def _add_invoice(app: SandboxApp, org: SandboxOrganisation, body: dict[str, Any]) -> dict[str, Any]:
    """Add an invoice or bill as a Xero user would, and queue the INVOICE CREATE webhook."""
    doc_type = body.get("type", "ACCREC")
    if doc_type not in ("ACCREC", "ACCPAY"):
        raise ControlError(400, "type must be ACCREC or ACCPAY")
    line_amount_types = body.get("lineAmountTypes", "Exclusive")
    if line_amount_types not in ("Exclusive", "Inclusive", "NoTax"):
        raise ControlError(400, "lineAmountTypes must be Exclusive, Inclusive or NoTax")
    now = app.clock.now()
    with app.state.lock:
        contact_name = body["contact"]
        contact = next((c for c in org.contacts if c.name == contact_name), None)
        new_contact = contact is None
        if contact is None:
            contact = SandboxContact(str(uuid.uuid4()), contact_name, updated_utc=now)
            org.contacts.append(contact)
        rate = _rate(body.get("currencyRate", "1"))
        lines = [_line(org, item, rate, line_amount_types) for item in body["lines"]]
        if not lines:
            raise ControlError(400, "an invoice needs at least one line")
        date = dt.date.fromisoformat(body.get("date") or app.clock.today().isoformat())
        number = (
            body.get("number")
            or f"SBX-{sum(1 for d in org.documents if d.endpoint == 'Invoices') + 1:05d}"
        )
        doc = SandboxDocument(
            document_id=str(uuid.uuid4()),
            type=doc_type,
            contact_id=contact.contact_id,
            date=date,
            number=number,
            reference=body.get("reference", ""),
            lines=lines,
            currency_code=body.get("currencyCode", org.base_currency),
            currency_rate=rate,
            status=body.get("status", "AUTHORISED"),
            due_date=dt.date.fromisoformat(body["dueDate"]) if body.get("dueDate") else None,
            updated_utc=now,
            line_amount_types=line_amount_types,
        )
        org.documents.append(doc)
        invoice = OrgIndex(org).document_json(doc, with_lines=True)
    if new_contact:
        app.webhooks.queue_event(
            category="CONTACT",
            event_type="CREATE",
            tenant_id=org.organisation_id,
            resource_id=contact.contact_id,
        )
    event = app.webhooks.queue_event(
        category="INVOICE",
        event_type="CREATE",
        tenant_id=org.organisation_id,
        resource_id=doc.document_id,
    )
    return {"invoice": invoice, "event": event}


def _update_invoice(
    app: SandboxApp, org: SandboxOrganisation, invoice_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    with app.state.lock:
        doc = next(
            (d for d in org.documents if d.document_id == invoice_id and d.endpoint == "Invoices"),
            None,
        )
        if doc is None:
            raise ControlError(404, f"no invoice {invoice_id}")
        if "status" in body:
            doc.status = body["status"]
        if "reference" in body:
            doc.reference = body["reference"]
        doc.updated_utc = app.clock.now()
    event = app.webhooks.queue_event(
        category="INVOICE",
        event_type="UPDATE",
        tenant_id=org.organisation_id,
        resource_id=doc.document_id,
    )
    return {"status": doc.status, "event": event}


def _rate(value: Any) -> Decimal:
    """Xero's CurrencyRate (units of the document's currency per unit of base currency), kept
    at the precision given: Xero sends up to six decimals."""
    try:
        rate = Decimal(str(value))
    except InvalidOperation as error:
        raise ControlError(400, "currencyRate must be a number") from error
    if not rate.is_finite() or rate <= 0:
        raise ControlError(400, "currencyRate must be above zero")
    return rate


def _line(
    org: SandboxOrganisation, item: dict[str, Any], rate: Decimal, line_amount_types: str
) -> SandboxLine:
    """A document line as the generator makes them (orgs/builder.py): LineAmount in the
    document's currency (tax included when Inclusive), TaxAmount per line, and the base amount
    the reports use converted and rounded line by line: round((LineAmount less tax when
    Inclusive) / CurrencyRate, 2)."""
    account = next((a for a in org.accounts if a.code == str(item["accountCode"])), None)
    if account is None:
        raise ControlError(400, f"no account with code {item['accountCode']!r}")
    try:
        amount = money(Decimal(str(item["amount"])))
        if "taxAmount" in item:
            tax = money(Decimal(str(item["taxAmount"])))
        elif line_amount_types == "Inclusive":
            # The tax inside an inclusive amount at the country's rate, to the cent, as the
            # generator's inclusive lines (a tax-free account carries none).
            country = COUNTRIES.get(org.country_code)
            if country is None:
                raise ControlError(400, "give each line's taxAmount: no tax rate is known here")
            taxed = account.tax_type not in ("NONE", country.exempt_tax)
            tax_rate = country.tax_rate if taxed else Decimal(0)
            tax = money(amount * tax_rate / (1 + tax_rate))
        else:
            tax = Decimal("0.00")
        net = amount - tax if line_amount_types == "Inclusive" else amount
        base = (
            money(Decimal(str(item["baseAmount"]))) if "baseAmount" in item else money(net / rate)
        )
    except InvalidOperation as error:
        raise ControlError(400, "amounts must be numbers") from error
    return SandboxLine(
        line_id=str(uuid.uuid4()),
        account_id=account.account_id,
        description=item.get("description", ""),
        line_amount=amount,
        base_amount=base,
        quantity=Decimal(str(item.get("quantity", "1"))),
        tax_amount=tax,
        tax_type=account.tax_type if tax else "NONE",
        tracking=_tracking(org, item),
    )


def _tracking(org: SandboxOrganisation, item: dict[str, Any]) -> list[tuple[str, str]]:
    tracking = []
    for pair in item.get("tracking", []):
        category = next(
            (c for c in org.tracking_categories if pair["category"] in (c.name, c.category_id)),
            None,
        )
        option = (
            next((o for o in category.options if pair["option"] in (o.name, o.option_id)), None)
            if category
            else None
        )
        if category is None or option is None:
            raise ControlError(400, f"unknown tracking {pair}")
        tracking.append((category.category_id, option.option_id))
    return tracking


def _add_manual_journal(
    app: SandboxApp, org: SandboxOrganisation, body: dict[str, Any]
) -> dict[str, Any]:
    """Add a manual journal as a Xero user would (depreciation, an accrual, a reclassification).
    Xero sends no webhook for journals: a sync's If-Modified-Since read finds it."""
    status = body.get("status", "POSTED")
    if status not in ("DRAFT", "POSTED", "DELETED", "VOIDED", "ARCHIVED"):
        raise ControlError(400, "status must be DRAFT, POSTED, DELETED, VOIDED or ARCHIVED")
    narration = str(body.get("narration", "")).strip()
    if not narration:
        raise ControlError(400, "a manual journal needs a narration")
    with app.state.lock:
        lines = []
        for item in body["lines"]:
            account = next((a for a in org.accounts if a.code == str(item["accountCode"])), None)
            if account is None:
                raise ControlError(400, f"no account with code {item['accountCode']!r}")
            try:
                amount = money(Decimal(str(item["amount"])))
            except InvalidOperation as error:
                raise ControlError(400, "amounts must be numbers") from error
            lines.append(
                SandboxJournalLine(
                    account_id=account.account_id,
                    description=item.get("description", ""),
                    # Debit positive, credit negative (spec ManualJournalLine.LineAmount).
                    line_amount=amount,
                    tracking=_tracking(org, item),
                )
            )
        if len(lines) < 2:
            raise ControlError(400, "a manual journal needs at least two lines")
        if sum((line.line_amount for line in lines), Decimal(0)) != 0:
            raise ControlError(400, "a manual journal's debits and credits must balance")
        journal = SandboxManualJournal(
            journal_id=str(uuid.uuid4()),
            date=dt.date.fromisoformat(body.get("date") or app.clock.today().isoformat()),
            narration=narration,
            lines=lines,
            status=status,
            updated_utc=app.clock.now(),
        )
        org.manual_journals.append(journal)
        return {"manualJournal": manual_journal_json(journal, OrgIndex(org), with_lines=True)}


def _import_budget(
    app: SandboxApp, org: SandboxOrganisation, budget_id: str, content: str
) -> dict[str, Any]:
    with app.state.lock:
        budget = next((b for b in org.budgets if b.budget_id == budget_id), None)
        if budget is None:
            raise ControlError(404, f"no budget {budget_id}")
        try:
            updated = budget_import_file(org, budget, content)
        except BudgetImportError as error:
            raise ControlError(400, str(error)) from error
    return {"budgetId": budget_id, "valuesImported": updated}


def _add_budget(app: SandboxApp, org: SandboxOrganisation, body: dict[str, Any]) -> dict[str, Any]:
    """Budget Manager's "Add budget": an empty budget, found by the next sync."""
    with app.state.lock:
        try:
            budget = budget_add(
                org, name=body["name"], tracking=body.get("tracking") or [], now=app.clock.now()
            )
        except BudgetAddError as error:
            raise ControlError(400, str(error)) from error
        tracking = OrgIndex(org).tracking_json(budget.tracking)
    return {
        "budgetId": budget.budget_id,
        "type": budget.type,
        "description": budget.description,
        "tracking": tracking,
    }
