"""The budgeting app's models, gathered from its packages so Django registers them all under
the one app label `budgeting` (no table moved when the app was split into packages)."""

from budgeting.alerts.models import (
    Alert,
    AlertDelivery,
    AlertPoll,
    AlertRule,
    DocumentBatch,
    DocumentChange,
)
from budgeting.annual.models import AnnualDraft, AnnualLineFlag
from budgeting.approvals.models import (
    ApprovalChain,
    ApprovalDecision,
    ApprovalDigestOptOut,
    ApprovalDigestSent,
    ApprovalLink,
    ApprovalRequest,
    ApprovalStep,
    ExternalApprover,
)
from budgeting.cash.models import CashSetting
from budgeting.currency.models import BudgetRate
from budgeting.deals.models import Deal, SalesPipelineUpload
from budgeting.departments.models import DepartmentAssignment, DepartmentGapNote
from budgeting.drafts.models import (
    BudgetPolicy,
    Draft,
    DraftBalance,
    DraftLine,
    ForecastRecord,
    ForecastRun,
)
from budgeting.groups.models import (
    ClientGroup,
    ClientGroupMember,
    GroupTranslationRate,
    IntercompanyMapping,
)
from budgeting.ledger.models import (
    Account,
    ActualBalance,
    BalanceSheetBalance,
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
from budgeting.packs.models import PackBranding, PackDelivery, PackSchedule, ReportPack
from budgeting.publishing.models import (
    BudgetPublication,
    BudgetRollback,
    ForecastBudget,
    PublishingSetting,
)
from budgeting.scenarios.models import Scenario, ScenarioAdjustment
from budgeting.variance.models import (
    MaterialitySetting,
    NarrativeProviderSettings,
    VarianceNarrative,
    VarianceSummary,
)

__all__ = [
    "Account",
    "ActualBalance",
    "Alert",
    "AlertDelivery",
    "AlertPoll",
    "AlertRule",
    "AnnualDraft",
    "AnnualLineFlag",
    "ApprovalChain",
    "ApprovalDecision",
    "ApprovalDigestOptOut",
    "ApprovalDigestSent",
    "ApprovalLink",
    "ApprovalRequest",
    "ApprovalStep",
    "BalanceSheetBalance",
    "Budget",
    "BudgetBalance",
    "BudgetLine",
    "BudgetPolicy",
    "BudgetPublication",
    "BudgetRate",
    "BudgetRollback",
    "CashSetting",
    "ClientGroup",
    "ClientGroupMember",
    "Deal",
    "DepartmentAssignment",
    "DepartmentGapNote",
    "DocumentBatch",
    "DocumentChange",
    "Draft",
    "DraftBalance",
    "DraftLine",
    "DriverRemainder",
    "ExternalApprover",
    "ForecastBudget",
    "ForecastRecord",
    "ForecastRun",
    "GroupTranslationRate",
    "IntercompanyMapping",
    "MaterialitySetting",
    "NarrativeProviderSettings",
    "PackBranding",
    "PackDelivery",
    "PackSchedule",
    "PublishingSetting",
    "Reconciliation",
    "ReportPack",
    "SalesPipelineUpload",
    "Scenario",
    "ScenarioAdjustment",
    "SyncRun",
    "TrackingCategory",
    "TrackingOption",
    "TransactionLine",
    "VarianceNarrative",
    "VarianceSummary",
    "XeroOrganisation",
]
