"""REST API for sweeps: create, list, detail, cancel, trials, importance."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from downhill.api.parsers import JSONParser

from .models import Sweep, Trial
from .selectors import (
    sweep_best,
    sweep_history,
    sweep_importance,
    sweep_progress,
    sweeps_visible_to,
)
from .services import sweep_cancel, sweep_create


class TrialSerializer(serializers.ModelSerializer):
    run = serializers.PrimaryKeyRelatedField(read_only=True)
    run_status = serializers.CharField(source="run.status", default=None, read_only=True)

    class Meta:
        model = Trial
        fields = ["number", "state", "params", "value", "intermediate", "prune", "error",
                  "run", "run_status", "created_at", "finished_at"]  # fmt: skip


class SweepSerializer(serializers.ModelSerializer):
    dataset = serializers.PrimaryKeyRelatedField(read_only=True)
    progress = serializers.SerializerMethodField()
    best = serializers.SerializerMethodField()

    class Meta:
        model = Sweep
        fields = ["id", "name", "dataset", "base", "space", "method", "seed", "objective",
                  "direction", "max_trials", "max_concurrent", "pruner", "status",
                  "created_at", "finished_at", "progress", "best"]  # fmt: skip

    def get_progress(self, sweep) -> dict:
        return sweep_progress(sweep)

    def get_best(self, sweep) -> dict | None:
        best = sweep_best(sweep)
        return TrialSerializer(best).data if best else None


class SweepCreateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False)
    base = serializers.DictField(help_text="an experiment config (as POST /experiments/)")
    space = serializers.DictField(
        help_text="setting -> {type, values | low, high, log, step, when}"
    )
    method = serializers.ChoiceField(["grid", "random", "tpe"], required=False)
    seed = serializers.IntegerField(required=False)
    objective = serializers.CharField(required=False)
    direction = serializers.ChoiceField(["minimize", "maximize"], required=False)
    max_trials = serializers.IntegerField(required=False)
    max_concurrent = serializers.IntegerField(required=False)
    pruner = serializers.DictField(required=False)


IMPORTANCE = inline_serializer(
    "SweepImportance",
    {
        "importance": serializers.DictField(child=serializers.FloatField()),
        "evaluator": serializers.CharField(),
        "message": serializers.CharField(),
        "history": serializers.ListField(child=serializers.DictField()),
    },
)


class SweepViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SweepSerializer
    parser_classes = [JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Sweep.objects.none()
        return sweeps_visible_to(self.request.user)

    @extend_schema(request=SweepCreateSerializer, responses={201: SweepSerializer})
    def create(self, request):
        """Create a sweep and queue its first trials; every bad field is named (400)."""
        sweep = sweep_create(owner=request.user, data=request.data)
        return Response(SweepSerializer(sweep).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: SweepSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Stop the sweep: its queued trials are cancelled, its running ones asked to stop."""
        return Response(SweepSerializer(sweep_cancel(self.get_object())).data)

    @extend_schema(responses={200: TrialSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def trials(self, request, pk=None):
        """Every trial, in number order, with its run and why it was pruned."""
        trials = self.get_object().trials.select_related("run").order_by("number")
        return Response(TrialSerializer(trials, many=True).data)

    @extend_schema(responses={200: IMPORTANCE})
    @action(detail=True, methods=["get"])
    def importance(self, request, pk=None):
        """Parameter importance (Optuna's fANOVA) and the best value so far per trial."""
        sweep = self.get_object()
        return Response({**sweep_importance(sweep), "history": sweep_history(sweep)})
