"""REST API of the lab: /api/v1/lab/range-tests/ (create, list, read, cancel)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from downhill.api.parsers import JSONParser
from workers.contract.lab import DEFAULTS, MAX_STEPS, MIN_STEPS, MODES

from .models import RangeTest
from .services import range_test_create, range_test_request_cancel


class RangeTestSerializer(serializers.ModelSerializer):
    class Meta:
        model = RangeTest
        fields = ["id", "experiment", "status", "params", "series", "suggestions",
                  "stop_reason", "error", "cancel_requested", "created_at", "finished_at"]  # fmt: skip
        read_only_fields = fields


class RangeTestCreateSerializer(serializers.Serializer):
    """The body of POST /api/v1/lab/range-tests/ (for the docs; range_params validates)."""

    experiment = serializers.IntegerField(help_text="one of your experiments: its config is tested")
    start_lr = serializers.FloatField(required=False, default=DEFAULTS["start_lr"])
    end_lr = serializers.FloatField(required=False, default=DEFAULTS["end_lr"])
    steps = serializers.IntegerField(required=False, default=DEFAULTS["steps"],
                                     min_value=MIN_STEPS, max_value=MAX_STEPS)  # fmt: skip
    mode = serializers.ChoiceField(MODES, required=False, default=DEFAULTS["mode"])


class RangeTestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = RangeTestSerializer
    parser_classes = [JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RangeTest.objects.none()
        qs = RangeTest.objects.all()
        user = self.request.user
        return qs if user.is_staff else qs.filter(owner=user)

    @extend_schema(
        request=RangeTestCreateSerializer,
        responses={201: RangeTestSerializer},
        description="Queue an LR range test of an experiment's config on a training worker: "
        "the lr grows from start_lr to end_lr (exponentially or linearly) one value per step, "
        "until the last step or until the smoothed loss passes 4x its best.",
    )
    def create(self, request):
        test = range_test_create(owner=request.user, data=request.data)
        return Response(RangeTestSerializer(test).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=RangeTestSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a queued test, or ask a running one to stop."""
        return Response(RangeTestSerializer(range_test_request_cancel(self.get_object())).data)
