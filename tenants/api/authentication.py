"""`Authorization: Bearer <key>` authentication for the partner API."""

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions

from tenants.api_keys import ApiKeyError, api_key_acting_user, api_key_authenticate


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates a firm's API key. `request.auth` is the ApiKey; `request.user` is the member
    the key acts for (so history rows name them), or anonymous for a key that names nobody."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, key = header.partition(" ")
        if keyword.lower() != self.keyword.lower():
            # Not ours (e.g. Basic): let the next authenticator, or none, decide.
            return None
        key = key.strip()
        if not key or " " in key:
            raise exceptions.AuthenticationFailed(
                "Send the key as `Authorization: Bearer <key>`, with the key and nothing else.",
                code="invalid_header",
            )
        try:
            api_key, _firm = api_key_authenticate(key=key)
        except ApiKeyError as exc:
            raise exceptions.AuthenticationFailed(str(exc), code=exc.code) from exc
        return api_key_acting_user(api_key=api_key) or AnonymousUser(), api_key

    def authenticate_header(self, request) -> str:
        # Makes unauthenticated requests 401 (with this challenge) rather than 403.
        return f'{self.keyword} realm="api"'
