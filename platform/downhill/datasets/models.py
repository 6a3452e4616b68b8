from django.conf import settings
from django.db import models


class Dataset(models.Model):
    class Status(models.TextChoices):
        PROCESSING = "processing"
        READY = "ready"
        FAILED = "failed"

    class Task(models.TextChoices):
        CLASSIFICATION = "classification"
        REGRESSION = "regression"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="datasets"
    )
    name = models.CharField(max_length=200)
    file = models.FileField(upload_to="datasets/%Y/%m/", max_length=500)
    # "csv", "parquet", "npz" (arrays X and y) or "images" (a ZIP of one folder per class)
    format = models.CharField(max_length=20, default="csv")
    # What the worker reads when it is not the upload itself: the decoded images of a ZIP.
    arrays = models.FileField(upload_to="datasets/%Y/%m/", max_length=500, blank=True)
    delimiter = models.CharField(max_length=1, default=",")
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROCESSING)
    error = models.TextField(blank=True)
    n_rows = models.IntegerField(default=0)
    # [{"name", "dtype": "numeric"|"categorical", "missing", "distinct", "integer", stats...}
    #  | {"name", "dtype": "image", "shape": [channels, height, width], "pixel_scale"}]
    columns = models.JSONField(default=list)
    # Format-specific facts: array shapes and dtypes (npz); image size, colour, classes and
    # their counts, the source sizes (images).
    details = models.JSONField(default=dict, blank=True)
    target = models.CharField(max_length=200, blank=True)
    task = models.CharField(max_length=20, choices=Task.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the message that has a worker read a `processing` upload went to the broker; null
    # while the broker could not take it, until the sweep sends it.
    sent_at = models.DateTimeField(null=True, blank=True)
    # True while a large upload's bytes are still arriving: the worker reads them as they come
    # (receiving.py, growing.py), and the request clears it once the whole file is stored.
    receiving = models.BooleanField(default=False)
    # When a datasets worker took its message and began reading it; null while the message
    # waits for a worker, and again once a worker let go of an upload still arriving
    # (receiving.reading_yielded). A reader lets go only for an upload that waits
    # (receiving.others_waiting), not for one another worker reads.
    read_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    def column(self, name: str) -> dict | None:
        return next((c for c in self.columns if c["name"] == name), None)
