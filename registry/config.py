"""Settings from the environment (prefix ``AUTHREG_``), one place for their defaults."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from authreg.domain.document_format import EMAIL, MAX_EMAIL_LENGTH
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


SmtpTls = Literal["none", "starttls", "ssl"]
SMTP_TLS: tuple[SmtpTls, ...] = ("none", "starttls", "ssl")
SMTP_DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "ssl": 465}


@dataclass(frozen=True)
class ReminderSettings:
    """How ``authreg remind`` reaches people: the SMTP server, the managers who get every
    reminder, and a webhook. Read only by that command, so that a mistake here stops the
    reminders with the setting's name and never a server or ``authreg check``."""

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: SmtpTls = "none"
    smtp_sender: str | None = None
    smtp_user: str | None = None
    smtp_password: str | None = None
    timeout: float = 30.0  # seconds to wait for the SMTP server or the webhook to answer
    managers: tuple[str, ...] = ()
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_attempts: int = 4
    webhook_backoff: float = 2.0  # seconds before the second attempt, doubled before each next

    @classmethod
    def from_env(cls) -> ReminderSettings:
        """The ``AUTHREG_SMTP_*`` and ``AUTHREG_REMIND_*`` variables, each refused by name when
        it cannot work: a bad port, an unknown TLS mode, an address that is not one, a password
        that would cross the network in clear, a webhook without a secret to sign with."""
        env = os.environ
        tls = env.get("AUTHREG_SMTP_TLS", "none").strip().lower() or "none"
        if tls not in SMTP_TLS:
            raise RegistryError(f"AUTHREG_SMTP_TLS must be one of {', '.join(SMTP_TLS)}, not {tls!r}")
        port = _port(env.get("AUTHREG_SMTP_PORT"), SMTP_DEFAULT_PORTS[tls])
        user = env.get("AUTHREG_SMTP_USER") or None
        if user is not None and tls == "none":
            raise RegistryError(
                "AUTHREG_SMTP_USER needs AUTHREG_SMTP_TLS=starttls or ssl: the password would cross the network"
                " in clear"
            )
        host = env.get("AUTHREG_SMTP_HOST") or None
        sender = env.get("AUTHREG_SMTP_SENDER") or None
        if sender is not None:
            _address("AUTHREG_SMTP_SENDER", sender)
        elif host is not None:
            raise RegistryError("AUTHREG_SMTP_HOST needs AUTHREG_SMTP_SENDER: the address reminders are sent from")
        managers = tuple(
            _address("AUTHREG_REMIND_MANAGERS", part.strip())
            for part in env.get("AUTHREG_REMIND_MANAGERS", "").split(",")
            if part.strip()
        )
        url = env.get("AUTHREG_REMIND_WEBHOOK_URL") or None
        secret = env.get("AUTHREG_REMIND_WEBHOOK_SECRET") or None
        if url is not None:
            parsed = urlsplit(url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise RegistryError(f"AUTHREG_REMIND_WEBHOOK_URL must be an http or https URL, not {url!r}")
            if secret is None:
                raise RegistryError("AUTHREG_REMIND_WEBHOOK_URL needs AUTHREG_REMIND_WEBHOOK_SECRET to sign with")
        return cls(
            smtp_host=host,
            smtp_port=port,
            smtp_tls=tls,  # type: ignore[arg-type]
            smtp_sender=sender,
            smtp_user=user,
            smtp_password=env.get("AUTHREG_SMTP_PASSWORD") or None,
            timeout=_number("AUTHREG_REMIND_TIMEOUT", "30", minimum=0.001, whole=False),
            managers=tuple(dict.fromkeys(address.lower() for address in managers)),
            webhook_url=url,
            webhook_secret=secret,
            webhook_attempts=int(_number("AUTHREG_REMIND_WEBHOOK_ATTEMPTS", "4", minimum=1)),
            webhook_backoff=_number("AUTHREG_REMIND_WEBHOOK_BACKOFF", "2", minimum=0, whole=False),
        )

    def but(self, **changes: object) -> ReminderSettings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _port(text: str | None, default: int) -> int:
    if text is None or not text.strip():
        return default
    if not text.strip().isdigit() or not 1 <= int(text) <= 65535:
        raise RegistryError(f"AUTHREG_SMTP_PORT must be a port number from 1 to 65535, not {text!r}")
    return int(text)


def _address(name: str, text: str) -> str:
    """An e-mail address as the organisations document accepts a contact, or refused by name."""
    if len(text) > MAX_EMAIL_LENGTH or re.fullmatch(EMAIL, text) is None:
        raise RegistryError(f"{name} must hold e-mail addresses (name@example.org), not {text[:100]!r}")
    return text
