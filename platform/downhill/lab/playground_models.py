"""The playground's stored runs: the settings asked for, and what the worker drew from them."""

from django.conf import settings
from django.db import models


class Playground(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playgrounds"
    )
    # A one-feature regression dataset of the owner's; none: the generated line's points.
    dataset = models.ForeignKey(
        "datasets.Dataset", on_delete=models.CASCADE, null=True, blank=True,
        related_name="playgrounds",
    )  # fmt: skip
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # workers.contract.playground.playground_params: every default filled in
    params = models.JSONField()
    # workers.engine.lab.playground.playground: least_squares, surface, paths, max_stable_lr
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"playground {self.id}"

    @property
    def active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)
