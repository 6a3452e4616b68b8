"""Writes for accounts: sign-up and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import ApiToken
from .tokens import hashed_fields, new_key

DEFAULT_TOKEN_NAME = "default"
MAX_TOKENS_PER_USER = 50
MAX_USERNAME_LENGTH = 150


SIGNUP_CLOSED = "Sign-up is turned off on this server; ask an administrator for an account."


class SignupClosed(Exception):
    """DOWNHILL_ALLOW_SIGNUP is off."""


def user_register(*, username, password, email="") -> object:
    """Create a user; the password goes through Django's validators. Raises ValidationError
    naming the field, or SignupClosed."""
    if not settings.DOWNHILL_ALLOW_SIGNUP:
        raise SignupClosed(SIGNUP_CLOSED)
    User = get_user_model()
    username, errors = _username_checked(User, username)
    email_errors = _email_errors(email)
    if email_errors:
        errors["email"] = email_errors
    password_errors = _password_errors(User, password, username, email, errors)
    if password_errors:
        errors["password"] = password_errors
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, email=email or "", password=password)
    except IntegrityError:  # the same name, registered a moment ago
        raise ValidationError({"username": ["is taken."]}) from None


def _username_checked(User, username) -> tuple[object, dict[str, list[str]]]:
    """The stripped username and the errors found so far (under "username" only)."""
    if not isinstance(username, str) or not username.strip():
        return username, {"username": ["is required."]}
    username = username.strip()
    errors: dict[str, list[str]] = {}
    try:
        User.username_validator(username)
    except ValidationError as exc:
        errors["username"] = list(exc.messages)
    if len(username) > MAX_USERNAME_LENGTH:
        errors.setdefault("username", []).append(f"use at most {MAX_USERNAME_LENGTH} characters.")
    elif User.objects.filter(username__iexact=username).exists():
        errors.setdefault("username", []).append("is taken.")
    return username, errors


def _email_errors(email) -> list[str]:
    if not isinstance(email, str):
        return ["must be text."]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            return [f"{email[:100]!r} is not an email address."]
    return []


def _password_errors(User, password, username, email, errors) -> list[str]:
    """Django's validators run only once the username is known good (they compare with it)."""
    if not isinstance(password, str) or not password:
        return ["is required."]
    if "username" in errors:
        return []
    try:
        password_validation.validate_password(password, User(username=username, email=email))
    except ValidationError as exc:
        return list(exc.messages)
    return []


MAX_TOKEN_DAYS = 3650


@dataclass(frozen=True)
class IssuedToken:
    """A token just created, with its key: the only moment the key is known."""

    token: ApiToken
    key: str


def _token_name(name) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        raise ValidationError(
            {"name": ["is required: 1 to 100 characters naming the program that uses it."]}
        )
    return name.strip()


def _token_expiry(expires_in_days):
    if expires_in_days is None:
        return None
    if (
        isinstance(expires_in_days, bool)
        or not isinstance(expires_in_days, int)
        or not 1 <= expires_in_days <= MAX_TOKEN_DAYS
    ):
        raise ValidationError(
            {"expires_in_days": [f"must be a whole number of days, 1 to {MAX_TOKEN_DAYS}."]}
        )
    return timezone.now() + timedelta(days=expires_in_days)


def token_create(*, user, name, expires_in_days=None, replace=False) -> IssuedToken:
    """A new token for `user` named `name`, valid `expires_in_days` (or until revoked). With
    `replace`, a token of the same name is revoked first (a program signing in again)."""
    name, expires_at = _token_name(name), _token_expiry(expires_in_days)
    key = new_key()
    try:
        with transaction.atomic():
            if replace:
                ApiToken.objects.filter(user=user, name=name).delete()
            if user.api_tokens.count() >= MAX_TOKENS_PER_USER:
                raise ValidationError(
                    {"name": [f"you hold {MAX_TOKENS_PER_USER} tokens already; revoke one first."]}
                )
            token = ApiToken.objects.create(
                user=user, name=name, expires_at=expires_at, **hashed_fields(key)
            )
    except IntegrityError:
        raise ValidationError({"name": [f"you already have a token named '{name}'."]}) from None
    return IssuedToken(token=token, key=key)


def token_revoke(*, token: ApiToken) -> None:
    token.delete()
