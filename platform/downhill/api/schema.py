"""The OpenAPI schema's error answers: what every operation can answer besides success.

drf-spectacular documents the success response only; clients (and tests/api/test_fuzz.py,
which holds every response to the schema) need the errors too. Each is the one error shape of
downhill.api.errors. Answers particular to one view (409, 413, the run quota's 429, 503) are
declared on that view with extend_schema; this adds the ones that follow from how a view is
built: its input, its authentication, its path, its pagination and its throttle.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class ErrorSerializer(serializers.Serializer):
    """{"detail": "<field>: <message>", "errors": {field: [messages]}} (errors: invalid input)."""

    detail = serializers.CharField(help_text="What went wrong, naming the offending field.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Invalid input only: the messages for each offending field.",
    )


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


class ApiSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, description in self._error_answers(operation):
            if str(code) not in responses:
                response = error_response(description)
                responses[str(code)] = self._get_response_for_code(response, str(code))
        return operation

    def _error_answers(self, operation: dict) -> list[tuple[int, str]]:
        parameters = operation.get("parameters", [])
        anonymous = not operation.get("security") or {} in operation["security"]
        answers = []
        if "requestBody" in operation or any(p["in"] == "query" for p in parameters):
            answers.append((400, "Invalid input; `errors` names each offending field."))
        if not anonymous:
            answers.append((401, "No credentials, or a token that is unknown or revoked."))
            if self.method in UNSAFE_METHODS:
                answers.append((403, "A session-authenticated request without its CSRF token."))
        if any(p["in"] == "path" for p in parameters):
            answers.append((404, "None of yours has this id."))
        elif self._is_list_view() and self._get_paginator():
            answers.append((404, "No such page."))
        if "requestBody" in operation:
            answers.append((413, "A request body over the server's limit."))
            answers.append((415, "A request body in a content type this operation does not read."))
        if getattr(self.view, "throttle_scope", None):
            answers.append((429, "Too many attempts from this address; wait and try again."))
        return answers
