"""Factories for the tests, one for every model of tenants, integrations and budgeting
(tests/test_factories.py fails for a model without one). Firm-owned rows belong to the firm
passed in, or to the firm of the rows passed in: see "Every other model" below."""

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress
from django.db import models
from django.utils import timezone
from django.utils.text import slugify
from django_scopes import scope, scopes_disabled

from budgeting import models as budgeting
from integrations import models as integrations
from tenants.models import (
    INVITATION_LIFETIME,
    ApiKey,
    ClientOrganisation,
    Firm,
    Invitation,
    Membership,
    SecurityEvent,
    User,
)
from tenants.roles import Role

PASSWORD = "correct horse battery staple"


def reauthenticated_login(client, user: User) -> None:
    """Sign `user` in and enter the password again, as a person does before a sensitive change
    (an API key, a role, "replace the original"): those views ask for a recent password."""
    from django.urls import reverse

    client.force_login(user)
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302, response.content


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        obj.save()
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class FirmFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Firm

    name = factory.Sequence(lambda n: f"Firm {n} Advisory")
    slug = factory.Sequence(lambda n: f"firm-{n}")


def membership_create(*, firm: Firm, user: User | None = None, role: str = Role.PREPARER):
    with scopes_disabled():
        return Membership.objects.create(firm=firm, user=user or UserFactory(), role=role)


def client_organisation_create(*, firm: Firm, name: str = "Harbour Lane Café", **fields):
    with scopes_disabled():
        return ClientOrganisation.objects.create(firm=firm, name=name, **fields)


def api_key_create(*, firm: Firm, scopes=("read",), member: Membership | None = None, **fields):
    """A key of `firm`, made by its owner; an approve key naming a member is made by that
    member (approve keys are their creator's own). Returns (ApiKey, the key to send)."""
    from tenants.api_keys import api_key_create as create

    with scopes_disabled():
        owner = Membership.objects.filter(firm=firm, role=Role.OWNER).first()
    actor = member if member is not None and "approve" in scopes else owner
    new = create(
        firm=firm,
        actor=actor,
        name=fields.pop("name", "Test key"),
        scopes=list(scopes),
        member=member,
        **fields,
    )
    return new.api_key, new.key


# --- Every other model ------------------------------------------------------------------------
#
# Tenancy holds by construction. An organisation-owned row takes its firm from its organisation,
# and every parent row it needs (budget, account, draft, step...) is made in that same
# organisation. Pass the organisation, or any parent row, or only the firm, and the rest follows:
#     BudgetLineFactory(organisation=cast.organisation)   # budget and account in that organisation
#     BudgetBalanceFactory(budget_line=line)              # organisation and firm from the line
#     AccountFactory(firm=firm)                           # a new client organisation of that firm
# A row given parents of two firms or two organisations is refused (TenancyMismatch) rather
# than saved. Periods and dates are fixed (October 2026 closed, drafts from November): the suite
# may run with its clock anywhere. Expiry times are from the suite's clock, so the row is live.

OCTOBER = dt.date(2026, 10, 1)  # the last closed month
NOVEMBER = dt.date(2026, 11, 1)  # the first month of a draft
# Xero's ids are UUIDs; ours are made from a namespace and a sequence, so a run repeats them.
_XERO_IDS = uuid.UUID("5b0e1c52-2f7e-4c3a-9a53-0d3c6f1e8a11")


def _xero_id(kind: str) -> factory.Sequence:
    return factory.Sequence(lambda n: str(uuid.uuid5(_XERO_IDS, f"{kind}-{n}")))


def _sha256(kind: str) -> factory.Sequence:
    return factory.Sequence(lambda n: hashlib.sha256(f"{kind}-{n}".encode()).hexdigest())


def _money(amount: str) -> Decimal:
    return Decimal(amount).quantize(Decimal("0.01"))


class TenancyMismatch(ValueError):
    """A factory was given rows of two firms, or of two client organisations."""


def _rows(params: dict) -> list[models.Model]:
    return [v for k, v in params.items() if "__" not in k and isinstance(v, models.Model)]


def _tenancy_check(model_class, kwargs: dict) -> None:
    firm, organisation = kwargs.get("firm"), kwargs.get("organisation")
    for name, row in kwargs.items():
        if not isinstance(row, models.Model) or name == "firm":
            continue
        if getattr(row, "firm_id", None) not in (None, firm.pk):
            raise TenancyMismatch(
                f"{model_class.__name__}.{name} is of firm {row.firm_id}, not firm {firm.pk}."
            )
        if (
            organisation is not None
            and name != "organisation"
            and getattr(row, "organisation_id", organisation.pk) != organisation.pk
        ):
            raise TenancyMismatch(
                f"{model_class.__name__}.{name} is of organisation {row.organisation_id}, "
                f"not organisation {organisation.pk}."
            )


class FirmOwnedFactory(factory.django.DjangoModelFactory):
    """A row of one firm: the firm passed in, else the firm of a row passed in, else a new one.
    Saved with that firm in scope, as the product's own writes are."""

    class Meta:
        abstract = True

    firm = factory.SubFactory(FirmFactory)

    @classmethod
    def _tenancy_defaults(cls, params: dict) -> dict:
        if "firm" not in params:
            firm_rows = [r for r in _rows(params) if getattr(r, "firm_id", None) is not None]
            if firm_rows:
                params["firm"] = firm_rows[0].firm
        return params

    @classmethod
    def create(cls, **kwargs):
        return super().create(**cls._tenancy_defaults(dict(kwargs)))

    @classmethod
    def build(cls, **kwargs):
        return super().build(**cls._tenancy_defaults(dict(kwargs)))

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        _tenancy_check(model_class, kwargs)
        return super()._build(model_class, *args, **kwargs)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        _tenancy_check(model_class, kwargs)
        with scope(firm=kwargs["firm"]):
            return super()._create(model_class, *args, **kwargs)


class OrganisationOwnedFactory(FirmOwnedFactory):
    """A row of one client organisation (OrganisationOwned): the firm is the organisation's."""

    class Meta:
        abstract = True

    organisation = factory.SubFactory("tests.factories.ClientOrganisationFactory")
    firm = factory.SelfAttribute("organisation.firm")

    @classmethod
    def _tenancy_defaults(cls, params: dict) -> dict:
        if "organisation" in params:
            return params
        rows = _rows(params)
        owned = [r for r in rows if getattr(r, "organisation_id", None) is not None]
        if owned:
            params["organisation"] = owned[0].organisation
            return params
        firm = params.get("firm") or next(
            (r.firm for r in rows if getattr(r, "firm_id", None) is not None), None
        )
        if firm is not None:
            params["organisation__firm"] = firm
        return params


class _MemberUser(factory.SubFactory):
    """The user of a new member of the row's firm with `role`: whoever made or decided the row.
    Only made when the test does not name the user itself."""

    def __init__(self, role: str):
        super().__init__(
            "tests.factories.MembershipFactory", firm=factory.SelfAttribute("..firm"), role=role
        )

    def evaluate(self, instance, step, extra):
        return super().evaluate(instance, step, extra).user


def _in_organisation(factory_name: str, **fields) -> factory.SubFactory:
    return factory.SubFactory(
        f"tests.factories.{factory_name}",
        organisation=factory.SelfAttribute("..organisation"),
        **fields,
    )


# --- tenants ---


class MembershipFactory(FirmOwnedFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Role.PREPARER


class InvitationFactory(FirmOwnedFactory):
    class Meta:
        model = Invitation

    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.PREPARER
    token_hash = _sha256("invitation-token")
    invited_by = _MemberUser(Role.ADMIN)
    expires_at = factory.LazyFunction(lambda: timezone.now() + INVITATION_LIFETIME)


CLIENT_NAMES = ["Harbour Lane Café", "Kestrel Construction", "Totara Dental", "Pōhutukawa Press"]


class ClientOrganisationFactory(FirmOwnedFactory):
    class Meta:
        model = ClientOrganisation

    name = factory.Sequence(lambda n: f"{CLIENT_NAMES[n % len(CLIENT_NAMES)]} {n}")
    base_currency = "NZD"


class ApiKeyFactory(FirmOwnedFactory):
    """A read key made by an owner. The key itself is never known: use api_key_create to call
    the API with one."""

    class Meta:
        model = ApiKey

    name = "Reporting integration"
    prefix = factory.Sequence(lambda n: f"{n:08x}")
    key_hash = _sha256("api-key")
    scopes = factory.LazyFunction(lambda: [ApiKey.Scope.READ.value])
    created_by = _MemberUser(Role.OWNER)


# --- integrations ---


class XeroConnectionFactory(FirmOwnedFactory):
    class Meta:
        model = integrations.XeroConnection

    connected_by = _MemberUser(Role.ADMIN)
    auth_event_id = _xero_id("auth-event")
    access_token = factory.Sequence(lambda n: f"test-access-token-{n}")
    refresh_token = factory.Sequence(lambda n: f"test-refresh-token-{n}")
    # Xero's access tokens last 30 minutes.
    access_token_expires_at = factory.LazyFunction(
        lambda: timezone.now() + dt.timedelta(minutes=30)
    )
    scopes = "offline_access accounting.settings.read accounting.budgets.read"


class XeroTenantFactory(FirmOwnedFactory):
    """A Xero organisation reached through a connection and linked to a client organisation."""

    class Meta:
        model = integrations.XeroTenant

    connection = factory.SubFactory(XeroConnectionFactory, firm=factory.SelfAttribute("..firm"))
    client_organisation = factory.SubFactory(
        ClientOrganisationFactory, firm=factory.SelfAttribute("..firm")
    )
    tenant_id = _xero_id("tenant")
    xero_connection_id = _xero_id("connection")
    tenant_name = factory.LazyAttribute(
        lambda o: o.client_organisation.name if o.client_organisation else "Demo Company (NZ)"
    )


def _webhook_body(n: int) -> dict:
    # The shape of Xero's webhook payload (developer.xero.com/documentation/guides/webhooks).
    return {
        "events": [
            {
                "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{uuid.uuid5(_XERO_IDS, f'invoice-{n}')}",
                "resourceId": str(uuid.uuid5(_XERO_IDS, f"invoice-{n}")),
                "eventDateUtc": "2026-10-15T02:34:51.000",
                "eventType": "UPDATE",
                "eventCategory": "INVOICE",
                "tenantId": str(uuid.uuid5(_XERO_IDS, f"webhook-tenant-{n}")),
                "tenantType": "ORGANISATION",
            }
        ],
        "firstEventSequence": n,
        "lastEventSequence": n,
        "entropy": f"ENTROPY{n:08d}",
    }


class XeroWebhookDeliveryFactory(factory.django.DjangoModelFactory):
    """Not firm-owned: one delivery per app, whose events may concern several firms."""

    class Meta:
        model = integrations.XeroWebhookDelivery

    body = factory.Sequence(_webhook_body)
    body_hash = factory.LazyAttribute(
        lambda o: hashlib.sha256(json.dumps(o.body).encode()).hexdigest()
    )


class XeroWebhookEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = integrations.XeroWebhookEvent

    delivery = factory.SubFactory(XeroWebhookDeliveryFactory)
    tenant_id = _xero_id("webhook-event-tenant")
    event_category = "INVOICE"
    event_type = "UPDATE"
    resource_id = _xero_id("webhook-event-invoice")
    event_date_utc = "2026-10-15T02:34:51.000"


# --- budgeting: the ledger as synced ---


class XeroOrganisationFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.XeroOrganisation

    xero_organisation_id = _xero_id("organisation")
    name = factory.SelfAttribute("organisation.name")
    base_currency = factory.SelfAttribute("organisation.base_currency")
    country_code = "NZ"
    timezone = "NEWZEALANDSTANDARDTIME"
    financial_year_end_day = 31
    financial_year_end_month = 3
    period_lock_date = dt.date(2026, 10, 31)
    synced_at = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)


# (code, name, Xero's Account.Type, Account.Class)
CHART = [
    ("200", "Sales", "REVENUE", "REVENUE"),
    ("400", "Advertising", "EXPENSE", "EXPENSE"),
    ("469", "Rent", "EXPENSE", "EXPENSE"),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "EXPENSE"),
    ("270", "Interest Income", "OTHERINCOME", "REVENUE"),
    ("489", "Telephone & Internet", "EXPENSE", "EXPENSE"),
]


class AccountFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.Account

    class Params:
        chart = factory.Sequence(lambda n: CHART[n % len(CHART)])

    account_id = _xero_id("account")
    code = factory.LazyAttribute(lambda o: o.chart[0])
    name = factory.LazyAttribute(lambda o: o.chart[1])
    type = factory.LazyAttribute(lambda o: o.chart[2])
    account_class = factory.LazyAttribute(lambda o: o.chart[3])


class TrackingCategoryFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.TrackingCategory

    category_id = _xero_id("tracking-category")
    name = factory.Iterator(["Region", "Department"])


class TrackingOptionFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.TrackingOption

    category = _in_organisation("TrackingCategoryFactory")
    option_id = _xero_id("tracking-option")
    name = factory.Iterator(["North", "South", "East", "West"])


class BudgetFactory(OrganisationOwnedFactory):
    """The overall budget; `tracking=True` for a tracking budget of one option."""

    class Meta:
        model = budgeting.Budget

    class Params:
        tracking = factory.Trait(
            type=budgeting.Budget.Type.TRACKING,
            tracking_option=_in_organisation("TrackingOptionFactory"),
            description=factory.LazyAttribute(lambda o: f"{o.tracking_option.name} Budget"),
        )

    budget_id = _xero_id("budget")
    type = budgeting.Budget.Type.OVERALL
    description = "Overall Budget"
    updated_utc = dt.datetime(2026, 4, 1, 3, 15, tzinfo=dt.UTC)


class BudgetLineFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.BudgetLine

    budget = _in_organisation("BudgetFactory")
    account = _in_organisation("AccountFactory")


class BudgetBalanceFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.BudgetBalance

    budget_line = _in_organisation("BudgetLineFactory")
    period = NOVEMBER
    amount = _money("3000")


class ActualBalanceFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.ActualBalance

    account = _in_organisation("AccountFactory")
    period = OCTOBER
    amount = _money("3250")


class BalanceSheetBalanceFactory(OrganisationOwnedFactory):
    """A bank account's closing balance at a month's end, as the Balance Sheet shows it."""

    class Meta:
        model = budgeting.BalanceSheetBalance

    account = _in_organisation("AccountFactory", type="BANK", account_class="ASSET")
    row_key = factory.LazyAttribute(
        lambda o: o.account.account_id if o.account else "Current Year Earnings"
    )
    name = factory.LazyAttribute(lambda o: o.account.name if o.account else o.row_key)
    section = "Bank"
    account_class = budgeting.BalanceSheetBalance.Class.ASSET
    period = OCTOBER
    amount = _money("18250")


class TransactionLineFactory(OrganisationOwnedFactory):
    """A line of a supplier bill, as the sync stores it (base currency, signed for the P&L)."""

    class Meta:
        model = budgeting.TransactionLine

    document_type = "ACCPAY"
    document_id = _xero_id("invoice")
    document_number = factory.Sequence(lambda n: f"BILL-{n:04d}")
    line_id = _xero_id("line-item")
    date = dt.date(2026, 10, 14)
    account = _in_organisation("AccountFactory")
    contact_id = _xero_id("contact")
    contact_name = "Google Ireland"
    description = "Google Ads, October"
    amount = _money("1200")
    currency_code = factory.SelfAttribute("organisation.base_currency")
    updated_utc = dt.datetime(2026, 10, 14, 21, 5, tzinfo=dt.UTC)


class DriverRemainderFactory(OrganisationOwnedFactory):
    """What a month's synced lines leave unexplained of an account's P&L actual."""

    class Meta:
        model = budgeting.DriverRemainder

    account = _in_organisation("AccountFactory")
    period = OCTOBER
    actual = _money("3250")
    explained = _money("3237.60")
    remainder = _money("12.40")


class SyncRunFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.SyncRun

    kind = budgeting.SyncRun.Kind.FULL
    trigger = budgeting.SyncRun.Trigger.MANUAL


class ReconciliationFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.Reconciliation

    sync_run = _in_organisation("SyncRunFactory")
    kind = budgeting.Reconciliation.Kind.ACTUALS
    period = OCTOBER
    line = "net_profit"
    expected = _money("21900")
    synced = _money("21900")
    difference = factory.LazyAttribute(lambda o: o.synced - o.expected)


# --- budgeting: drafts ---


class BudgetPolicyFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.BudgetPolicy


class DraftFactory(OrganisationOwnedFactory):
    """A draft made by hand by a preparer of the firm, from November for six months."""

    class Meta:
        model = budgeting.Draft

    created_by = _MemberUser(Role.PREPARER)
    horizon = 6
    first_period = NOVEMBER
    last_actual_period = OCTOBER
    currency_code = factory.SelfAttribute("organisation.base_currency")


class DraftLineFactory(OrganisationOwnedFactory):
    """Advertising ran 4,100 over budget last month: a suggestion for the months ahead."""

    class Meta:
        model = budgeting.DraftLine

    draft = _in_organisation("DraftFactory")
    account = _in_organisation("AccountFactory")
    section = "operating_expenses"
    trigger = budgeting.DraftLine.Trigger.VARIANCE
    trigger_period = factory.SelfAttribute("draft.last_actual_period")
    trigger_actual = _money("7100")
    trigger_budget = _money("3000")
    trigger_variance = factory.LazyAttribute(lambda o: o.trigger_actual - o.trigger_budget)
    trigger_percent = Decimal("136.7")
    forecast_total = _money("19200")
    budget_total = _money("18000")
    method = "seasonal_naive"
    confidence = 60
    confidence_label = "medium"
    history_months = 24
    inputs_hash = _sha256("draft-line-inputs")


class ForecastDraftLineFactory(DraftLineFactory):
    """A line the rolling forecast suggested with no variance behind it: triggers and totals
    zero, the naive method; the tests give it its months (DraftBalanceFactory)."""

    trigger = budgeting.DraftLine.Trigger.FORECAST
    trigger_period = dt.date(2026, 10, 1)
    trigger_actual = Decimal("0")
    trigger_budget = Decimal("0")
    trigger_variance = Decimal("0")
    trigger_percent = None
    forecast_total = Decimal("0")
    budget_total = Decimal("0")
    method = "naive"
    inputs_hash = "0" * 64


class DraftBalanceFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.DraftBalance

    line = _in_organisation("DraftLineFactory")
    period = factory.SelfAttribute("line.draft.first_period")
    original_amount = _money("3000")
    suggested_amount = _money("3200")
    lo_80 = _money("2900")
    hi_80 = _money("3500")
    lo_95 = _money("2700")
    hi_95 = _money("3700")


class AnnualDraftFactory(OrganisationOwnedFactory):
    """FY2028 (April 2027 to March 2028) drafted from two years of actuals to October 2026."""

    class Meta:
        model = budgeting.AnnualDraft

    # One current draft a year per organisation: each row drafts the next year.
    financial_year = factory.Sequence(lambda n: 2028 + n)
    first_period = factory.LazyAttribute(lambda o: dt.date(o.financial_year - 1, 4, 1))
    draft = _in_organisation(
        "DraftFactory",
        source=budgeting.Draft.Source.ANNUAL,
        financial_year=factory.SelfAttribute("..financial_year"),
        first_period=factory.SelfAttribute("..first_period"),
        horizon=12,
    )
    history_first = dt.date(2024, 11, 1)
    history_last = OCTOBER
    departure_percent = Decimal("25.0")


class AnnualLineFlagFactory(OrganisationOwnedFactory):
    """October's 4,100 campaign: a one-off month of Advertising."""

    class Meta:
        model = budgeting.AnnualLineFlag

    annual = _in_organisation("AnnualDraftFactory")
    line = factory.LazyAttribute(
        lambda o: DraftLineFactory(
            firm=o.firm,
            organisation=o.organisation,
            draft=o.annual.draft,
            trigger=budgeting.DraftLine.Trigger.ANNUAL,
        )
    )
    kind = budgeting.AnnualLineFlag.Kind.ONE_OFF
    reason = "One-off months against the account's own seasonal pattern: Oct 2026 (7,100.00)."
    months = factory.LazyFunction(lambda: ["2026-10-01"])


class ForecastRecordFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.ForecastRecord

    account = _in_organisation("AccountFactory")
    made_at = OCTOBER
    target = NOVEMBER
    step = 1
    point = _money("3200")
    lo_80 = _money("2900")
    hi_80 = _money("3500")
    lo_95 = _money("2700")
    hi_95 = _money("3700")
    method = "seasonal_naive"
    inputs_hash = _sha256("forecast-record-inputs")


class ForecastRunFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.ForecastRun


# --- budgeting: approvals ---


class ScenarioFactory(OrganisationOwnedFactory):
    """A what-if scenario on the overall budget, from November for twelve months."""

    class Meta:
        model = budgeting.Scenario

    name = "Sales up 15%"
    base = budgeting.Scenario.Base.BUDGET
    base_budget = _in_organisation("BudgetFactory")
    first_period = NOVEMBER
    last_period = dt.date(2027, 10, 1)
    created_by = _MemberUser(Role.PREPARER)


class ScenarioAdjustmentFactory(OrganisationOwnedFactory):
    """Revenue up 15% over the scenario's months."""

    class Meta:
        model = budgeting.ScenarioAdjustment

    scenario = _in_organisation("ScenarioFactory")
    group = "revenue"
    change = "percent"
    value = _money("15")
    first_period = factory.SelfAttribute("scenario.first_period")
    last_period = factory.SelfAttribute("scenario.last_period")
    description = "Revenue up 15%"


class SalesPipelineUploadFactory(OrganisationOwnedFactory):
    """Version 1 of a client's sales pipeline, as of November, deals on Sales (200)."""

    class Meta:
        model = budgeting.SalesPipelineUpload

    version = factory.Sequence(lambda n: n + 1)
    as_of = NOVEMBER
    file_name = "pipeline.csv"
    default_account = _in_organisation("AccountFactory", chart=CHART[0])
    uploaded_by = _MemberUser(Role.PREPARER)


class DealFactory(OrganisationOwnedFactory):
    """A proposal for 10,000.00 at 50% closing in December."""

    class Meta:
        model = budgeting.Deal

    upload = _in_organisation("SalesPipelineUploadFactory")
    row = factory.Sequence(lambda n: n + 2)
    name = factory.Sequence(lambda n: f"Deal {n}")
    amount = _money("10000")
    stage = "Proposal"
    probability = Decimal("50")
    close_month = dt.date(2026, 12, 1)
    account = factory.SelfAttribute("upload.default_account")


# --- budgeting: departments ---


class DepartmentAssignmentFactory(OrganisationOwnedFactory):
    """A draft's North option, given to its manager outside the firm by email."""

    class Meta:
        model = budgeting.DepartmentAssignment

    draft = _in_organisation("DraftFactory")
    tracking_option = _in_organisation("TrackingOptionFactory")
    manager_email = factory.Sequence(lambda n: f"manager{n}@client.example.com")
    manager_name = factory.Sequence(lambda n: f"Department Manager {n}")


class DepartmentGapNoteFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.DepartmentGapNote

    draft = _in_organisation("DraftFactory")
    account = _in_organisation("AccountFactory")
    reason = "Head office costs are budgeted overall, not by department."


class ExternalApproverFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.ExternalApprover

    email = factory.Sequence(lambda n: f"budget.owner{n}@client.example.com")
    name = factory.Sequence(lambda n: f"Budget Owner {n}")


def _one_step_chain() -> list[dict]:
    return [
        {
            "name": "Partner review",
            "roles": [Role.APPROVER.value],
            "member_ids": [],
            "external_approver_ids": [],
            "condition": budgeting.ApprovalChain.Condition.ALWAYS.value,
            "change_above": None,
        }
    ]


class ApprovalChainFactory(OrganisationOwnedFactory):
    """One step: any approver of the firm."""

    class Meta:
        model = budgeting.ApprovalChain

    steps = factory.LazyFunction(_one_step_chain)


class ApprovalRequestFactory(OrganisationOwnedFactory):
    """A draft submitted by its preparer, at its current revision."""

    class Meta:
        model = budgeting.ApprovalRequest

    draft = _in_organisation("DraftFactory", status=budgeting.Draft.Status.SUBMITTED)
    revision = factory.SelfAttribute("draft.revision")
    chain_version = 1
    submitted_by = factory.SelfAttribute("draft.created_by")


class ApprovalStepFactory(OrganisationOwnedFactory):
    """The open first step of a request."""

    class Meta:
        model = budgeting.ApprovalStep

    request = _in_organisation("ApprovalRequestFactory")
    position = 1
    name = "Partner review"
    roles = factory.LazyFunction(lambda: [Role.APPROVER.value])
    status = budgeting.ApprovalStep.Status.OPEN
    opened_at = factory.LazyFunction(timezone.now)


def _approver_email(o) -> str:
    return (o.user or o.external_approver).email.lower()


class ApprovalDecisionFactory(OrganisationOwnedFactory):
    """An approval on screen by an approver of the firm. For an external approver's, pass
    external_approver and user=None."""

    class Meta:
        model = budgeting.ApprovalDecision

    step = _in_organisation("ApprovalStepFactory")
    request = factory.SelfAttribute("step.request")
    revision = factory.SelfAttribute("request.revision")
    decision = budgeting.ApprovalDecision.Decision.APPROVE
    channel = budgeting.ApprovalDecision.Channel.SCREEN
    user = _MemberUser(Role.APPROVER)
    external_approver = None
    email = factory.LazyAttribute(_approver_email)


class ApprovalLinkFactory(OrganisationOwnedFactory):
    """An emailed sign-off link for an external approver, bound to the step's revision."""

    class Meta:
        model = budgeting.ApprovalLink

    token_hash = _sha256("approval-link-token")
    step = _in_organisation("ApprovalStepFactory")
    draft = factory.SelfAttribute("step.request.draft")
    revision = factory.SelfAttribute("step.request.revision")
    user = None
    external_approver = _in_organisation("ExternalApproverFactory")
    email = factory.LazyAttribute(_approver_email)
    expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=7))


class ApprovalDigestOptOutFactory(FirmOwnedFactory):
    class Meta:
        model = budgeting.ApprovalDigestOptOut

    email = factory.Sequence(lambda n: f"no.digest{n}@example.com")


class ApprovalDigestSentFactory(FirmOwnedFactory):
    class Meta:
        model = budgeting.ApprovalDigestSent

    email = factory.Sequence(lambda n: f"digest{n}@example.com")
    day = dt.date(2026, 11, 2)
    steps = 2


# --- budgeting: publishing ---


def _import_file(o) -> str:
    # Budget Manager's import layout: one row per account, one column per month.
    return f"Account,Nov-26\n{o.budget_name} account,3200\n"


class ForecastBudgetFactory(OrganisationOwnedFactory):
    """The forecast budget beside the overall budget, named as the app suggests; not yet found
    in Xero (`budget` is set once a sync finds it)."""

    class Meta:
        model = budgeting.ForecastBudget

    original = _in_organisation("BudgetFactory")
    original_xero_budget_id = factory.SelfAttribute("original.budget_id")
    original_name = factory.SelfAttribute("original.description")
    name = "Rolling Forecast"


class PublishingSettingFactory(OrganisationOwnedFactory):
    """How an organisation publishes: into its forecast budget (the original kept)."""

    class Meta:
        model = budgeting.PublishingSetting
        django_get_or_create = ("organisation",)

    replace_original = False


class CashSettingFactory(OrganisationOwnedFactory):
    """The cash threshold a firm set for an organisation."""

    class Meta:
        model = budgeting.CashSetting
        django_get_or_create = ("organisation",)

    threshold = _money("10000")


class BudgetPublicationFactory(OrganisationOwnedFactory):
    """The import file of an approved draft, awaiting import into Xero."""

    class Meta:
        model = budgeting.BudgetPublication

    draft = _in_organisation("DraftFactory", status=budgeting.Draft.Status.AWAITING_IMPORT)
    budget = _in_organisation("BudgetFactory")
    xero_budget_id = factory.SelfAttribute("budget.budget_id")
    budget_name = factory.SelfAttribute("budget.description")
    file_name = factory.LazyAttribute(
        lambda o: f"{slugify(o.organisation.name)}-{slugify(o.budget_name)}-2026-11.csv"
    )
    file_content = factory.LazyAttribute(_import_file)
    expected = factory.LazyFunction(list)


class BudgetRollbackFactory(OrganisationOwnedFactory):
    """A verified file rolled back to the figures before it: the rollback draft in its
    organisation, carrying them through the chain."""

    class Meta:
        model = budgeting.BudgetRollback

    draft = _in_organisation("DraftFactory", source=budgeting.Draft.Source.ROLLBACK)
    publication = _in_organisation(
        "BudgetPublicationFactory", status=budgeting.BudgetPublication.Status.VERIFIED
    )
    to_publication = None
    reason = "The published figures were a mistake"


# --- budgeting: variance ---


class MaterialitySettingFactory(OrganisationOwnedFactory):
    """The organisation's default threshold (every account class)."""

    class Meta:
        model = budgeting.MaterialitySetting

    account_class = budgeting.MaterialitySetting.AccountClass.DEFAULT
    percent = Decimal("10.00")
    floor = _money("500")


class BudgetRateFactory(OrganisationOwnedFactory):
    """The rate the budget assumed for a currency, every month (units per unit of base)."""

    class Meta:
        model = budgeting.BudgetRate

    currency = factory.Sequence(lambda n: ("USD", "EUR", "GBP", "AUD", "JPY", "CAD")[n % 6])
    period = None
    rate = Decimal("1.270000")


def _narrative_facts(o) -> dict:
    return {
        "account": o.account.name,
        "period": o.period.isoformat(),
        "actual": "7100.00",
        "budget": "3000.00",
        "variance": "4100.00",
    }


class VarianceNarrativeFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.VarianceNarrative

    account = _in_organisation("AccountFactory")
    period = OCTOBER
    facts = factory.LazyAttribute(_narrative_facts)
    facts_hash = factory.LazyAttribute(
        lambda o: hashlib.sha256(json.dumps(o.facts, sort_keys=True).encode()).hexdigest()
    )
    text = factory.LazyAttribute(
        lambda o: f"{o.account.name} was 4,100.00 over budget in October: a one-off campaign."
    )
    generator = "local"
    drivers = factory.LazyFunction(list)


class VarianceSummaryFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.VarianceSummary

    period = OCTOBER
    currency_code = factory.SelfAttribute("organisation.base_currency")
    net_profit_actual = _money("21900")
    net_profit_budget = _money("20000")
    net_profit_variance = factory.LazyAttribute(lambda o: o.net_profit_actual - o.net_profit_budget)
    net_profit_percent = Decimal("9.5")
    net_profit_favourable = True
    material_count = 1


class NarrativeProviderSettingsFactory(FirmOwnedFactory):
    """Off, as every firm starts."""

    class Meta:
        model = budgeting.NarrativeProviderSettings


class SlackSettingsFactory(FirmOwnedFactory):
    """Off, as every firm starts."""

    class Meta:
        model = integrations.SlackSettings
        django_get_or_create = ("firm",)


class SlackMemberFactory(FirmOwnedFactory):
    class Meta:
        model = integrations.SlackMember

    user = _MemberUser(Role.APPROVER)
    slack_user_id = factory.Sequence(lambda n: f"U{n:08d}")
    source = integrations.SlackMember.Source.MANUAL


class SlackMessageFactory(FirmOwnedFactory):
    class Meta:
        model = integrations.SlackMessage

    purpose = "Test message"
    text = "Test message"
    channel = "#budget-alerts"


# --- budgeting: alerts ---


class AlertRuleFactory(OrganisationOwnedFactory):
    """A fixed limit on one expense account, emailed to the firm's owner."""

    class Meta:
        model = budgeting.AlertRule

    class Params:
        account = _in_organisation("AccountFactory")

    name = factory.Sequence(lambda n: f"Telephone watch {n}")
    threshold = budgeting.AlertRule.Threshold.LIMIT
    account_ids = factory.LazyAttribute(lambda o: [o.account.pk])
    limit = _money("500")
    recipients = factory.LazyFunction(lambda: [{"kind": "email", "email": "owner@example.com"}])


class AlertFactory(OrganisationOwnedFactory):
    """The rule's account NZ$140 over its limit on the 12th of December."""

    class Meta:
        model = budgeting.Alert

    rule = _in_organisation("AlertRuleFactory")
    # The account the rule watches.
    account = factory.LazyAttribute(
        lambda o: budgeting.Account.objects.for_firm(o.rule.firm).get(pk=o.rule.account_ids[0])
    )
    period = dt.date(2026, 12, 1)
    severity = budgeting.Alert.Severity.CRITICAL
    threshold = budgeting.AlertRule.Threshold.LIMIT
    day = 12
    actual = _money("640")
    edge = _money("500")
    by = _money("140")
    projected = _money("1653.33")
    summary = "Telephone is NZ$140.00 over its limit of NZ$500.00."


class AlertDeliveryFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.AlertDelivery

    alert = _in_organisation("AlertFactory")
    channel = budgeting.AlertDelivery.Channel.EMAIL
    recipient = "owner@example.com"


class AlertPollFactory(OrganisationOwnedFactory):
    """Where the If-Modified-Since polls of an organisation have got to."""

    class Meta:
        model = budgeting.AlertPoll


class DocumentBatchFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.DocumentBatch

    source = "webhook"
    endpoint = "Invoices"


class DocumentChangeFactory(OrganisationOwnedFactory):
    """An invoice Xero said changed, waiting for its batch."""

    class Meta:
        model = budgeting.DocumentChange

    endpoint = "Invoices"
    document_id = factory.LazyFunction(lambda: str(uuid.uuid4()))


# --- budgeting: report packs ---


class PackBrandingFactory(FirmOwnedFactory):
    class Meta:
        model = budgeting.PackBranding

    display_name = "Alder & Partners"
    colour = "#1f4e8c"


class PackScheduleFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.PackSchedule

    frequency = "monthly"
    send_day = 5
    external_emails = factory.LazyFunction(lambda: ["board@client.example"])


class ReportPackFactory(OrganisationOwnedFactory):
    """A built pack of one month (a different month for each pack of an organisation)."""

    class Meta:
        model = budgeting.ReportPack

    period = factory.Sequence(lambda n: dt.date(2026 - (n // 12), 12 - n % 12, 1))
    html = "<p>The month</p>"


class PackDeliveryFactory(OrganisationOwnedFactory):
    class Meta:
        model = budgeting.PackDelivery

    pack = _in_organisation("ReportPackFactory")
    reason = "schedule"
    recipients = factory.LazyFunction(lambda: ["board@client.example"])


# --- budgeting: client groups ---


class ClientGroupFactory(FirmOwnedFactory):
    """A group reporting in NZD, with no members yet."""

    class Meta:
        model = budgeting.ClientGroup

    name = factory.Sequence(lambda n: f"Harbour Group {n}")
    reporting_currency = "NZD"
    created_by = _MemberUser(Role.PREPARER)


class ClientGroupMemberFactory(FirmOwnedFactory):
    class Meta:
        model = budgeting.ClientGroupMember

    group = factory.SubFactory(ClientGroupFactory, firm=factory.SelfAttribute("..firm"))
    organisation = factory.SubFactory(
        "tests.factories.ClientOrganisationFactory", firm=factory.SelfAttribute("..firm")
    )


class GroupTranslationRateFactory(FirmOwnedFactory):
    """October's budget rate of the Australian dollar: A$0.92 to NZ$1."""

    class Meta:
        model = budgeting.GroupTranslationRate

    group = factory.SubFactory(ClientGroupFactory, firm=factory.SelfAttribute("..firm"))
    currency = "AUD"
    period = OCTOBER
    basis = "budget"
    rate = Decimal("0.92000000")


class IntercompanyMappingFactory(FirmOwnedFactory):
    """One member's management fees income against another member's management fees."""

    class Meta:
        model = budgeting.IntercompanyMapping

    group = factory.SubFactory(ClientGroupFactory, firm=factory.SelfAttribute("..firm"))
    name = "Management fees"
    income_account = factory.SubFactory(
        "tests.factories.AccountFactory",
        organisation__firm=factory.SelfAttribute("...firm"),
        code="260",
        name="Management Fees Received",
        type="REVENUE",
        account_class="REVENUE",
    )
    expense_account = factory.SubFactory(
        "tests.factories.AccountFactory",
        organisation__firm=factory.SelfAttribute("...firm"),
        code="480",
        name="Management Fees Paid",
        type="EXPENSE",
        account_class="EXPENSE",
    )


# --- tenants: security events ---


class SecurityEventFactory(FirmOwnedFactory):
    class Meta:
        model = SecurityEvent

    kind = "sign_in"
    actor = _MemberUser(Role.OWNER)
    actor_email = factory.LazyAttribute(lambda o: o.actor.email)
    ip = "203.0.113.9"


# --- A firm as the tests cast it: its members by role and one client organisation ---------


@dataclass
class FirmCast:
    firm: Firm
    members: dict[str, Membership]
    organisation: ClientOrganisation

    def member(self, role: str) -> Membership:
        return self.members[role]
