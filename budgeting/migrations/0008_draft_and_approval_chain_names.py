"""One word per concept: a forecast draft is a Draft (it was Proposal in code) and an
organisation's approval chain is an ApprovalChain (it was ApprovalPolicy). Renames only: no row
moves and no data changes."""

import django.db.models.deletion
from django.db import migrations, models

_RENAMED_MODELS = [
    ("Proposal", "Draft"),
    ("ProposalLine", "DraftLine"),
    ("ProposalBalance", "DraftBalance"),
    ("HistoricalProposal", "HistoricalDraft"),
    ("HistoricalProposalLine", "HistoricalDraftLine"),
    ("HistoricalProposalBalance", "HistoricalDraftBalance"),
    ("ApprovalPolicy", "ApprovalChain"),
    ("HistoricalApprovalPolicy", "HistoricalApprovalChain"),
]

# (model, old field, new field), with model names as they are after the renames above.
_RENAMED_FIELDS = [
    ("approvallink", "proposal", "draft"),
    ("approvalrequest", "proposal", "draft"),
    ("approvalrequest", "policy_version", "chain_version"),
    ("historicalapprovalrequest", "proposal", "draft"),
    ("historicalapprovalrequest", "policy_version", "chain_version"),
    ("budgetpublication", "proposal", "draft"),
    ("historicalbudgetpublication", "proposal", "draft"),
    ("forecastrun", "proposal", "draft"),
    ("draftline", "proposal", "draft"),
    ("historicaldraftline", "proposal", "draft"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("budgeting", "0007_approval_reminders_digests"),
    ]

    operations = [
        # The unique constraints name the renamed field, so they go first and come back renamed
        # (SQLite rebuilds the table on a field rename and would rebuild them by the old name).
        migrations.RemoveConstraint(
            model_name="proposalbalance",
            name="proposal_balance_unique",
        ),
        migrations.RemoveConstraint(
            model_name="proposalline",
            name="proposal_line_overall_unique",
        ),
        migrations.RemoveConstraint(
            model_name="proposalline",
            name="proposal_line_tracking_unique",
        ),
        *(migrations.RenameModel(old, new) for old, new in _RENAMED_MODELS),
        *(
            migrations.RenameField(model_name=model, old_name=old, new_name=new)
            for model, old, new in _RENAMED_FIELDS
        ),
        # What follows the renames: Meta options, constraint and index names, related names.
        migrations.AlterModelOptions(
            name="approvalchain",
            options={},
        ),
        migrations.AlterModelOptions(
            name="draftline",
            options={"ordering": ["draft", "section", "account__code", "tracking_option__name"]},
        ),
        migrations.AlterModelOptions(
            name="historicalapprovalchain",
            options={
                "get_latest_by": ("history_date", "history_id"),
                "ordering": ("-history_date", "-history_id"),
                "verbose_name": "historical approval chain",
                "verbose_name_plural": "historical approval chains",
            },
        ),
        migrations.AlterModelOptions(
            name="historicaldraft",
            options={
                "get_latest_by": ("history_date", "history_id"),
                "ordering": ("-history_date", "-history_id"),
                "verbose_name": "historical draft",
                "verbose_name_plural": "historical drafts",
            },
        ),
        migrations.AlterModelOptions(
            name="historicaldraftbalance",
            options={
                "get_latest_by": ("history_date", "history_id"),
                "ordering": ("-history_date", "-history_id"),
                "verbose_name": "historical draft balance",
                "verbose_name_plural": "historical draft balances",
            },
        ),
        migrations.AlterModelOptions(
            name="historicaldraftline",
            options={
                "get_latest_by": ("history_date", "history_id"),
                "ordering": ("-history_date", "-history_id"),
                "verbose_name": "historical draft line",
                "verbose_name_plural": "historical draft lines",
            },
        ),
        migrations.RenameIndex(
            model_name="draft",
            new_name="budgeting_d_organis_3b801e_idx",
            old_name="budgeting_p_organis_3dc7ab_idx",
        ),
        migrations.AlterField(
            model_name="approvalchain",
            name="organisation",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="approval_chain",
                to="tenants.clientorganisation",
            ),
        ),
        migrations.AlterField(
            model_name="draft",
            name="organisation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="drafts",
                to="tenants.clientorganisation",
            ),
        ),
        migrations.AddConstraint(
            model_name="draftbalance",
            constraint=models.UniqueConstraint(
                fields=("line", "period"), name="draft_balance_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="draftline",
            constraint=models.UniqueConstraint(
                condition=models.Q(("tracking_option__isnull", True)),
                fields=("draft", "account"),
                name="draft_line_overall_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="draftline",
            constraint=models.UniqueConstraint(
                condition=models.Q(("tracking_option__isnull", False)),
                fields=("draft", "account", "tracking_option"),
                name="draft_line_tracking_unique",
            ),
        ),
    ]
