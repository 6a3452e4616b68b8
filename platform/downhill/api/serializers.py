"""Output shapes of the API (input is validated by the services)."""

from rest_framework import serializers

from downhill.datasets.models import Dataset
from downhill.experiments.models import Experiment
from downhill.runs.models import Run


class DatasetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dataset
        fields = [
            "id", "name", "status", "error", "format", "size_bytes", "sha256", "n_rows",
            "columns", "target", "task", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class DatasetUploadSerializer(serializers.Serializer):
    """The upload form, for the schema; validation itself is datasets.services.dataset_create."""

    file = serializers.FileField(help_text="CSV with a header row; the delimiter is detected.")
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

    class Meta:
        model = Run
        fields = [
            "id", "experiment", "dataset", "status", "attempt", "progress", "device", "worker",
            "created_at", "started_at", "finished_at", "duration_seconds", "error", "summary",
            "cancel_requested", "config",
        ]  # fmt: skip
        read_only_fields = fields

    def get_progress(self, run) -> dict:
        return {"epoch": run.epoch, "epochs": run.epochs, "step": run.step, "steps": run.steps}
