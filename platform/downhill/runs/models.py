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
    # When the broker last took the run's task message; None while a queued run's message has
    # not been sent (the broker was unreachable): the sweep sends it again (services).
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    summary = models.JSONField(default=dict, blank=True)
    # Storage paths of what the run produced: {"checkpoints": {"best", "last"}, "model"}.
    artifacts = models.JSONField(default=dict, blank=True)
    # What predicting needs besides the model: fitted preprocessing, classes, output transform.
    inference = models.JSONField(default=dict, blank=True)
    # A run that goes on from a cancelled run's checkpoint (runs.services.run_resume): that
    # run and the checkpoint's step. RESTRICT: the run it needs stays while it exists, unless
    # both go together (their experiment deleted).
    resumed_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.RESTRICT, related_name="resumptions"
    )
    resumed_from_step = models.IntegerField(null=True, blank=True)
    # The user's own words on the run (runs.metadata.run_update_metadata): a name, tags (a
    # list of short strings) and free notes.
    name = models.CharField(max_length=200, blank=True)
    tags = models.JSONField(default=list, blank=True)
    notes = models.TextField(blank=True)

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


# Steps per MetricBlock. A 1,000,000-step series is 3,907 blocks, which a downsampled read
# merges into 666 buckets in a few ms (bench/metrics_read); a smaller block makes more rows to
# read and write, a larger one coarser buckets for series of a few hundred thousand steps.
BLOCK_STEPS = 256


class SeriesExtremes(models.Model):
    """The lowest, highest (the earliest on a tie) and last point of a stretch of one series:
    what a MetricBlock keeps of its points and a MetricSpan of its blocks."""

    lo_step = models.IntegerField()
    lo_value = models.FloatField()
    hi_step = models.IntegerField()
    hi_value = models.FloatField()
    last_step = models.IntegerField()
    last_value = models.FloatField()

    class Meta:
        abstract = True


class MetricBlock(SeriesExtremes):
    """The summary of one series over the BLOCK_STEPS steps of block number `block`
    (steps block * BLOCK_STEPS + 1 to (block + 1) * BLOCK_STEPS; steps count from 1): how many
    points it holds, its lowest and highest point (the earliest on a tie) and its last point.
    Always exactly the aggregate of its MetricChunk's points: metrics_record and run_discard_after
    recompute it in the transaction that changes them. A downsampled read of a long series
    merges whole blocks instead of reading every point (runs.selectors.run_metrics_series)."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metric_blocks")
    name = models.CharField(max_length=64)
    block = models.IntegerField(help_text="(step - 1) // BLOCK_STEPS")
    n = models.IntegerField(help_text="points in the block")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "name", "block"], name="metric_block_unique_block"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}[block {self.block}]: {self.n} points"


class MetricChunk(models.Model):
    """The points of one series in one block of BLOCK_STEPS steps (the steps of its MetricBlock),
    packed: which steps hold a point (a bitmap), their values (float32 where every value of the
    chunk is exactly a float32, as the engine's losses are; else float64) and their wall times
    (float32 offsets from `wall_base` where that is exact, else float64). Nothing is rounded:
    every point reads back exactly as written, at ~9-17 bytes a point instead of ~160 as one row
    each (bench/metrics_write). Written only by runs.services.metrics_record, through
    runs.metric_chunks (the codec, the merge and the reads)."""

    id = models.BigAutoField(primary_key=True)
    # No index of its own: the unique (run, name, block) index serves the run's look-ups.
    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, related_name="metric_chunks", db_index=False
    )
    name = models.CharField(max_length=64)
    block = models.IntegerField(help_text="(step - 1) // BLOCK_STEPS; steps below 1 too")
    n = models.IntegerField(help_text="points in the chunk")
    step_bits = models.BinaryField(
        help_text="BLOCK_STEPS bits, the first for the block's first step"
    )
    value_bytes = models.BinaryField(help_text="n little-endian float32 or float64, by step")
    wall_base = models.FloatField(help_text="the first point's wall time (Unix seconds)")
    wall_bytes = models.BinaryField(
        help_text="n float32 offsets from wall_base, or n float64 wall times"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "name", "block"], name="metric_chunk_unique_block"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}[chunk {self.block}]: {self.n} points"


# MetricBlocks per MetricSpan. A 1,000,000-step series is 977 spans: the compare page's first
# read (500 buckets) and the run page's (666) merge those instead of its 3,907 blocks, whose
# fetch and merge were the largest single part of a compare page's reads (bench/metrics_read);
# a coarser span would make fewer spans than those reads have buckets for a million steps.
SPAN_BLOCKS = 4
SPAN_STEPS = SPAN_BLOCKS * BLOCK_STEPS


class MetricSpan(SeriesExtremes):
    """The summary of one series over the SPAN_BLOCKS blocks of span number `span` (steps
    span * SPAN_STEPS + 1 to (span + 1) * SPAN_STEPS), as MetricBlock summarises its points:
    how many, the lowest and highest (the earliest on a tie) and the last. Always exactly the
    aggregate of its blocks: runs.metric_spans recomputes it wherever blocks change. A read of
    a whole long series merges spans instead of blocks (runs.selectors)."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metric_spans")
    name = models.CharField(max_length=64)
    span = models.IntegerField(help_text="(step - 1) // SPAN_STEPS")
    n = models.IntegerField(help_text="points in the span")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "name", "span"], name="metric_span_unique_span"),
        ]

    def __str__(self) -> str:
        return f"{self.name}[span {self.span}]: {self.n} points"


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
