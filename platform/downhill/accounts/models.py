from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A named API token (`Authorization: Token <key>`). A user may hold several, one per
    program, and revoke each on its own. Only a salted SHA-256 digest of the key is stored,
    with its first characters (`prefix`) to find it and to show it: the key itself is shown
    once, when the token is created (accounts/tokens.py)."""

    prefix = models.CharField(max_length=8, db_index=True)
    salt = models.CharField(max_length=32)
    digest = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="api_token_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
