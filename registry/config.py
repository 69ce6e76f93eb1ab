"""Settings from the environment (prefix ``AUTHREG_``), one place for their defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from authreg.domain.errors import RegistryError

DEFAULT_DATABASE_URL = "sqlite:///var/authreg.db"
DEFAULT_SECRET_KEY_FILE = "var/secret.key"
DEFAULT_SIGNING_KEY_FILE = "var/signing.key"
DEFAULT_CHECKPOINT_DIR = "var/checkpoints"


@dataclass(frozen=True)
class Settings:
    """What a process needs to reach the registry; read once at start-up."""

    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Europe/Brussels"
    secret_key: str | None = None
    secret_key_file: Path = Path(DEFAULT_SECRET_KEY_FILE)
    due_soon_days: int = 30
    signing_key_file: Path = Path(DEFAULT_SIGNING_KEY_FILE)
    checkpoint_dir: Path = Path(DEFAULT_CHECKPOINT_DIR)
    checkpoint_every: int = 1000
    checkpoint_seconds: float = 300.0

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=env.get("AUTHREG_DATABASE_URL", DEFAULT_DATABASE_URL),
            timezone=env.get("AUTHREG_TIMEZONE", "Europe/Brussels"),
            secret_key=env.get("AUTHREG_SECRET_KEY"),
            secret_key_file=Path(env.get("AUTHREG_SECRET_KEY_FILE", DEFAULT_SECRET_KEY_FILE)),
            due_soon_days=int(_number("AUTHREG_DUE_SOON_DAYS", "30", minimum=0)),
            signing_key_file=Path(env.get("AUTHREG_SIGNING_KEY_FILE", DEFAULT_SIGNING_KEY_FILE)),
            checkpoint_dir=Path(env.get("AUTHREG_CHECKPOINT_DIR", DEFAULT_CHECKPOINT_DIR)),
            checkpoint_every=int(_number("AUTHREG_CHECKPOINT_EVERY", "1000", minimum=1)),
            checkpoint_seconds=_number("AUTHREG_CHECKPOINT_SECONDS", "300", minimum=0.001, whole=False),
        )

    def but(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _number(name: str, default: str, *, minimum: float, whole: bool = True) -> float:
    """A numeric setting, refused at start with its name when it is not a number or too small
    (``AUTHREG_CHECKPOINT_EVERY=0`` once made every decision fail after it was logged)."""
    text = os.environ.get(name, default)
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise RegistryError(f"{name} must be a {'whole ' if whole else ''}number of at least {minimum}, not {text!r}")
    return value
