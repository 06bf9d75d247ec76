"""Security events of sign-in, second factors and passwords, from allauth's and Django's
signals (the services record their own events: tenants/security_events.py)."""

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from tenants.models import User
from tenants.security_events import Kind, security_event_record_for_user

_METHODS = {
    Authenticator.Type.TOTP: "authenticator app",
    Authenticator.Type.RECOVERY_CODES: "recovery codes",
}


def _method(authenticator: Authenticator) -> str:
    return _METHODS.get(authenticator.type, str(authenticator.type))


@receiver(account_signals.user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    security_event_record_for_user(user=user, kind=Kind.SIGN_IN, request=request)


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    # Only for an account that exists: the firm is the account's. A made-up address belongs to
    # no firm (allauth's rate limits still count it).
    email = credentials.get("email") or credentials.get("username") or ""
    user = User.objects.filter(email__iexact=email).first() if email else None
    if user is not None:
        security_event_record_for_user(
            user=user, kind=Kind.SIGN_IN_FAILED, detail="wrong password", request=request
        )


@receiver(mfa_signals.authentication_failed)
def _mfa_failed(sender, request, user, authenticator, **kwargs):
    security_event_record_for_user(
        user=user, kind=Kind.MFA_FAILED, detail=_method(authenticator), request=request
    )


@receiver(mfa_signals.authenticator_added)
def _mfa_added(sender, request, user, authenticator, **kwargs):
    security_event_record_for_user(
        user=user, kind=Kind.MFA_ADDED, detail=_method(authenticator), request=request
    )


@receiver(mfa_signals.authenticator_removed)
def _mfa_removed(sender, request, user, authenticator, **kwargs):
    security_event_record_for_user(
        user=user, kind=Kind.MFA_REMOVED, detail=_method(authenticator), request=request
    )


@receiver(account_signals.password_changed)
def _password_changed(sender, request, user, **kwargs):
    security_event_record_for_user(user=user, kind=Kind.PASSWORD_CHANGED, request=request)


@receiver(account_signals.password_set)
def _password_set(sender, request, user, **kwargs):
    security_event_record_for_user(user=user, kind=Kind.PASSWORD_CHANGED, request=request)


@receiver(account_signals.password_reset)
def _password_reset(sender, request, user, **kwargs):
    security_event_record_for_user(user=user, kind=Kind.PASSWORD_RESET, request=request)
