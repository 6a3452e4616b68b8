"""API tokens are stored as salted digests: shown once, found by prefix, expiring if asked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from rest_framework.test import APIClient

from downhill.accounts.models import ApiToken
from downhill.accounts.services import token_create

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-1"


def program(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def every_stored_value(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        return repr(cursor.fetchall())


def test_no_token_key_is_stored_anywhere_in_the_database(api, user):
    keys = [
        APIClient()
        .post("/api/v1/auth/token/", {"username": "ada", "password": PASSWORD}, format="json")
        .json()["token"],
        api.post("/api/v1/auth/tokens/", {"name": "ci"}, format="json").json()["token"],
        APIClient()
        .post("/api/v1/auth/register/", {"username": "lin", "password": PASSWORD}, format="json")
        .json()["token"],
    ]

    stored = every_stored_value(ApiToken._meta.db_table)
    for key in keys:
        assert len(key) == 40 and key not in stored and key[8:] not in stored
        assert program(key).get("/api/v1/runs/").status_code == 200
    assert {t.prefix for t in ApiToken.objects.all()} == {k[:8] for k in keys}


def test_the_key_is_shown_once_and_listed_by_prefix_only(api):
    created = api.post("/api/v1/auth/tokens/", {"name": "ci"}, format="json").json()
    listed = api.get("/api/v1/auth/tokens/").json()
    assert created["token"] not in repr(listed) and listed[0]["prefix"] == created["token"][:8]


def test_a_key_sharing_a_tokens_prefix_is_refused(user):
    key = token_create(user=user, name="ci").key
    forged = key[:8] + ("0" if key[8] != "0" else "1") + key[9:]
    assert program(forged).get("/api/v1/runs/").status_code == 401
    assert program(key).get("/api/v1/runs/").status_code == 200


def test_a_token_with_an_expiry_stops_working_then_saying_why(user):
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": "ada", "password": PASSWORD, "name": "laptop", "expires_in_days": 7},
        format="json",
    )
    assert response.status_code == 200, response.content
    key = response.json()["token"]
    token = ApiToken.objects.get(name="laptop")
    assert timedelta(days=6, hours=23) < token.expires_at - timezone.now() <= timedelta(days=7)
    assert program(key).get("/api/v1/runs/").status_code == 200
    assert ApiToken.objects.get(name="laptop").last_used_at is not None

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = program(key).get("/api/v1/runs/")
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]


@pytest.mark.parametrize("days", [0, -1, 3651, "soon", True])
def test_an_expiry_out_of_range_is_refused_and_no_token_made(api, days):
    response = api.post(
        "/api/v1/auth/tokens/", {"name": "ci", "expires_in_days": days}, format="json"
    )
    assert response.status_code == 400 and "expires_in_days" in response.json()["errors"]
    assert not ApiToken.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_existing_tokens_in_place_and_their_holders_stay_signed_in(user):
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0001_initial")])
    try:
        old = executor.loader.project_state([("accounts", "0001_initial")]).apps
        old_token = old.get_model("accounts", "ApiToken")
        keys = ["a" * 40, "0123456789abcdef0123456789abcdef01234567"]
        for name, key in zip(("default", "ci"), keys, strict=True):
            old_token.objects.create(user_id=user.id, name=name, key=key)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    stored = every_stored_value(ApiToken._meta.db_table)
    assert not any(key in stored for key in keys)
    assert sorted(ApiToken.objects.values_list("name", "prefix")) == [
        ("ci", keys[1][:8]),
        ("default", keys[0][:8]),
    ]
    for key in keys:
        assert program(key).get("/api/v1/runs/").status_code == 200
