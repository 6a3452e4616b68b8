"""Output shapes of the API (input is validated by the services)."""

from rest_framework import serializers

from downhill.datasets.models import Dataset
from downhill.experiments.models import Experiment
from downhill.runs.models import Run
from workers.contract import spec


class DatasetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dataset
        fields = [
            "id", "name", "status", "error", "format", "size_bytes", "sha256", "n_rows",
            "columns", "target", "task", "details", "created_at", "sent_at", "receiving",
        ]  # fmt: skip
        read_only_fields = fields


class DatasetUploadSerializer(serializers.Serializer):
    """The upload form, for the schema; validation itself is datasets.services.dataset_create."""

    file = serializers.FileField(
        help_text="A CSV with a header row (the delimiter is detected), a Parquet file, an NPZ "
        "with arrays X and y, or a ZIP of PNG/JPEG images in one folder per class."
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


class RunProgressSerializer(serializers.Serializer):
    """Where a run is: epochs and optimizer steps done, of how many (typed in the schema, so
    generated clients read `progress.steps`)."""

    epoch = serializers.IntegerField(read_only=True)
    epochs = serializers.IntegerField(read_only=True)
    step = serializers.IntegerField(read_only=True)
    steps = serializers.IntegerField(read_only=True)


class RunSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="experiment.dataset_id", read_only=True)
    progress = RunProgressSerializer(source="*", read_only=True)
    config = serializers.JSONField(source="experiment.config", read_only=True)
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    has_model = serializers.SerializerMethodField(help_text="whether POST .../predict/ can answer")

    class Meta:
        model = Run
        fields = [
            "id", "experiment", "dataset", "status", "attempt", "progress", "device", "worker",
            "created_at", "started_at", "finished_at", "duration_seconds", "error", "summary",
            "cancel_requested", "has_model", "config", "resumed_from", "resumed_from_step", "sent_at",
            "name", "tags", "notes",
        ]  # fmt: skip
        read_only_fields = fields

    def get_has_model(self, run) -> bool:
        return bool(run.artifacts.get("model"))


class RunMetadataSerializer(serializers.Serializer):
    """The body of PATCH /api/v1/runs/{id}/, for the schema; validation is
    runs.metadata.run_update_metadata."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False)
    notes = serializers.CharField(required=False, allow_blank=True)


class ExperimentConfigSerializer(serializers.Serializer):
    """The request body of POST /api/v1/experiments/, for the API docs, derived from the
    experiment spec (workers.contract.spec); validation itself is normalize_config."""

    name = serializers.CharField(
        required=False, help_text="Experiment name; defaults to a summary of the config."
    )

    def get_fields(self):
        fields = super().get_fields()
        fields.update({setting.key: config_field(setting) for setting in spec.SETTINGS})
        return fields


def _object_help(setting: spec.Setting) -> str:
    inner = " ".join(f"{s.key}: {spec.summary(s)}" for s in spec.settings_of(setting))
    return f"{spec.summary(setting)} {inner}"


_FIELD_TYPES = {
    "choice": lambda s, **kw: serializers.ChoiceField(s.choice_values(), **kw),
    "number": lambda s, **kw: serializers.FloatField(**kw),
    "integer": lambda s, **kw: serializers.IntegerField(**kw),
    "boolean": lambda s, **kw: serializers.BooleanField(**kw),
    "column": lambda s, **kw: serializers.CharField(**kw),
}


def config_field(setting: spec.Setting) -> serializers.Field:
    """The schema of one config key: its type, choices and the spec's help, default and range."""
    if setting.kind == "dataset":
        return serializers.IntegerField(help_text=f"{setting.help} (required).")
    make = _FIELD_TYPES.get(setting.kind)
    if make is None:  # objects, "full" batches, widths: any JSON, described in words
        return serializers.JSONField(required=False, help_text=_object_help(setting))
    return make(setting, required=False, help_text=spec.summary(setting))
