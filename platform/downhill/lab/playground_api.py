"""REST API of the playground: /api/v1/lab/playground/ (create and wait, list, read, cancel)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from downhill.api.parsers import JSONParser
from downhill.api.schema import error_response
from workers.contract.playground import DEFAULTS, MAX_STEPS, OPTIMIZERS

from .playground import (
    AlreadyFinished,
    playground_cancel,
    playground_create,
    playground_wait,
    playgrounds_visible_to,
)
from .playground_models import Playground


class PlaygroundSerializer(serializers.ModelSerializer):
    class Meta:
        model = Playground
        fields = ["id", "dataset", "status", "params", "result", "error", "created_at",
                  "finished_at"]  # fmt: skip
        read_only_fields = fields


class PlaygroundListSerializer(PlaygroundSerializer):
    """The list leaves out the result (a surface and every path); open one to read it."""

    class Meta(PlaygroundSerializer.Meta):
        fields = [f for f in PlaygroundSerializer.Meta.fields if f != "result"]
        read_only_fields = fields


class OptimizerChoiceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(list(OPTIMIZERS))
    learning_rate = serializers.FloatField(required=False, help_text="above 0; a default per kind")
    steps = serializers.IntegerField(required=False, min_value=1, max_value=MAX_STEPS, default=100)
    batch_size = serializers.IntegerField(required=False, help_text="0: the full batch")
    momentum = serializers.FloatField(required=False)


class PlaygroundRequestSerializer(serializers.Serializer):
    """The body of POST /api/v1/lab/playground/ (for the docs; playground_params validates)."""

    slope = serializers.FloatField(required=False, default=DEFAULTS["slope"])
    intercept = serializers.FloatField(required=False, default=DEFAULTS["intercept"])
    noise = serializers.FloatField(required=False, default=DEFAULTS["noise"])
    seed = serializers.IntegerField(required=False, default=DEFAULTS["seed"])
    start_w = serializers.FloatField(required=False, default=DEFAULTS["start_w"])
    start_b = serializers.FloatField(required=False, default=DEFAULTS["start_b"])
    grid = serializers.IntegerField(required=False, default=DEFAULTS["grid"])
    dataset = serializers.IntegerField(
        required=False, allow_null=True,
        help_text="a one-feature regression dataset of yours instead of the generated points",
    )  # fmt: skip
    optimizers = OptimizerChoiceSerializer(many=True, required=False)


class PlaygroundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = PlaygroundSerializer
    parser_classes = [JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Playground.objects.none()
        return playgrounds_visible_to(self.request.user)

    def get_serializer_class(self):
        return PlaygroundListSerializer if self.action == "list" else PlaygroundSerializer

    @extend_schema(
        request=PlaygroundRequestSerializer,
        responses={201: PlaygroundSerializer},
        description="Draw optimizers' paths over the exact MSE surface of y = w·x + b on a "
        "training worker. The answer waits for the worker (about a second) and carries the "
        "result; on a busy queue it comes back queued or running: read it again by its id.",
    )
    def create(self, request):
        playground = playground_wait(playground_create(owner=request.user, data=request.data))
        return Response(PlaygroundSerializer(playground).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={200: PlaygroundSerializer, 409: error_response("It has already ended.")},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a queued playground (say, behind a long run on a busy queue) or a running one."""
        try:
            playground = playground_cancel(self.get_object())
        except AlreadyFinished as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(PlaygroundSerializer(playground).data)
