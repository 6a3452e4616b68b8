"""The optimization lab's jobs: an LR range test of an experiment's config."""

from django.conf import settings
from django.db import models


class RangeTest(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="range_tests"
    )
    experiment = models.ForeignKey(
        "experiments.Experiment", on_delete=models.CASCADE, related_name="range_tests"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # start_lr, end_lr, steps, mode: workers.contract.lab.RANGE_TEST_FIELDS, defaults filled in
    params = models.JSONField()
    # {"lr": [...], "loss": [...], "smoothed": [...]}, one entry per step, grown as it runs
    series = models.JSONField(default=dict)
    suggestions = models.JSONField(null=True, blank=True)
    stop_reason = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"LR range test {self.id} of experiment {self.experiment_id}"

    @property
    def active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class Landscape(models.Model):
    """A run's loss landscape (a line or a surface), computed on a training worker."""

    Status = RangeTest.Status

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="landscapes"
    )
    run = models.ForeignKey("runs.Run", on_delete=models.CASCADE, related_name="landscapes")
    kind = models.CharField(max_length=16)  # workers.contract.landscape.KINDS
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # grid, rows, range, directions, seed: workers.contract.landscape, defaults filled in
    params = models.JSONField()
    cost = models.JSONField()  # {"cells", "batches", "forward_passes", "rows"}
    cells_done = models.PositiveIntegerField(default=0)
    # {"alphas", "betas", "train", "validation", "trajectory", "forward_passes", ...}; a
    # surface's rows grow while it runs
    result = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"landscape {self.id} ({self.kind}) of run {self.run_id}"

    @property
    def active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)
