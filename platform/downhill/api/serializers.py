"""Output shapes of the API (input is validated by the services)."""

from rest_framework import serializers

from downhill.datasets.models import Dataset
from downhill.experiments import config as defaults
from downhill.experiments.models import Experiment
from downhill.runs.models import Run
from workers.contract.choices import OPTIMIZERS, TASKS
from workers.contract.losses import LOSSES_BY_TASK


class DatasetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dataset
        fields = [
            "id", "name", "status", "error", "format", "size_bytes", "sha256", "n_rows",
            "columns", "target", "task", "details", "created_at", "sent_at",
        ]  # fmt: skip
        read_only_fields = fields


class DatasetUploadSerializer(serializers.Serializer):
    """The upload form, for the schema; validation itself is datasets.services.dataset_create."""

    file = serializers.FileField(
        help_text="A CSV with a header row (the delimiter is detected), an NPZ with arrays X and y, "
        "or a ZIP of PNG/JPEG images in one folder per class."
    )
    name = serializers.CharField(required=False, help_text="Defaults to the file name.")
    target = serializers.CharField(required=False, help_text="Target column; defaults to the last.")


class ExperimentSerializer(serializers.ModelSerializer):
    runs = serializers.SerializerMethodField()

    class Meta:
        model = Experiment
        fields = ["id", "name", "dataset", "config", "runs", "created_at"]
        read_only_fields = fields

    def get_runs(self, experiment) -> list[int]:
        return sorted(run.id for run in experiment.runs.all())


class RunSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="experiment.dataset_id", read_only=True)
    progress = serializers.SerializerMethodField()
    config = serializers.JSONField(source="experiment.config", read_only=True)
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    has_model = serializers.SerializerMethodField(help_text="whether POST .../predict/ can answer")

    class Meta:
        model = Run
        fields = [
            "id", "experiment", "dataset", "status", "attempt", "progress", "device", "worker",
            "created_at", "started_at", "finished_at", "duration_seconds", "error", "summary",
            "cancel_requested", "has_model", "config", "resumed_from", "resumed_from_step", "sent_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_has_model(self, run) -> bool:
        return bool(run.artifacts.get("model"))

    def get_progress(self, run) -> dict:
        return {"epoch": run.epoch, "epochs": run.epochs, "step": run.step, "steps": run.steps}


class ExperimentConfigSerializer(serializers.Serializer):
    """The request body of POST /api/v1/experiments/, for the API docs. Validation itself is
    downhill.experiments.config.normalize_config; a test keeps the two in step."""

    name = serializers.CharField(
        required=False, help_text="Experiment name; defaults to a summary of the config."
    )
    dataset = serializers.IntegerField(help_text="Id of one of your datasets (required).")
    target = serializers.CharField(
        required=False, help_text="Column to predict; default: the dataset's target."
    )
    task = serializers.ChoiceField(
        TASKS, required=False, help_text="Default: inferred from the target column."
    )
    model = serializers.JSONField(
        required=False,
        help_text=f"Default {defaults.DEFAULT_MODEL}; or {{'type': 'linear'}}. "
        "Activations: relu, tanh, sigmoid, gelu.",
    )
    loss = serializers.ChoiceField(
        sorted({name for names in LOSSES_BY_TASK.values() for name in names}),
        required=False,
        help_text="Default: cross_entropy for classification, mse for regression.",
    )
    optimizer = serializers.ChoiceField(
        OPTIMIZERS, required=False, help_text=f"Default {defaults.DEFAULT_OPTIMIZER}."
    )
    learning_rate = serializers.FloatField(
        required=False,
        help_text=f"Step size, > 0. Default per optimizer: {defaults.DEFAULT_LEARNING_RATES}.",
    )
    momentum = serializers.FloatField(
        required=False,
        help_text="In [0, 1); sgd and rmsprop only. Default 0 for those, null otherwise.",
    )
    nesterov = serializers.BooleanField(
        required=False, help_text="Nesterov momentum; sgd with momentum > 0."
    )
    weight_decay = serializers.FloatField(
        required=False,
        help_text=f"L2 penalty, >= 0. Default {defaults.DEFAULT_WEIGHT_DECAY} else 0.",
    )
    batch_size = serializers.JSONField(
        required=False,
        help_text=f"Rows per optimizer step, 1 to {defaults.MAX_BATCH_SIZE:,} (default {defaults.DEFAULT_BATCH_SIZE}); "
        '1 is pure SGD; "full" is full-batch gradient descent.',
    )
    epochs = serializers.IntegerField(
        required=False,
        help_text=f"Passes over the training split, 1 to {defaults.MAX_EPOCHS} (default {defaults.DEFAULT_EPOCHS}).",
    )
    validation_split = serializers.FloatField(
        required=False,
        help_text=f"Share of rows held out, 0 to 0.9 (default {defaults.DEFAULT_VALIDATION_SPLIT}); 0: no validation.",
    )
    test_split = serializers.FloatField(
        required=False,
        help_text="Share of rows held out from training and validation alike, 0 to 0.9 (default 0); "
        "the final model is measured on them once, into summary.test_metrics. "
        "validation_split + test_split: at most 0.9.",
    )
    init = serializers.JSONField(
        required=False,
        help_text="Weight initialization: default, xavier_uniform, xavier_normal, he_uniform, he_normal, "
        'orthogonal, zeros, or {"type": "normal", "std": 0.01}.',
    )
    gradient_clipping = serializers.JSONField(
        required=False,
        help_text='{"max_norm": x} (total L2 norm) or {"max_value": x} (each component); default none.',
    )
    batch_size_schedule = serializers.JSONField(
        required=False,
        help_text='{"every_epochs": k, "factor": f, "max": m}: grow the batch instead of decaying the rate.',
    )
    lr_schedule = serializers.JSONField(
        required=False,
        help_text="{type: constant | step | exponential | cosine | warm_restarts | cyclic | one_cycle | plateau, "
        "...its parameters, warmup_epochs}; formulas in the README.",
    )
    optimizer_switch = serializers.JSONField(
        required=False,
        help_text='{"at_epoch": k, "optimizer": "sgd", "learning_rate": x, "momentum": 0.9}: finish with another optimizer.',
    )
    early_stopping = serializers.JSONField(
        required=False,
        help_text='{"patience_epochs": 5, "min_delta": 0, "monitor": "val_loss" | "val_accuracy", "restore_best": true}.',
    )
    swa = serializers.JSONField(
        required=False,
        help_text='{"start_epoch": k, "lr": x}: stochastic weight averaging from epoch k.',
    )
    precision = serializers.ChoiceField(
        ("fp32", "bf16"), required=False, help_text="bf16 autocast on a GPU; CPU runs stay fp32."
    )
    seed = serializers.IntegerField(
        required=False, help_text="0 to 2**31-1; drawn at random and recorded when absent."
    )
