"""Token auth for programs; everything but health needs a signed-in user."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_a_token_from_username_and_password_authenticates_requests(user):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "ada", "password": "correct-horse-battery-1"},
        format="json",
    )

    assert response.status_code == 200, response.content
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listed = client.get("/api/v1/datasets/")
    assert listed.status_code == 200
    assert listed.json()["results"] == []


def test_signing_in_again_issues_a_new_token_that_replaces_the_one_of_that_name(user):
    client = APIClient()
    body = {"username": "ada", "password": "correct-horse-battery-1"}

    first = client.post("/api/v1/auth/token/", body, format="json").json()
    second = client.post("/api/v1/auth/token/", body, format="json").json()
    laptop = client.post("/api/v1/auth/token/", {**body, "name": "laptop"}, format="json").json()

    assert first["token"] != second["token"] and first["name"] == second["name"] == "default"
    assert laptop["name"] == "laptop"

    def works(key):
        program = APIClient()
        program.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return program.get("/api/v1/runs/").status_code == 200

    assert [works(t["token"]) for t in (first, second, laptop)] == [False, True, True]


def test_a_wrong_password_gets_no_token(user):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "ada", "password": "wrong"}, format="json"
    )

    assert response.status_code == 400
    assert "token" not in response.json()
    assert response.json()["detail"]


def test_a_made_up_token_is_refused(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    assert client.get("/api/v1/datasets/").status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/datasets/"),
        ("post", "/api/v1/datasets/"),
        ("get", "/api/v1/datasets/1/"),
        ("delete", "/api/v1/datasets/1/"),
        ("get", "/api/v1/experiments/"),
        ("post", "/api/v1/experiments/"),
        ("get", "/api/v1/experiments/1/"),
        ("post", "/api/v1/experiments/1/runs/"),
        ("get", "/api/v1/runs/"),
        ("get", "/api/v1/runs/1/"),
        ("post", "/api/v1/runs/1/cancel/"),
        ("get", "/api/v1/runs/1/metrics/"),
    ],
)
def test_anonymous_requests_are_refused(method, path, run):
    response = getattr(APIClient(), method)(path)

    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_anonymous_cancel_leaves_the_run_queued(run):
    APIClient().post(f"/api/v1/runs/{run.id}/cancel/")

    run.refresh_from_db()
    assert run.status == "queued"
