"""Failed sign-ins, counted per account and per client address in the cache every web process
shares, on every door: the API's token endpoint, the sign-in page and the admin's. Counting
hangs on Django's `user_login_failed` signal, which each of them sends through authenticate();
the check comes before the password is even tried, so a locked door stays locked to the right
password too."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

BAD_CREDENTIALS = "Unable to sign in with the username and password given."


class SignInLocked(Exception):
    """Too many failed sign-ins for an account or from an address (answered 429)."""

    def __init__(self, message: str, wait_seconds: int):
        super().__init__(message)
        self.wait_seconds = wait_seconds


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or, behind DOWNHILL_TRUSTED_PROXIES proxies, the
    address the outermost of them saw (DRF's rule, the one its throttles use too)."""
    return BaseThrottle().get_ident(request)


def _keys(request, username: str) -> dict[str, str]:
    account = hashlib.sha256(str(username).strip().lower().encode()).hexdigest()[:32]
    keys = {"account": f"signin-failures:account:{account}"}
    if request is not None:
        keys["address"] = f"signin-failures:address:{client_address(request)}"
    return keys


def _limits() -> dict[str, int]:
    return {
        "account": settings.DOWNHILL_SIGNIN_MAX_FAILURES,
        "address": settings.DOWNHILL_SIGNIN_MAX_FAILURES_PER_ADDRESS,
    }


def check(request, username: str) -> None:
    """Raise SignInLocked when the account or the address has failed too often lately."""
    counts = cache.get_many(list(_keys(request, username).values()))
    minutes = max(1, settings.DOWNHILL_SIGNIN_WINDOW_SECONDS // 60)
    for who, key in _keys(request, username).items():
        if counts.get(key, 0) >= _limits()[who]:
            whom = "this account" if who == "account" else "your address"
            raise SignInLocked(
                f"Too many failed sign-ins for {whom} ({_limits()[who]} within {minutes} "
                f"minutes); try again in {minutes} minutes.",
                settings.DOWNHILL_SIGNIN_WINDOW_SECONDS,
            )


@receiver(user_login_failed)
def record_failure(sender, credentials, request=None, **kwargs) -> None:
    for key in _keys(request, credentials.get("username", "")).values():
        # add() starts the window; incr() counts in it (atomic on Redis).
        cache.add(key, 0, timeout=settings.DOWNHILL_SIGNIN_WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between the two
            cache.set(key, 1, timeout=settings.DOWNHILL_SIGNIN_WINDOW_SECONDS)


def sign_in(request, username: str, password: str):
    """The API's door: the user these credentials name, else 429 (locked) or 400."""
    try:
        check(request, username)
    except SignInLocked as exc:
        raise exceptions.Throttled(wait=exc.wait_seconds, detail=str(exc)) from None
    user = authenticate(request=request, username=username, password=password)
    if user is None:
        raise exceptions.ValidationError({"non_field_errors": [BAD_CREDENTIALS]})
    return user
