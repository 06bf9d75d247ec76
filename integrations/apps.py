from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Register the Slack tasks in every process: services start them by name
        # (core.tasks.enqueue).
        from integrations.slack import tasks  # noqa: F401
