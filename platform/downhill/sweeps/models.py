"""A sweep searches a space of settings around a base config; each trial is an ordinary
experiment with one run. These rows are the study's storage: Optuna's study is rebuilt from
them for every decision (study.py), so the trials, their runs and why one was pruned live in
one place, in the same transactions."""

from django.conf import settings
from django.db import models


class Comparison(models.Model):
    """ "Compare optimizers": one learning-rate sweep per optimizer on a dataset (comparisons.py)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comparisons"
    )
    dataset = models.ForeignKey(
        "datasets.Dataset", on_delete=models.PROTECT, related_name="comparisons"
    )
    name = models.CharField(max_length=200)
    epochs = models.PositiveIntegerField()
    learning_rates = models.JSONField(help_text="the rates every optimizer is tried at")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"comparison {self.id}"


class Sweep(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        FINISHED = "finished"
        CANCELLED = "cancelled"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sweeps"
    )
    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.PROTECT, related_name="sweeps")
    name = models.CharField(max_length=200)
    base = models.JSONField(help_text="the config every trial starts from")
    space = models.JSONField(help_text="setting -> distribution (space.py)")
    method = models.CharField(max_length=10)  # grid, random, tpe
    seed = models.IntegerField()
    objective = models.CharField(max_length=64)
    direction = models.CharField(max_length=10)  # minimize, maximize
    max_trials = models.PositiveIntegerField()
    max_concurrent = models.PositiveIntegerField()
    pruner = models.JSONField(default=dict)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.RUNNING, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # One optimizer of a comparison: which one ("sgd_momentum"), in the comparison's order.
    comparison = models.ForeignKey(
        Comparison, null=True, blank=True, on_delete=models.CASCADE, related_name="sweeps"
    )
    variant = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"sweep {self.id} ({self.status})"


class Trial(models.Model):
    class State(models.TextChoices):
        RUNNING = "running"  # its run is queued or running
        COMPLETE = "complete"
        PRUNED = "pruned"
        FAILED = "failed"
        CANCELLED = "cancelled"

    sweep = models.ForeignKey(Sweep, on_delete=models.CASCADE, related_name="trials")
    number = models.PositiveIntegerField()
    params = models.JSONField(default=dict)
    system_attrs = models.JSONField(default=dict)  # the sampler's and pruner's (Optuna's)
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.RUNNING, db_index=True
    )
    value = models.FloatField(null=True, blank=True)
    intermediate = models.JSONField(default=dict)  # epoch (as text) -> objective
    # Why it was pruned: {"pruner", "epoch", "rung", "threshold", "value", "message"}.
    prune = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)  # why it failed before it had a run
    run = models.OneToOneField(
        "runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="trial"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["sweep", "number"], name="trial_unique_number"),
        ]

    def __str__(self) -> str:
        return f"trial {self.number} of sweep {self.sweep_id} ({self.state})"
