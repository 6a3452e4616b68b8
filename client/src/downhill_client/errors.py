"""What can go wrong, as exceptions that carry the command line's exit code."""

from __future__ import annotations


class DownhillError(Exception):
    """Base of every error this package raises; `exit_code` is what `downhill` exits with."""

    exit_code = 3


class BadInput(DownhillError):
    """Something on this side is wrong: a missing or unreadable file, a bad setting."""

    exit_code = 2


class ConfigError(BadInput):
    """The URL, the token or the config file: missing, unreadable or unknown."""


class ServerUnreachable(DownhillError):
    """The server did not answer (after retries, for reads)."""


class ApiError(DownhillError):
    """The server answered with an error. `message` is its own words; `errors` maps each
    offending field to its messages (as the API's error shape has them)."""

    def __init__(self, status_code: int, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.errors = errors or {}
        # 4xx: the request was wrong (bad input, a wrong token); 5xx: the server's trouble.
        self.exit_code = 2 if 400 <= status_code < 500 else 3


class DatasetFailed(BadInput):
    """The server could not read an uploaded dataset; the message is its reading error."""
