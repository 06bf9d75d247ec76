"""Starting Celery tasks from services: by name, after the transaction commits.

Services never import task modules (tasks import services, not the other way round): they call
`enqueue("budgeting.tasks.approval_step_notify_task", firm.pk, step.pk)`. Queued on commit, a
task never runs against rows that a rollback took back, nor before the rows it needs are
visible to a worker.
"""

from __future__ import annotations

from django.db import transaction


def enqueue(name: str, *args: object) -> None:
    def send() -> None:
        # The project's app (loading it finds every task module), and its registry rather than
        # send_task: it honours task_always_eager (the demo, some tests) and fails loudly on a
        # name no module registered.
        from config.celery import app

        app.tasks[name].delay(*args)

    transaction.on_commit(send)
