"""Failed sign-ins are limited per account and per address on every door (API, pages,
admin), clients are told apart by their real address, and the counts are shared by every
web process."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-1"
TOKEN = "/api/v1/auth/token/"


@pytest.fixture
def limits(settings):
    settings.DOWNHILL_SIGNIN_MAX_FAILURES = 5
    settings.DOWNHILL_SIGNIN_MAX_FAILURES_PER_ADDRESS = 8
    return settings


def api_sign_in(password, username="ada", address="10.0.0.1", **headers):
    return APIClient(REMOTE_ADDR=address, **headers).post(
        TOKEN, {"username": username, "password": password}, format="json"
    )


def test_a_forged_x_forwarded_for_does_not_escape_the_auth_throttle(user, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "30/min"})
    codes = [
        APIClient(HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
        .post("/api/v1/auth/register/", {"username": "", "password": ""}, format="json")
        .status_code
        for i in range(40)
    ]
    assert codes[:30] == [400] * 30 and set(codes[30:]) == {429}


def test_behind_a_trusted_proxy_the_address_it_saw_is_counted(user, monkeypatch):
    from rest_framework.settings import api_settings

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/min"})
    monkeypatch.setattr(api_settings, "NUM_PROXIES", 1)

    def register(forwarded):
        return (
            APIClient(HTTP_X_FORWARDED_FOR=forwarded)
            .post("/api/v1/auth/register/", {"username": ""}, format="json")
            .status_code
        )

    # A client's own header value is to the left of what the proxy appends: not counted.
    assert [register(f"198.51.100.{i}, 192.0.2.7") for i in range(4)] == [400] * 3 + [429]
    assert register("192.0.2.8") == 400


def test_the_api_locks_an_account_after_its_failed_sign_ins_even_for_the_right_password(
    user, limits
):
    codes = [api_sign_in("wrong", address=f"10.0.0.{i}").status_code for i in range(5)]
    assert codes == [400] * 5
    locked = api_sign_in(PASSWORD, address="10.0.0.99")
    assert locked.status_code == 429 and "this account" in locked.json()["detail"]
    assert "token" not in locked.json()


def test_the_api_locks_an_address_that_guesses_across_accounts(user, limits):
    codes = [api_sign_in("wrong", username=f"user{i}").status_code for i in range(8)]
    assert codes == [400] * 8
    locked = api_sign_in(PASSWORD)
    assert locked.status_code == 429 and "your address" in locked.json()["detail"]
    assert api_sign_in(PASSWORD, address="10.0.0.2").status_code == 200


@pytest.mark.parametrize("door", ["/login/", "/admin/login/"])
def test_the_sign_in_pages_lock_an_account_after_its_failed_sign_ins(
    client, django_user_model, limits, door
):
    django_user_model.objects.create_superuser("ada", password=PASSWORD)
    for _ in range(5):
        assert client.post(door, {"username": "ada", "password": "wrong"}).status_code == 200
    locked = client.post(door, {"username": "ada", "password": PASSWORD})
    assert "Too many failed sign-ins for this account" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    if door == "/login/":
        assert locked.status_code == 429


def test_failed_sign_ins_on_one_door_count_on_the_others(client, user, limits):
    for _ in range(3):
        client.post("/login/", {"username": "ada", "password": "wrong"})
    for _ in range(2):
        api_sign_in("wrong")
    assert api_sign_in(PASSWORD).status_code == 429


def test_the_signup_page_is_throttled_per_address(client, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/min"})
    from downhill.accounts.throttles import SignupPageThrottle

    monkeypatch.setattr(SignupPageThrottle, "THROTTLE_RATES", {"auth": "3/min"})
    codes = [
        client.post("/signup/", {"username": "lin", "password": "x"}).status_code for _ in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    assert "Too many sign-up attempts" in client.post("/signup/", {}).content.decode()


def test_throttle_counts_live_in_a_cache_every_web_process_shares():
    backend = django_settings.CACHES["default"]["BACKEND"]
    assert backend in {
        "django.core.cache.backends.db.DatabaseCache",
        "django.core.cache.backends.redis.RedisCache",
    }
    if backend.endswith("DatabaseCache"):
        from django.db import connection

        cache.set("shared-probe", 1)
        with connection.cursor() as cursor:  # in the database, where another process reads it
            cursor.execute("SELECT COUNT(*) FROM downhill_cache")
            assert cursor.fetchone()[0] >= 1
