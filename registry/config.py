"""Settings from the environment (prefix ``AUTHREG_``), one place for their defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "sqlite:///var/authreg.db"


@dataclass(frozen=True)
class Settings:
    """What a process needs to reach the registry; read once at start-up."""

    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Europe/Brussels"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("AUTHREG_DATABASE_URL", DEFAULT_DATABASE_URL),
            timezone=os.environ.get("AUTHREG_TIMEZONE", "Europe/Brussels"),
        )
