"""Health for monitoring (no auth) and the OpenAPI schema."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_health_answers_anonymous_callers_with_database_and_broker_ok():
    response = APIClient().get("/api/v1/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_health_reports_an_unreachable_broker_as_503(monkeypatch):
    monkeypatch.setattr(
        "downhill.api.views.broker_reachable", lambda: "unreachable: OperationalError"
    )

    response = APIClient().get("/api/v1/health/")

    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["broker"].startswith("unreachable")


def test_openapi_schema_describes_the_v1_endpoints(api):
    assert api.get("/api/schema/").status_code == 200  # YAML by default
    response = api.get("/api/schema/?format=json")

    assert response.status_code == 200
    assert response["content-type"].startswith("application/vnd.oai.openapi+json")
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/datasets/",
        "/api/v1/experiments/",
        "/api/v1/experiments/{id}/runs/",
        "/api/v1/runs/{id}/cancel/",
        "/api/v1/runs/{id}/metrics/",
        "/api/v1/auth/token/",
        "/api/v1/health/",
    ):
        assert path in schema["paths"], path
    assert (
        "multipart/form-data"
        in schema["paths"]["/api/v1/datasets/"]["post"]["requestBody"]["content"]
    )


def test_api_docs_page_renders(api):
    assert api.get("/api/docs/").status_code == 200


def test_the_documented_experiment_body_lists_exactly_the_config_keys():
    from downhill.api.serializers import ExperimentConfigSerializer
    from downhill.experiments.config import CONFIG_KEYS

    assert set(ExperimentConfigSerializer().fields) == {*CONFIG_KEYS, "name"}


def test_the_schema_is_exact_for_generated_clients(api):
    """What openapi-python-client tripped on (tests/client/test_generated_client.py generates
    one): bodies offered in several content types, server-filled fields required in requests,
    and the upload's file declared a URI."""
    schema = json.loads(api.get("/api/schema/?format=json").content)
    bodies = {
        (path, method): list(operation["requestBody"]["content"])
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    assert bodies.pop(("/api/v1/datasets/", "post")) == ["multipart/form-data"]
    assert bodies and set(map(tuple, bodies.values())) == {("application/json",)}

    components = schema["components"]["schemas"]
    token_body = schema["paths"]["/api/v1/auth/token/"]["post"]["requestBody"]
    sign_in = components[token_body["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert set(sign_in["required"]) == {"username", "password"}
    assert "token" in components["IssuedToken"]["required"]
    for name, component in components.items():  # what the server fills is never asked for
        if name.endswith("Request"):
            assert not any(p.get("readOnly") for p in component.get("properties", {}).values())

    upload = components["DatasetUploadRequest"]["properties"]["file"]
    assert upload["type"] == "string" and upload["format"] == "binary"
