from django.db import models
from django.utils import timezone


class Run(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    experiment = models.ForeignKey(
        "experiments.Experiment", on_delete=models.CASCADE, related_name="runs"
    )
    attempt = models.PositiveIntegerField(default=1)
    # Change only through downhill.runs.services.run_transition.
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    cancel_requested = models.BooleanField(default=False)
    epoch = models.IntegerField(default=0)
    epochs = models.IntegerField(default=0)
    step = models.IntegerField(default=0)
    steps = models.IntegerField(default=0)
    device = models.CharField(max_length=50, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Who owns the run while it runs: the attempt's worker token. Ownership lives here, not in
    # the broker message (Redis redelivers long tasks), so no run executes twice at once.
    lease = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    summary = models.JSONField(default=dict, blank=True)
    # Storage paths of what the run produced: {"checkpoints": {"best", "last"}, "model"}.
    artifacts = models.JSONField(default=dict, blank=True)
    # What predicting needs besides the model: fitted preprocessing, classes, output transform.
    inference = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"run {self.id} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from start to finish (or to now while it runs)."""
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return round((end - self.started_at).total_seconds(), 3)

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


FINISHED_STATUSES = (Run.Status.SUCCEEDED, Run.Status.FAILED, Run.Status.CANCELLED)


class MetricPoint(models.Model):
    """One value of one series at one step. Unique per (run, name, step): a retried write
    cannot duplicate a point. Written in batches by runs.services.metrics_record."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metric_points")
    name = models.CharField(max_length=64)
    step = models.IntegerField()
    value = models.FloatField()
    wall_time = models.FloatField(
        help_text="seconds since the Unix epoch when the value was measured"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "name", "step"], name="metric_point_unique_step"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}[{self.step}] = {self.value:g}"


class RunEvent(models.Model):
    """Something that happened at a step and belongs on the curves: a warm restart, a decay,
    the optimizer switch, SWA's start, early stopping, a new best checkpoint."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    step = models.IntegerField()
    epoch = models.IntegerField()
    type = models.CharField(max_length=32)
    details = models.JSONField(default=dict, blank=True)
    wall_time = models.FloatField()

    class Meta:
        ordering = ["step", "id"]
        indexes = [models.Index(fields=["run", "step"])]

    def __str__(self) -> str:
        return f"{self.type} at step {self.step}"
