from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A named API token (`Authorization: Token <key>`). A user may hold several, one per
    program, and revoke each on its own. `POST /api/v1/auth/token/` answers the "default" one."""

    key = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="api_token_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key[:6]}…)"

    @property
    def prefix(self) -> str:
        return self.key[:6]
