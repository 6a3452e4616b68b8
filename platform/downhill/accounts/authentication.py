"""`Authorization: Token <key>` against our named ApiTokens, stored as salted digests."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .models import ApiToken
from .tokens import key_matches, key_prefix

# Writing last_used_at on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_for_key(key: str) -> ApiToken | None:
    """The token whose key this is (found by prefix, then the digest compared), or None."""
    candidates = ApiToken.objects.select_related("user").filter(prefix=key_prefix(key))
    return next((t for t in candidates if key_matches(key, salt=t.salt, digest=t.digest)), None)


class ApiTokenAuthentication(TokenAuthentication):
    model = ApiToken

    def authenticate_credentials(self, key):
        token = token_for_key(key)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed(
                f"This token ('{token.name}') expired on {token.expires_at:%Y-%m-%d %H:%M} UTC; "
                "create a new one with POST /api/v1/auth/token/."
            )
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
