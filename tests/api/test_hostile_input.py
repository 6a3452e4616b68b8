"""What the schema fuzz (test_fuzz.py) and probing around its findings turned up, one test each:
input no database can store, bodies nested past the JSON decoder, paths that name no endpoint,
and error answers the schema did not document."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from downhill.accounts.models import ApiToken
from downhill.datasets.models import Dataset
from tests.datasets.builders import post_bytes

pytestmark = pytest.mark.django_db


def post_json(client, path: str, body) -> object:
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, raw, content_type="application/json")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/auth/tokens/", {"name": "ci\x00"}, "name"),
        ("/api/v1/experiments/", {"dataset": 1, "name": "sgd\x00"}, "name"),
        ("/api/v1/experiments/preview/", {"dataset": 1, "model": {"a\x00": 1}}, "model"),
        ("/api/v1/auth/register/", {"username": "lin", "password": "x", "email": "a\x00"}, "email"),
    ],
)
def test_nul_characters_in_a_json_body_are_refused_naming_the_field(api, path, body, field):
    """PostgreSQL refuses a NUL in any text: these were 500s there."""
    response = post_json(api, path, body)

    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {field: ["must not contain NUL characters."]}


def test_nul_characters_in_a_form_body_are_refused_naming_the_field(api, user):
    """The upload is the one form (multipart) body the API reads."""
    response = post_bytes(api, b"a,b\n1,2\n", name="iris\x00")

    assert response.status_code == 400
    assert response.json()["errors"] == {"name": ["must not contain NUL characters."]}
    assert not Dataset.objects.exists()


def test_a_json_operation_refuses_a_form_body_with_415(api, user):
    """The schema offers these bodies as JSON only, and the API reads them as JSON only."""
    multipart = api.post("/api/v1/auth/tokens/", {"name": "ci"}, format="multipart")
    urlencoded = api.generic("POST", "/api/v1/auth/tokens/", "name=ci",
                             content_type="application/x-www-form-urlencoded")  # fmt: skip

    for response in (multipart, urlencoded):
        assert response.status_code == 415
        assert "Unsupported media type" in response.json()["detail"]
    assert not ApiToken.objects.filter(user=user).exists()


def test_a_lone_surrogate_in_a_json_body_is_refused_naming_the_field(api, user):
    """A JSON "\\ud800" decodes to text no database can encode: a 500 on any of them."""
    response = post_json(api, "/api/v1/auth/tokens/", '{"name": "ci \\ud800"}')

    assert response.status_code == 400
    assert "lone surrogate" in response.json()["errors"]["name"][0]
    assert not ApiToken.objects.filter(user=user).exists()


def test_a_bad_key_is_refused_without_echoing_it(api):
    response = post_json(api, "/api/v1/experiments/preview/", '{"\\udfff": 1}')

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["non_field_errors"]


def test_a_nul_in_a_metric_name_is_refused(api, run):
    response = api.get(f"/api/v1/runs/{run.id}/metrics/?name=train_loss%00")

    assert response.status_code == 400
    assert response.json()["errors"] == {"name": ["must not contain NUL characters."]}


@pytest.mark.parametrize("path", ["/api/v1/experiments/", "/api/v1/runs/{run}/predict/"])
def test_a_json_body_nested_past_the_decoder_is_a_400(api, run, path):
    """json.loads raises RecursionError, not ValueError, which DRF's parser let through."""
    response = post_json(api, path.format(run=run.id), "[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/runs/0.5/cancel/"),
        ("get", "/api/v1/datasets/0.5/preview/"),
        ("post", "/api/v1/runs/0.5%0A/resume/"),
        ("get", "/api/v1/no-such-thing/"),
    ],
)
def test_a_path_under_the_api_that_names_no_endpoint_answers_a_json_404(api, method, path):
    """Django's own 404 page is HTML; the schema promises JSON."""
    response = getattr(api, method)(path)

    assert response.status_code == 404
    assert response["content-type"] == "application/json"
    assert "No endpoint" in response.json()["detail"]


def test_an_api_path_without_its_slash_still_redirects_to_it(api):
    response = api.get("/api/v1/runs")

    assert response.status_code == 301
    assert response["location"] == "/api/v1/runs/"


def test_health_ignores_credentials_even_a_revoked_token():
    """Monitoring polls it; a stale token in its configuration must not read as an outage."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token revoked-long-ago")

    response = client.get("/api/v1/health/")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_the_schema_documents_the_error_answers(api):
    paths = api.get("/api/schema/?format=json").json()["paths"]

    def codes(path, method):
        return set(paths[path][method]["responses"])

    assert codes("/api/v1/runs/{id}/metrics/", "get") == {"200", "400", "401", "404"}
    assert codes("/api/v1/experiments/", "post") == {
        "201", "400", "401", "403", "413", "415", "429",
    }  # fmt: skip
    assert codes("/api/v1/experiments/{id}/runs/", "post") >= {"201", "404", "429"}
    assert codes("/api/v1/datasets/", "post") >= {"201", "400", "413", "415"}
    assert codes("/api/v1/datasets/{id}/", "delete") >= {"204", "404", "409"}
    assert codes("/api/v1/auth/token/", "post") == {"200", "400", "413", "415", "429"}
    assert codes("/api/v1/health/", "get") == {"200", "503"}
    error = {"$ref": "#/components/schemas/Error"}
    assert paths["/api/v1/runs/{id}/"]["get"]["responses"]["404"]["content"] == {
        "application/json": {"schema": error}
    }


def test_register_refuses_an_email_that_is_not_one():
    response = post_json(
        APIClient(),
        "/api/v1/auth/register/",
        {"username": "lin", "password": "correct-horse-battery-9", "email": "not an email"},
    )

    assert response.status_code == 400
    assert "email" in response.json()["errors"]
