from django.conf import settings
from django.db import models


class Experiment(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="experiments"
    )
    # PROTECT: a dataset that experiments used cannot be deleted from under their runs.
    dataset = models.ForeignKey(
        "datasets.Dataset", on_delete=models.PROTECT, related_name="experiments"
    )
    name = models.CharField(max_length=200)
    # The validated config with every default filled in: the run spec the worker trains.
    config = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"
