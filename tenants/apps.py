from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Firms and members"

    def ready(self) -> None:
        # Security events of sign-in, second factors and passwords (tenants/receivers.py).
        from tenants import receivers  # noqa: F401
