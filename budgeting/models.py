"""The budgeting app's models, gathered from its packages so Django registers them all under
the one app label `budgeting` (no table moved when the app was split into packages)."""

from budgeting.approvals.models import (
    ApprovalDecision,
    ApprovalDigestOptOut,
    ApprovalDigestSent,
    ApprovalLink,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalStep,
    ExternalApprover,
)
from budgeting.drafts.models import (
    BudgetPolicy,
    ForecastRecord,
    ForecastRun,
    Proposal,
    ProposalBalance,
    ProposalLine,
)
from budgeting.ledger.models import (
    Account,
    ActualBalance,
    Budget,
    BudgetBalance,
    BudgetLine,
    DriverRemainder,
    Reconciliation,
    SyncRun,
    TrackingCategory,
    TrackingOption,
    TransactionLine,
    XeroOrganisation,
)
from budgeting.publishing.models import BudgetPublication
from budgeting.variance.models import (
    MaterialitySetting,
    NarrativeProviderSettings,
    VarianceNarrative,
    VarianceSummary,
)

__all__ = [
    "Account",
    "ActualBalance",
    "ApprovalDecision",
    "ApprovalDigestOptOut",
    "ApprovalDigestSent",
    "ApprovalLink",
    "ApprovalPolicy",
    "ApprovalRequest",
    "ApprovalStep",
    "Budget",
    "BudgetBalance",
    "BudgetLine",
    "BudgetPolicy",
    "BudgetPublication",
    "DriverRemainder",
    "ExternalApprover",
    "ForecastRecord",
    "ForecastRun",
    "MaterialitySetting",
    "NarrativeProviderSettings",
    "Proposal",
    "ProposalBalance",
    "ProposalLine",
    "Reconciliation",
    "SyncRun",
    "TrackingCategory",
    "TrackingOption",
    "TransactionLine",
    "VarianceNarrative",
    "VarianceSummary",
    "XeroOrganisation",
]
