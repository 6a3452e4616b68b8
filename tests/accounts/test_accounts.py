"""Sign-up, named API tokens, throttling and run quotas."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from downhill.accounts.models import ApiToken
from downhill.experiments.models import Experiment
from downhill.runs.models import Run
from tests.conftest import iris_rows

pytestmark = pytest.mark.django_db

STRONG = "a-long-enough-passphrase-7"


def register(client, **body):
    return client.post("/api/v1/auth/register/", body, format="json")


def test_register_creates_a_user_whose_token_works():
    client = APIClient()
    response = register(client, username="lin", password=STRONG, email="lin@example.com")
    assert response.status_code == 201, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/datasets/").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "lin", "password": "123"}, "password"),
        ({"username": "lin", "password": "password1"}, "password"),
        ({"username": "lin", "password": " " * 8}, "password"),
        ({"username": "lin", "password": " " * 12}, "password"),
        ({"username": "marguerite", "password": "margueritemarguerite"}, "password"),
        ({"username": "marguerite", "password": "MargueriteMarguerite"}, "password"),
        ({"username": "lin", "password": "abababababab"}, "password"),
        ({"username": "bad name!", "password": STRONG}, "username"),
        ({"password": STRONG}, "username"),
        ({"username": "lin"}, "password"),
    ],
)
def test_register_refuses_weak_passwords_and_bad_names(body, field, django_user_model):
    response = register(APIClient(), **body)
    assert response.status_code == 400 and field in response.json()["errors"], response.content
    assert not django_user_model.objects.exists()


@pytest.mark.parametrize("password", [" " * 8, "margueritemarguerite"])
def test_the_signup_page_refuses_the_same_weak_passwords(client, django_user_model, password):
    response = client.post("/signup/", {"username": "marguerite", "password": password})
    assert response.status_code == 400 and "password" in response.content.decode().lower()
    assert not django_user_model.objects.exists()


def test_register_refuses_a_taken_name_whatever_its_case(user):
    response = register(APIClient(), username="ADA", password=STRONG)
    assert response.status_code == 400 and "taken" in response.json()["detail"]


def test_register_and_the_signup_page_are_closed_when_signup_is_off(
    settings, client, django_user_model
):
    settings.DOWNHILL_ALLOW_SIGNUP = False
    assert register(APIClient(), username="lin", password=STRONG).status_code == 403
    assert client.post("/signup/", {"username": "lin", "password": STRONG}).status_code == 403
    assert not django_user_model.objects.exists()


def test_the_signup_page_creates_an_account_and_signs_in(client, django_user_model):
    assert client.get("/signup/").status_code == 200
    response = client.post("/signup/", {"username": "lin", "password": STRONG})
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/").status_code == 200  # signed in
    bad = client.post("/signup/", {"username": "lin", "password": STRONG})
    assert bad.status_code == 302  # already signed in: sent to the runs
    client.logout()
    taken = client.post("/signup/", {"username": "lin", "password": STRONG})
    assert taken.status_code == 400 and "taken" in taken.content.decode()


def test_named_tokens_can_be_created_listed_and_revoked(api, user):
    created = api.post("/api/v1/auth/tokens/", {"name": "laptop"}, format="json")
    assert created.status_code == 201, created.content
    key = created.json()["token"]
    listed = api.get("/api/v1/auth/tokens/").json()
    assert [t["name"] for t in listed] == ["laptop"] and listed[0]["prefix"] == key[:8]
    assert "token" not in listed[0] and "key" not in listed[0]

    program = APIClient()
    program.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert program.get("/api/v1/runs/").status_code == 200
    assert ApiToken.objects.get(name="laptop").last_used_at is not None

    assert api.delete(f"/api/v1/auth/tokens/{created.json()['id']}/").status_code == 204
    assert program.get("/api/v1/runs/").status_code == 401


def test_a_token_name_is_unique_per_user_and_others_cannot_revoke_it(api, other_user):
    token_id = api.post("/api/v1/auth/tokens/", {"name": "ci"}, format="json").json()["id"]
    assert api.post("/api/v1/auth/tokens/", {"name": "ci"}, format="json").status_code == 400
    grace = APIClient()
    grace.force_authenticate(other_user)
    assert grace.delete(f"/api/v1/auth/tokens/{token_id}/").status_code == 404
    assert grace.get("/api/v1/auth/tokens/").json() == []


def test_the_token_endpoint_is_throttled(user, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/min"})
    client = APIClient()
    body = {"username": "ada", "password": "wrong"}
    codes = [client.post("/api/v1/auth/token/", body, format="json").status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]


def test_runs_past_the_active_quota_are_refused_with_429_and_nothing_created(api, upload, settings):
    settings.DOWNHILL_MAX_ACTIVE_RUNS = 2
    dataset = upload(iris_rows()).json()["id"]
    first = api.post("/api/v1/experiments/", {"dataset": dataset}, format="json")
    assert api.post(f"/api/v1/experiments/{first.json()['id']}/runs/").status_code == 201
    refused = api.post("/api/v1/experiments/", {"dataset": dataset}, format="json")
    assert refused.status_code == 429 and "limit is 2" in refused.json()["detail"]
    assert api.post(f"/api/v1/experiments/{first.json()['id']}/runs/").status_code == 429
    assert Experiment.objects.count() == 1 and Run.objects.count() == 2
    Run.objects.filter(status="queued").update(status="cancelled")
    assert api.post("/api/v1/experiments/", {"dataset": dataset}, format="json").status_code == 201
