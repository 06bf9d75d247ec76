"""Create the demo firm with one user per role and print their logins. Safe to run again."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tenants import services
from tenants.models import Firm, Membership, User
from tenants.roles import Role

DEMO_PASSWORD = "demo-budgets-2026"
DEMO_FIRM_SLUG = "demo"


class Command(BaseCommand):
    help = "Create the demo firm, its members (one per role) and print how to log in."

    def add_arguments(self, parser):
        # The address the demo serves on (`manage.py demo` passes its own).
        parser.add_argument("--site", default="http://127.0.0.1:8000")

    @transaction.atomic
    def handle(self, *args, site, **options):
        # Known passwords for every role (ASVS 2.5.4): never on a production database.
        if not settings.DEBUG:
            raise CommandError(
                "demo_setup makes users with a published password: it runs with DEBUG=1 only."
            )
        site = site.rstrip("/")
        firm = Firm.objects.filter(slug=DEMO_FIRM_SLUG).first()
        logins = []
        for role in Role.values:
            email = f"{role}@demo.example.com"
            user, created = User.objects.get_or_create(
                email=email, defaults={"full_name": f"Demo {Role(role).label}"}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
            if firm is None:
                firm = services.firm_create(
                    name="Demo Advisory Partners", owner=user, slug=DEMO_FIRM_SLUG
                )
            Membership.objects.for_firm(firm).update_or_create(
                firm=firm, user=user, defaults={"role": role}
            )
            logins.append((Role(role).label, email))

        self.stdout.write(self.style.SUCCESS("\nDemo firm ready: Demo Advisory Partners"))
        self.stdout.write(f"Log in at {site}/ with password {DEMO_PASSWORD!r}:")
        for label, email in logins:
            self.stdout.write(f"  {label:<9} {email}")
        self.stdout.write("")
