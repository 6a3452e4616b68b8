"""Accounts over the API: sign-up, signing in for a token, and named tokens a user can revoke."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from downhill.accounts.models import ApiToken
from downhill.accounts.services import (
    DEFAULT_TOKEN_NAME,
    MAX_TOKEN_DAYS,
    IssuedToken,
    SignupClosed,
    token_create,
    token_revoke,
    user_register,
)
from downhill.accounts.signin_limits import sign_in

from .schema import error_response


class SignInSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(write_only=True, trim_whitespace=False)
    name = serializers.CharField(
        required=False, max_length=100, help_text='the program it is for ("default" if left out)'
    )
    expires_in_days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_TOKEN_DAYS,
        help_text="valid until revoked if left out",
    )


ISSUED_TOKEN = inline_serializer(
    "IssuedToken",
    {
        "id": serializers.IntegerField(),
        "name": serializers.CharField(),
        "token": serializers.CharField(),
        "expires_at": serializers.DateTimeField(allow_null=True),
    },
)


def issued(issue: IssuedToken) -> dict:
    token = issue.token
    return {"id": token.id, "name": token.name, "token": issue.key, "expires_at": token.expires_at}


class TokenView(APIView):
    """`{"username", "password", "name"?, "expires_in_days"?}` -> a new token named `name`
    ("default"), replacing an earlier one of that name; send it as `Authorization: Token
    <key>`. Only its digest is stored: the key is shown this once."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "auth"

    @extend_schema(request=SignInSerializer, responses=ISSUED_TOKEN)
    def post(self, request):
        body = SignInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = sign_in(request, body.validated_data["username"], body.validated_data["password"])
        issue = token_create(
            user=user,
            name=body.validated_data.get("name", DEFAULT_TOKEN_NAME),
            expires_in_days=body.validated_data.get("expires_in_days"),
            replace=True,
        )
        return Response(issued(issue))


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
            {
                "username": user.username,
                "token": token_create(user=user, name=DEFAULT_TOKEN_NAME).key,
            },
            status=status.HTTP_201_CREATED,
        )


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at"]
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
        request=inline_serializer(
            "NewToken",
            {
                "name": serializers.CharField(),
                "expires_in_days": serializers.IntegerField(required=False),
            },
        ),
        responses={201: ISSUED_TOKEN},
    )
    def create(self, request):
        body = request.data if isinstance(request.data, dict) else {}
        issue = token_create(
            user=request.user, name=body.get("name"), expires_in_days=body.get("expires_in_days")
        )
        return Response(issued(issue), status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        token_revoke(token=instance)
