"""Data subjects are never stored in clear: an INSZ becomes HMAC-SHA256 under the server's
secret, so the same person gives the same hash (samples and decisions can be matched) but
the database alone does not reveal who it is."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from authreg.domain.errors import RegistryError
from authreg.domain.insz import normalise

MIN_SECRET_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 10
_PLACEHOLDERS = ("change", "secret", "example", "placeholder")


class SecretUnusable(RegistryError):
    """The server secret is missing or a placeholder: hashing with it would not protect anyone."""


def load_secret(value: str | None, file: Path) -> str:
    """The secret from the environment value, else from ``file`` (``make run`` writes one)."""
    secret = value if value is not None else (file.read_text(encoding="utf-8").strip() if file.exists() else "")
    check_secret(secret)
    return secret


def make_secret_file(file: Path) -> bool:
    """Write a new random key to ``file`` (owner-only) unless one is there; whether it wrote.
    ``authreg init`` calls it, so a fresh install needs no step of its own to become usable."""
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(secrets.token_hex(32) + "\n")
    return True


def check_secret(secret: str) -> None:
    if not secret:
        raise SecretUnusable(
            "no secret key: set AUTHREG_SECRET_KEY or write one to the key file "
            "(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    lowered = secret.lower()
    if (
        len(secret) < MIN_SECRET_LENGTH
        or len(set(secret)) < MIN_DISTINCT_CHARACTERS
        or any(word in lowered for word in _PLACEHOLDERS)
    ):
        raise SecretUnusable(
            f"the secret key looks like a placeholder: use at least {MIN_SECRET_LENGTH} random characters"
        )


def subject_hash(insz: str, secret: str) -> str:
    """The keyed hash of a (valid) INSZ, whatever punctuation it was written with."""
    return hmac.new(secret.encode(), normalise(insz).encode(), hashlib.sha256).hexdigest()
