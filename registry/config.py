"""Settings from the environment (prefix ``AUTHREG_``), one place for their defaults."""

from __future__ import annotations

import ipaddress
import math
import os
import re
from dataclasses import dataclass, field, replace
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


def _number(name: str, default: str, *, minimum: float, maximum: float | None = None, whole: bool = True) -> float:
    """A numeric setting, refused at start with its name when it is not a number or out of range
    (``AUTHREG_CHECKPOINT_EVERY=0`` once made every decision fail after it was logged; ``nan``
    and ``inf`` parse as floats, and a socket or ``sleep`` fails on them mid-run)."""
    text = os.environ.get(name, default)
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum or (maximum is not None and value > maximum):
        kind = "a whole number" if whole else "a number"
        bounds = f"of at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise RegistryError(f"{name} must be {kind} {bounds}, not {text!r}")
    return value


SmtpTls = Literal["none", "starttls", "ssl"]
SMTP_TLS: tuple[SmtpTls, ...] = ("none", "starttls", "ssl")
SMTP_DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "ssl": 465}
MIN_WEBHOOK_SECRET = 16  # characters: a short shared secret is guessed offline from one signed request
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?"  # of a host name: letters, digits, _, inner hyphens
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?")
_URL_CHARACTERS = re.compile(r"[!-~]+")  # printable ASCII: no space, no control character


@dataclass(frozen=True)
class ReminderSettings:
    """How ``authreg remind`` reaches people: the SMTP server, the managers who get every
    reminder, and a webhook. Read only by that command, so that a mistake here stops the
    reminders with the setting's name and never a server or ``authreg check``. The password,
    the secret and the webhook's URL (which may hold a token) are left out of its repr."""

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: SmtpTls = "none"
    smtp_sender: str | None = None
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    timeout: float = 30.0  # seconds to wait for the SMTP server or the webhook to answer
    managers: tuple[str, ...] = ()
    webhook_url: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_attempts: int = 4
    webhook_backoff: float = 2.0  # seconds before the second attempt, doubled before each next

    @classmethod
    def from_env(cls) -> ReminderSettings:
        """The ``AUTHREG_SMTP_*`` and ``AUTHREG_REMIND_*`` variables, each refused by name when
        it cannot work: a bad port or host, an unknown TLS mode, an address that is not one, a
        password that would cross the network in clear, a webhook without a secret to sign with.
        No message repeats a password, a secret or the webhook's URL."""
        env = os.environ
        tls = env.get("AUTHREG_SMTP_TLS", "none").strip().lower() or "none"
        if tls not in SMTP_TLS:
            raise RegistryError(f"AUTHREG_SMTP_TLS must be one of {', '.join(SMTP_TLS)}, not {tls!r}")
        host = env.get("AUTHREG_SMTP_HOST") or None
        if host is not None and not _is_host(host):
            raise RegistryError(
                f"AUTHREG_SMTP_HOST must be a host name or an IP address (the port is AUTHREG_SMTP_PORT), not {host!r}"
            )
        sender = env.get("AUTHREG_SMTP_SENDER") or None
        if sender is not None:
            _address("AUTHREG_SMTP_SENDER", sender)
        elif host is not None:
            raise RegistryError("AUTHREG_SMTP_HOST needs AUTHREG_SMTP_SENDER: the address reminders are sent from")
        user = env.get("AUTHREG_SMTP_USER") or None
        password = env.get("AUTHREG_SMTP_PASSWORD") or None
        _check_login(user, password, tls)
        managers = tuple(
            _address("AUTHREG_REMIND_MANAGERS", part.strip())
            for part in env.get("AUTHREG_REMIND_MANAGERS", "").split(",")
            if part.strip()
        )
        url = env.get("AUTHREG_REMIND_WEBHOOK_URL") or None
        secret = env.get("AUTHREG_REMIND_WEBHOOK_SECRET") or None
        if url is not None:
            _check_webhook(url, secret)
        return cls(
            smtp_host=host,
            smtp_port=_port(env.get("AUTHREG_SMTP_PORT"), SMTP_DEFAULT_PORTS[tls]),
            smtp_tls=tls,  # type: ignore[arg-type]
            smtp_sender=sender,
            smtp_user=user,
            smtp_password=password,
            timeout=_number("AUTHREG_REMIND_TIMEOUT", "30", minimum=0.001, maximum=600, whole=False),
            managers=tuple(dict.fromkeys(address.lower() for address in managers)),
            webhook_url=url,
            webhook_secret=secret,
            webhook_attempts=int(_number("AUTHREG_REMIND_WEBHOOK_ATTEMPTS", "4", minimum=1, maximum=10)),
            webhook_backoff=_number("AUTHREG_REMIND_WEBHOOK_BACKOFF", "2", minimum=0, maximum=600, whole=False),
        )


def _port(text: str | None, default: int) -> int:
    if text is None or not text.strip():
        return default
    if re.fullmatch(r"[0-9]{1,5}", text.strip()) is None or not 1 <= int(text) <= 65535:
        raise RegistryError(f"AUTHREG_SMTP_PORT must be a port number from 1 to 65535, not {text!r}")
    return int(text)


def _is_host(text: str) -> bool:
    """A host name (international ones as the IDNA codec spells them) or an IP address: what a
    socket can be opened to, without the port that has a setting of its own."""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    try:
        spelled = text.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return _HOST_NAME.fullmatch(spelled) is not None


def _check_login(user: str | None, password: str | None, tls: str) -> None:
    """A user and a password together, over TLS, in ASCII (``smtplib`` encodes a login so and
    fails on anything else); refused without repeating either."""
    if user is not None and tls == "none":
        raise RegistryError(
            "AUTHREG_SMTP_USER needs AUTHREG_SMTP_TLS=starttls or ssl: the password would cross the network in clear"
        )
    if user is not None and password is None:
        raise RegistryError("AUTHREG_SMTP_USER needs AUTHREG_SMTP_PASSWORD")
    if password is not None and user is None:
        raise RegistryError("AUTHREG_SMTP_PASSWORD needs AUTHREG_SMTP_USER")
    if user is not None and password is not None and not (user.isascii() and password.isascii()):
        raise RegistryError("AUTHREG_SMTP_USER and AUTHREG_SMTP_PASSWORD must be ASCII: SMTP logins carry no other")


def _check_webhook(url: str, secret: str | None) -> None:
    """An http(s) URL that urllib sends as written, and a secret worth signing with. The URL is
    not repeated: its path or query may hold a token."""
    name = "AUTHREG_REMIND_WEBHOOK_URL"
    if _URL_CHARACTERS.fullmatch(url) is None:
        raise RegistryError(f"{name} must be ASCII without spaces or control characters (percent-encode them)")
    try:
        parsed = urlsplit(url)
    except ValueError:  # an IPv6 address without its closing bracket
        raise RegistryError(f"{name} is not a URL") from None
    try:
        port = parsed.port
    except ValueError:  # not a number, or above 65535
        port = 0
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise RegistryError(f"{name} must be an http or https URL, not {parsed.scheme or 'without a scheme'}:")
    if port == 0:
        raise RegistryError(f"{name} must have a port from 1 to 65535")
    if parsed.username is not None or parsed.password is not None:
        raise RegistryError(
            f"{name} must not hold a user or password: they are not sent (the signature tells the receiver who calls)"
        )
    if not _is_host(parsed.hostname):
        raise RegistryError(f"{name} must name a host that can be reached (a host name or an IP address)")
    if secret is None:
        raise RegistryError(f"{name} needs AUTHREG_REMIND_WEBHOOK_SECRET to sign with")
    if len(secret) < MIN_WEBHOOK_SECRET:
        raise RegistryError(
            f"AUTHREG_REMIND_WEBHOOK_SECRET must have at least {MIN_WEBHOOK_SECRET} characters"
            " (python3 -c 'import secrets; print(secrets.token_hex(32))' makes one)"
        )


def _address(name: str, text: str) -> str:
    """An e-mail address as the organisations document accepts a contact, or refused by name."""
    if len(text) > MAX_EMAIL_LENGTH or re.fullmatch(EMAIL, text) is None:
        raise RegistryError(f"{name} must hold e-mail addresses (name@example.org), not {text[:100]!r}")
    return text
