"""One error shape for the whole API: {"detail": "<field>: <message>", "errors": {field: [..]}}.

Django ValidationErrors raised by services become 400s here, so views stay thin.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from downhill.runs.services import QuotaExceeded

log = logging.getLogger(__name__)


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(key): [str(m) for m in (value if isinstance(value, list) else [value])]
            for key, value in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


def _summary(errors: dict[str, list[str]]) -> str:
    parts = []
    for field, messages in errors.items():
        text = " ".join(messages)
        parts.append(text if field == "non_field_errors" else f"{field}: {text}")
    return " ".join(parts)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, QuotaExceeded):
        return Response({"detail": str(exc)}, status=status.HTTP_429_TOO_MANY_REQUESTS)
    if isinstance(exc, RequestDataTooBig):  # Django would answer its HTML 400 page
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2**20
        return Response(
            {"detail": f"The request body is over this server's limit of {limit:g} MB."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, (OperationalError, InterfaceError)):
        log.exception("database unavailable")
        return Response(
            {"detail": "The database is unavailable; try again in a moment."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError):
        errors = _flatten(exc.detail)
        response.data = {"detail": _summary(errors), "errors": errors}
    return response


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Any path under the API that names no endpoint (`/runs/0.5/cancel/`, say) answers this
    JSON 404 for every method, as the API's own views do; Django's own page would be HTML."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def initial(self, request, *args, **kwargs):
        raise NotFound(f"No endpoint at {request.path}; the API is described at /api/schema/.")
