"""REST API of a run's loss landscapes: /api/v1/lab/landscapes/ (estimate, create, list,
read, cancel)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from downhill.api.parsers import JSONParser
from workers.contract.landscape import DEFAULTS, DIRECTIONS, KINDS, MAX_GRID, MAX_ROWS, MIN_GRID

from .landscape_services import landscape_create, landscape_plan, landscape_request_cancel
from .models import Landscape


class LandscapeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Landscape
        fields = ["id", "run", "kind", "status", "params", "cost", "cells_done", "result",
                  "parts", "error", "cancel_requested", "created_at", "finished_at"]  # fmt: skip
        read_only_fields = fields


class LandscapeRequestSerializer(serializers.Serializer):
    """The body of POST /api/v1/lab/landscapes/ (for the docs; landscape_params validates)."""

    run = serializers.IntegerField(help_text="one of your runs that succeeded")
    kind = serializers.ChoiceField(KINDS, required=False, default=DEFAULTS["kind"],
                                   help_text="line: initial to final weights; surface: a grid")  # fmt: skip
    grid = serializers.IntegerField(required=False, default=DEFAULTS["grid"], min_value=MIN_GRID,
                                    max_value=MAX_GRID, help_text="points per axis")  # fmt: skip
    rows = serializers.IntegerField(required=False, default=DEFAULTS["rows"], min_value=1,
                                    max_value=MAX_ROWS,
                                    help_text="at most this many training and validation rows")  # fmt: skip
    range = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2,
                                  required=False, help_text="[low, high] of each axis")  # fmt: skip
    directions = serializers.ChoiceField(DIRECTIONS, required=False,
                                         help_text="a surface's plane: the trajectory's PCA "
                                         "plane (with snapshots), or random filter-normalized")  # fmt: skip
    seed = serializers.IntegerField(required=False, default=DEFAULTS["seed"])
    parts = serializers.IntegerField(required=False, default=DEFAULTS["parts"], min_value=1,
                                     help_text="a surface's cells split into this many tasks on "
                                     "the training queue (at most one per grid row)")  # fmt: skip


class CostSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    kind = serializers.CharField()
    params = serializers.JSONField()
    cost = serializers.JSONField(help_text="cells, batches per cell, forward_passes, rows")


class LandscapeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = LandscapeSerializer
    parser_classes = [JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Landscape.objects.none()
        qs = Landscape.objects.all()
        user = self.request.user
        qs = qs if user.is_staff else qs.filter(owner=user)
        run = self.request.query_params.get("run")
        return qs.filter(run_id=run) if run and run.isdigit() else qs

    @extend_schema(parameters=[OpenApiParameter("run", int, description="one run's landscapes")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=LandscapeRequestSerializer,
        responses={201: LandscapeSerializer},
        description="Queue a loss landscape of a finished run on a training worker: the loss "
        "along the line from its initial to its final weights, or on a grid around its final "
        "weights (the trajectory's PCA plane, or two filter-normalized random directions), on "
        "its training and validation rows. `cost` says how many forward passes it takes.",
    )
    def create(self, request):
        landscape = landscape_create(owner=request.user, data=request.data)
        return Response(LandscapeSerializer(landscape).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LandscapeRequestSerializer, responses=CostSerializer)
    @action(detail=False, methods=["post"])
    def estimate(self, request):
        """The settings and cost of a landscape, checked as create checks them; nothing is
        created or sent."""
        run, params, cost = landscape_plan(owner=request.user, data=request.data)
        return Response({"run": run.id, "kind": params["kind"], "params": params, "cost": cost})

    @extend_schema(request=None, responses=LandscapeSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a queued landscape, or ask a running one to stop after its current row."""
        landscape = landscape_request_cancel(self.get_object())
        return Response(LandscapeSerializer(landscape).data)
