import datetime as dt
import uuid

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from tenants.managers import FirmScopedManager
from tenants.roles import Role

INVITATION_LIFETIME = dt.timedelta(days=7)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person. The email address is the login; firms are joined through Membership."""

    username = None
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


class Firm(models.Model):
    """The tenant: an accounting firm. Every firm-owned row elsewhere carries firm_id."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    # When on, owners, admins and approvers must have multi-factor authentication set up.
    require_mfa = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    objects = FirmScopedManager()
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["firm", "user"], name="membership_unique_user")
        ]
        ordering = ["user__email"]

    def __str__(self) -> str:
        return f"{self.user} in {self.firm} as {self.role}"


class Invitation(models.Model):
    """An invitation to join a firm by email: expiring and single use."""

    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    # Only the hash is stored; the token itself exists only in the email that was sent.
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = FirmScopedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.firm}"

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class ClientOrganisation(models.Model):
    """A client business of a firm; linked to one Xero organisation once connected."""

    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="client_organisations")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    base_currency = models.CharField(max_length=3, default="NZD")
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = FirmScopedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A firm's key to the partner API. Only a hash is stored; the key is shown once.

    The firm of every API request is this key's firm. A key with the approve scope names the
    member it approves as, so that segregation of duties applies to a person, not to a key.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Write drafts"
        APPROVE = "approve", "Approve"

    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    # The public part of the key, shown in lists so a key can be recognised without its secret.
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    # A JSON list rather than an ArrayField so the SQLite demo works too.
    scopes = models.JSONField(default=list)
    # A removed member's keys stop approving (the approve scope needs a member) but stay listed.
    member = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="api_keys"
    )
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = FirmScopedManager()
    # Use is recorded on the row itself; history keeps who made, changed and revoked the key.
    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}) of {self.firm}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class SecurityEvent(models.Model):
    """One security-relevant moment in a firm: who, what, when, from which address (ASVS 7.1).

    Append-only: written by tenants/security_events.py, never changed or deleted by the app or
    the admin (save refuses an existing row; delete refuses; on PostgreSQL a trigger refuses
    any UPDATE, migration 0005). A person's sign-ins are recorded
    in each firm they belong to, as each firm's owners answer for their own members.
    """

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        MFA_FAILED = "mfa_failed", "Two-factor code refused"
        MFA_ADDED = "mfa_added", "Two-factor method added"
        MFA_REMOVED = "mfa_removed", "Two-factor method removed"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET = "password_reset", "Password reset by email"
        API_KEY_CREATED = "api_key_created", "API key created"
        API_KEY_REVOKED = "api_key_revoked", "API key revoked"
        MEMBER_ROLE_CHANGED = "member_role_changed", "Member's role changed"
        MEMBER_REMOVED = "member_removed", "Member removed"
        XERO_CONNECTED = "xero_connected", "Xero connected"
        XERO_DISCONNECTED = "xero_disconnected", "Xero disconnected"

    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="security_events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # Who did it (or, for a failed sign-in, whose account was tried); the address is kept as
    # it was, so the row still says who after the user is deleted.
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_email = models.EmailField(blank=True)
    detail = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = FirmScopedManager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.actor_email} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Security events are append-only: a recorded one never changes.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Security events are append-only: a recorded one is never deleted.")
