"""REST API for "Compare optimizers": create (or a dry run that shows the cost), list, detail,
cancel."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from downhill.api.parsers import JSONParser

from .comparisons import (
    comparison_cancel,
    comparison_create,
    comparison_plan,
    comparison_rows,
    comparison_status,
    comparisons_visible_to,
    plan_summary,
    winners_run_ids,
)
from .models import Comparison


def compare_url(run_ids: list[int]) -> str | None:
    """The compare page of the winners' runs (their curves overlaid), once two have won."""
    if len(run_ids) < 2:
        return None
    return reverse("runs-compare") + "?ids=" + ",".join(map(str, run_ids))


class ComparisonSerializer(serializers.ModelSerializer):
    dataset = serializers.PrimaryKeyRelatedField(read_only=True)
    status = serializers.SerializerMethodField()
    trials = serializers.SerializerMethodField()
    optimizers = serializers.SerializerMethodField()
    compare_url = serializers.SerializerMethodField()

    class Meta:
        model = Comparison
        fields = ["id", "name", "dataset", "epochs", "learning_rates", "status", "trials",
                  "optimizers", "compare_url", "created_at"]  # fmt: skip

    def _rows(self, comparison) -> list[dict]:
        cache = self.context.setdefault("rows", {})
        if comparison.pk not in cache:
            cache[comparison.pk] = comparison_rows(comparison)
        return cache[comparison.pk]

    def get_status(self, comparison) -> str:
        return comparison_status(self._rows(comparison))

    def get_trials(self, comparison) -> int:
        return sum(row["sweep"].max_trials for row in self._rows(comparison))

    def get_optimizers(self, comparison) -> list[dict]:
        return [
            {
                "key": row["key"],
                "label": row["label"],
                "sweep": row["sweep"].id,
                "status": row["sweep"].status,
                "progress": row["progress"],
                "best": None if row["best"] is None else {
                    "trial": row["best"].number,
                    "run": row["best"].run_id,
                    "learning_rate": row["learning_rate"],
                    "val_loss": row["best"].value,
                },
            }
            for row in self._rows(comparison)
        ]  # fmt: skip

    def get_compare_url(self, comparison) -> str | None:
        return compare_url(winners_run_ids(self._rows(comparison)))


class ComparisonCreateSerializer(serializers.Serializer):
    dataset = serializers.IntegerField()
    epochs = serializers.IntegerField(required=False, help_text="per trial; 10 by default")
    learning_rates = serializers.ListField(
        child=serializers.FloatField(), required=False,
        help_text="tried for every optimizer; 1e-4, 1e-3, 1e-2, 1e-1, 1 by default",
    )  # fmt: skip
    max_concurrent = serializers.IntegerField(required=False, help_text="per optimizer")
    seed = serializers.IntegerField(required=False)
    dry_run = serializers.BooleanField(required=False, help_text="check and count, create nothing")


PLAN = inline_serializer(
    "ComparisonPlan",
    {
        "dataset": serializers.IntegerField(),
        "epochs": serializers.IntegerField(),
        "learning_rates": serializers.ListField(child=serializers.FloatField()),
        "optimizers": serializers.ListField(child=serializers.DictField()),
        "trials": serializers.IntegerField(),
        "steps_per_trial": serializers.IntegerField(),
        "steps": serializers.IntegerField(),
        "max_concurrent": serializers.IntegerField(),
        "seed": serializers.IntegerField(),
    },
)


class ComparisonViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ComparisonSerializer
    parser_classes = [JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Comparison.objects.none()
        return comparisons_visible_to(self.request.user)

    @extend_schema(request=ComparisonCreateSerializer,
                   responses={201: ComparisonSerializer, 200: PLAN})  # fmt: skip
    def create(self, request):
        """Six learning-rate sweeps, one per optimizer; with dry_run, only their cost."""
        if isinstance(request.data, dict) and request.data.get("dry_run") is True:
            return Response(plan_summary(comparison_plan(request.user, request.data)))
        comparison = comparison_create(owner=request.user, data=request.data)
        return Response(ComparisonSerializer(comparison).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ComparisonSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel every optimizer's sweep."""
        return Response(ComparisonSerializer(comparison_cancel(self.get_object())).data)
