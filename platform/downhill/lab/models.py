"""The optimization lab's jobs: an LR range test of an experiment's config, a run's loss
landscape."""

from django.conf import settings
from django.db import models


class LabJob(models.Model):
    """What every lab job has: a status through its lifecycle, why it failed, whether a cancel
    was asked, and when it was asked for and ended."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class RangeTest(LabJob):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="range_tests"
    )
    experiment = models.ForeignKey(
        "experiments.Experiment", on_delete=models.CASCADE, related_name="range_tests"
    )
    # start_lr, end_lr, steps, mode: workers.contract.lab.RANGE_TEST_FIELDS, defaults filled in
    params = models.JSONField()
    # {"lr": [...], "loss": [...], "smoothed": [...]}, one entry per step, grown as it runs
    series = models.JSONField(default=dict)
    suggestions = models.JSONField(null=True, blank=True)
    stop_reason = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"LR range test {self.id} of experiment {self.experiment_id}"


class Landscape(LabJob):
    """A run's loss landscape (a line or a surface), computed on a training worker."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="landscapes"
    )
    run = models.ForeignKey("runs.Run", on_delete=models.CASCADE, related_name="landscapes")
    kind = models.CharField(max_length=16)  # workers.contract.landscape.KINDS
    # grid, rows, range, directions, seed: workers.contract.landscape, defaults filled in
    params = models.JSONField()
    cost = models.JSONField()  # {"cells", "batches", "forward_passes", "rows"}
    cells_done = models.PositiveIntegerField(default=0)
    # {"alphas", "betas", "train", "validation", "trajectory", "forward_passes", ...}; while a
    # surface runs, its cells so far in "partial" (coarse sub-grid first)
    result = models.JSONField(default=dict)
    # one entry per part (params["parts"] tasks): {"part", "status", "worker", "cells_done",
    # "forward_passes", "error"}
    parts = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"landscape {self.id} ({self.kind}) of run {self.run_id}"


from .playground_models import Playground  # noqa: E402, F401 (Django finds models here)
