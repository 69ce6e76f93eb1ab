"""People who sign in to the web pages: made from the CLI (``authreg user create``), one role
each (the API's four), the password kept only as an Argon2 hash.

Guessing is slowed down per name, in the database, so every server process counts the same
failures: from the third failure in a row, a name must wait 1, 2, 4, ... seconds (at most a
minute) after its last failure before a password is even checked. The refusal reads the same
whether the name exists, the password is wrong or the name must wait, and costs the same
Argon2 work. Someone guessing at a person's name can keep that person waiting, at most a
minute after the guessing stops: the price of slowing guesses per name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine

from authreg.domain.document_format import MAX_ID_LENGTH
from authreg.domain.errors import Conflict, Invalid, NotFound, Problem, RegistryError
from authreg.services.tokens import ROLES
from authreg.storage import web_user_rows
from authreg.storage.sessions import reading, transaction

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # Argon2 takes any length; a megabyte of password is an attack
FREE_FAILURES = 2
MAX_WAIT_SECONDS = 60
_HASHER = PasswordHasher()
_DECOY = _HASHER.hash("a password no one has: it only makes an unknown name cost as much")


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    created_at: datetime  # a session of an earlier person of the same name is not theirs
    signed_out_at: datetime | None = None  # a session begun before it has ended

    def holds(self, role: str, since: str, began: str) -> bool:
        """Whether a session (its role, the person's creation, when it began) is still theirs."""
        try:
            start = _utc(datetime.fromisoformat(began))
        except ValueError:
            return False
        ended = self.signed_out_at is not None and start <= _utc(self.signed_out_at)
        return self.role == role and utc_text(self.created_at) == since and not ended


class SignInRefused(RegistryError):
    """Wrong name or password, or too many failures just now; the message says which of the
    two without saying whether the name exists."""


NAME = re.compile(r"[a-z0-9][a-z0-9._@-]*")


def create(engine: Engine, *, name: str, role: str, password: str, now: datetime) -> Person:
    problems = []
    if role not in ROLES:
        problems.append(Problem("", "role", f"must be one of {', '.join(ROLES)}"))
    if not NAME.fullmatch(name) or len(name) > MAX_ID_LENGTH:
        # lower case, no spaces: "officer", "Officer" and "officer " would be three people who
        # look like one in the pages and in the audit log
        problems.append(Problem("", "name", f"lower-case letters, digits and ._@- only, at most {MAX_ID_LENGTH}"))
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        problems.append(
            Problem("", "password", f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long")
        )
    if problems:
        raise Invalid(problems)
    hashed = _HASHER.hash(password)
    with transaction(engine) as session:
        if web_user_rows.by_name(session, name) is not None:
            raise Conflict(f"a user named {name!r} exists already")
        web_user_rows.add(session, name=name, role=role, password_hash=hashed, now=now)
    return Person(name, role, now)


def remove(engine: Engine, *, name: str) -> None:
    """Withdraw a person's access: their sessions stop working at their next request."""
    with transaction(engine) as session:
        if not web_user_rows.remove(session, name):
            raise NotFound(f"no user named {name!r}")


def wait_after(failures: int) -> timedelta:
    """How long a name waits after its last failure before its next try is checked."""
    if failures <= FREE_FAILURES:
        return timedelta(0)
    return timedelta(seconds=min(2 ** (failures - FREE_FAILURES - 1), MAX_WAIT_SECONDS))


REFUSED = "wrong name or password (after several failures, wait up to a minute before the next try)"


def sign_in(engine: Engine, *, name: str, password: str, now: datetime) -> Person:
    """The person, or ``SignInRefused`` with one message whatever the reason, so that it does
    not tell which names exist.

    The try is claimed first, in a short write that counts it as a failure; the password is
    checked outside any transaction (Argon2 takes a tenth of a second, and on SQLite a write
    transaction holds the lock every decision's audit entry needs); a right password then
    clears the count. Parallel guesses thus claim their tries one by one and most are refused
    without a check. A throttled or unknown name costs the same Argon2 work as a checked one."""
    if len(password) > MAX_PASSWORD_LENGTH or len(name) > MAX_ID_LENGTH:
        raise SignInRefused(REFUSED)
    with transaction(engine) as session:
        person = web_user_rows.for_update(session, name)
        allowed = person is not None and _ready(person.last_failed_at, person.failed_sign_ins, now)
        if person is not None and allowed:
            person.failed_sign_ins += 1
            person.last_failed_at = now
            session.add(person)
        hashed = person.password_hash if person is not None else _DECOY
    right = _verifies(hashed if allowed else _DECOY, password) and allowed
    if not right:
        raise SignInRefused(REFUSED)
    with transaction(engine) as session:
        person = web_user_rows.for_update(session, name)
        if person is None or person.password_hash != hashed:  # removed, re-made or given a new password meanwhile
            raise SignInRefused(REFUSED)
        if _HASHER.check_needs_rehash(person.password_hash):
            person.password_hash = _HASHER.hash(password)
        person.failed_sign_ins, person.last_failed_at = 0, None
        session.add(person)
        return Person(person.name, person.role, person.created_at)


def _ready(last_failed_at: datetime | None, failures: int, now: datetime) -> bool:
    if last_failed_at is None:
        return True
    return now >= _utc(last_failed_at) + wait_after(failures)


def current(engine: Engine, name: str) -> Person | None:
    """The person as stored now (None when removed): a session is checked against it on every
    request, so removing a person or changing their role takes effect at once."""
    with reading(engine) as session:
        person = web_user_rows.by_name(session, name)
    return None if person is None else Person(person.name, person.role, person.created_at, person.signed_out_at)


def sign_out(engine: Engine, *, name: str, now: datetime) -> None:
    """End every session of the person, this one and any copy of its cookie."""
    with transaction(engine) as session:
        person = web_user_rows.for_update(session, name)
        if person is not None:
            person.signed_out_at = now
            session.add(person)


def utc_text(moment: datetime) -> str:
    return _utc(moment).isoformat()


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite gives moments back without a zone


def _verifies(hashed: str, password: str) -> bool:
    try:
        return bool(_HASHER.verify(hashed, password))
    except (VerificationError, InvalidHashError):
        return False


def listing(engine: Engine) -> list[dict[str, str]]:
    with reading(engine) as session:
        return [
            {"name": p.name, "role": p.role, "created_at": p.created_at.isoformat()}
            for p in web_user_rows.all_people(session)
        ]
