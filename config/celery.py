"""The Celery app. Tasks take ids (the firm's first), call one service, and are safe to run twice."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# DjangoTask gives delay_on_commit(), so tasks are queued only once the transaction commits.
app = Celery("budgets", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Tasks below an app's own package: one module per budgeting job.
app.autodiscover_tasks(
    ["budgeting.ledger", "budgeting.drafts", "budgeting.approvals", "budgeting.publishing"]
)
app.autodiscover_tasks(["budgeting"], related_name="pipeline")
app.autodiscover_tasks(["integrations.slack"])
