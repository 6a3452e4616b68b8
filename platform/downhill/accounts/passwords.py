"""Password rules Django's validators leave out (AUTH_PASSWORD_VALIDATORS): eight spaces and
the username said twice both passed them."""

from django.core.exceptions import ValidationError

MIN_DISTINCT_CHARACTERS = 4


class VarietyValidator:
    """At least a few different characters, not counting spaces."""

    def validate(self, password, user=None):
        if len(set(password) - {" "}) < MIN_DISTINCT_CHARACTERS:
            raise ValidationError(
                f"This password is too simple: use at least {MIN_DISTINCT_CHARACTERS} different "
                "characters besides spaces.",
                code="password_too_simple",
            )

    def get_help_text(self):
        return f"Your password must hold at least {MIN_DISTINCT_CHARACTERS} different characters."


class NoUsernameValidator:
    """The username may not be part of the password (in any case)."""

    def validate(self, password, user=None):
        username = (getattr(user, "username", "") or "").lower()
        if len(username) >= 3 and username in password.lower():
            raise ValidationError(
                "This password contains your username; choose one that does not.",
                code="password_contains_username",
            )

    def get_help_text(self):
        return "Your password cannot contain your username."
