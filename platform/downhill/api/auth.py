"""Accounts over the API: sign-up, the login token, and named tokens a user can revoke."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from downhill.accounts.models import ApiToken
from downhill.accounts.services import (
    SignupClosed,
    token_create,
    token_default,
    token_revoke,
    user_register,
)

from .schema import error_response


class TokenView(APIView):
    """`{"username", "password"}` -> `{"token"}`: the user's "default" token (the same one on
    every call); send it as `Authorization: Token <key>`."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "auth"

    @extend_schema(
        request=AuthTokenSerializer,
        responses=inline_serializer("Token", {"token": serializers.CharField()}),
    )
    def post(self, request):
        credentials = AuthTokenSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        return Response({"token": token_default(user=credentials.validated_data["user"]).key})


class RegisterSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True)
    email = serializers.EmailField(required=False, allow_blank=True)


class RegisterView(APIView):
    """Create an account (when DOWNHILL_ALLOW_SIGNUP is on) and get its token."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "auth"

    @extend_schema(
        request=RegisterSerializer,
        responses={
            201: inline_serializer(
                "Registered",
                {"username": serializers.CharField(), "token": serializers.CharField()},
            ),
            403: error_response("Sign-up is turned off on this server."),
        },
    )
    def post(self, request):
        body = request.data if isinstance(request.data, dict) else {}
        try:
            user = user_register(
                username=body.get("username"),
                password=body.get("password"),
                email=body.get("email") or "",
            )
        except SignupClosed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return Response(
            {"username": user.username, "token": token_default(user=user).key},
            status=status.HTTP_201_CREATED,
        )


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]
        read_only_fields = fields


class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """The signed-in user's API tokens: list (keys shown by prefix only), create, revoke."""

    serializer_class = ApiTokenSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    @extend_schema(
        request=inline_serializer("NewToken", {"name": serializers.CharField()}),
        responses={
            201: inline_serializer(
                "CreatedToken",
                {
                    "id": serializers.IntegerField(),
                    "name": serializers.CharField(),
                    "token": serializers.CharField(),
                },
            )
        },
    )
    def create(self, request):
        body = request.data if isinstance(request.data, dict) else {}
        token = token_create(user=request.user, name=body.get("name"))
        return Response(
            {"id": token.id, "name": token.name, "token": token.key}, status=status.HTTP_201_CREATED
        )

    def perform_destroy(self, instance):
        token_revoke(token=instance)
