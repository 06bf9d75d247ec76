"""The Celery app. Tasks take ids (the firm's first), call one service, and are safe to run twice."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# DjangoTask gives delay_on_commit(), so tasks are queued only once the transaction commits.
app = Celery("budgets", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The Xero integration's tasks live in integrations/xero/tasks.py, below its app's package.
app.autodiscover_tasks(["integrations.xero"])
