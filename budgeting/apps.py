from django.apps import AppConfig


class BudgetingConfig(AppConfig):
    name = "budgeting"
    verbose_name = "Budgeting"

    def ready(self) -> None:
        # Register the packages' Celery tasks in every process, not only in workers (which
        # autodiscover them): services start tasks by name (core.tasks.enqueue).
        from budgeting import pipeline
        from budgeting.alerts import receivers as alerts_receivers  # noqa: F401
        from budgeting.alerts import tasks as alerts_tasks  # noqa: F401
        from budgeting.annual import receivers as annual_receivers  # noqa: F401
        from budgeting.annual import tasks as annual_tasks  # noqa: F401
        from budgeting.approvals import receivers  # noqa: F401 - connects on import
        from budgeting.approvals import tasks as approvals_tasks  # noqa: F401
        from budgeting.departments import tasks as departments_tasks  # noqa: F401
        from budgeting.drafts import tasks as drafts_tasks  # noqa: F401
        from budgeting.ledger import tasks as ledger_tasks  # noqa: F401
        from budgeting.packs import tasks as packs_tasks  # noqa: F401
        from budgeting.publishing import receivers as publishing_receivers  # noqa: F401
        from budgeting.publishing import tasks as publishing_tasks  # noqa: F401

        # A finished Xero sync starts the post-sync pipeline (the ledger does not import it).
        pipeline.connect()
