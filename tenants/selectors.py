"""Reads of firms, members and client organisations."""

from allauth.mfa.models import Authenticator
from django.db.models import QuerySet
from django_scopes import scopes_disabled

from tenants.models import ClientOrganisation, Firm, Invitation, Membership, User


def membership_for_user(*, user: User, firm_slug: str) -> Membership | None:
    # Unscoped on purpose: this is the lookup that decides which firm is in scope.
    with scopes_disabled():
        return (
            Membership.objects.select_related("firm")
            .filter(user=user, firm__slug=firm_slug)
            .first()
        )


def membership_list_for_user(*, user: User) -> list[Membership]:
    # Unscoped on purpose: the firm switcher lists the user's own firms, filtered by user.
    with scopes_disabled():
        return list(
            Membership.objects.select_related("firm").filter(user=user).order_by("firm__name")
        )


def membership_list(*, firm: Firm) -> QuerySet[Membership]:
    return Membership.objects.for_firm(firm).select_related("user")


def invitation_list_pending(*, firm: Firm) -> list[Invitation]:
    invitations = Invitation.objects.for_firm(firm)
    return [invitation for invitation in invitations if invitation.is_pending]


def client_organisation_list(
    *, firm: Firm, include_archived: bool = False
) -> QuerySet[ClientOrganisation]:
    organisations = ClientOrganisation.objects.for_firm(firm)
    return organisations if include_archived else organisations.filter(archived_at__isnull=True)


def user_has_mfa(*, user: User) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
