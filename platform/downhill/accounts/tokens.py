"""API token keys: made, hashed and checked here, and nowhere else. The database keeps a
salted SHA-256 digest and the key's first characters, never the key: a leaked database or
backup holds no usable token. A key is 160 random bits, so a fast digest is enough (there is
no password to guess); the salt makes equal keys, or a precomputed table, useless."""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX_LENGTH = 8


def new_key() -> str:
    return secrets.token_hex(20)


def key_prefix(key: str) -> str:
    return key[:PREFIX_LENGTH]


def key_digest(key: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}${key}".encode()).hexdigest()


def hashed_fields(key: str) -> dict[str, str]:
    """The columns an ApiToken stores for `key`."""
    salt = secrets.token_hex(16)
    return {"prefix": key_prefix(key), "salt": salt, "digest": key_digest(key, salt)}


def key_matches(key: str, *, salt: str, digest: str) -> bool:
    return hmac.compare_digest(key_digest(key, salt), digest)
