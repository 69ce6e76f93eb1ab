"""People who sign in to the web pages: made from the CLI (``authreg user create``), one role
each (the API's four), the password kept only as an Argon2 hash.

Guessing is slowed down per name, in the database, so every server process counts the same
failures: from the third failure in a row, a name must wait 1, 2, 4, ... seconds (at most a
minute) after its last failure before a password is even checked. A name that does not exist
costs the same Argon2 work as one that does, so the answer's time does not tell which names
exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine

from authreg.domain.document_format import MAX_ID_LENGTH, check_texts
from authreg.domain.errors import Conflict, Invalid, Problem, RegistryError
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


class SignInRefused(RegistryError):
    """Wrong name or password, or too many failures just now; the message says which of the
    two without saying whether the name exists."""


def create(engine: Engine, *, name: str, role: str, password: str, now: datetime) -> Person:
    problems = []
    if role not in ROLES:
        problems.append(Problem("", "role", f"must be one of {', '.join(ROLES)}"))
    if not name.strip():
        problems.append(Problem("", "name", "required"))
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        problems.append(
            Problem("", "password", f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long")
        )
    if problems:
        raise Invalid(problems)
    check_texts(("name", name, MAX_ID_LENGTH))
    hashed = _HASHER.hash(password)
    with transaction(engine) as session:
        if web_user_rows.by_name(session, name) is not None:
            raise Conflict(f"a user named {name!r} exists already")
        web_user_rows.add(session, name=name, role=role, password_hash=hashed, now=now)
    return Person(name, role)


def wait_after(failures: int) -> timedelta:
    """How long a name waits after its last failure before its next try is checked."""
    if failures <= FREE_FAILURES:
        return timedelta(0)
    return timedelta(seconds=min(2 ** (failures - FREE_FAILURES - 1), MAX_WAIT_SECONDS))


def sign_in(engine: Engine, *, name: str, password: str, now: datetime) -> Person:
    """The person, or ``SignInRefused``. One transaction: a failure is counted (and committed)
    before the refusal is raised, so a rollback never forgets it."""
    if len(password) > MAX_PASSWORD_LENGTH or len(name) > MAX_ID_LENGTH:
        raise SignInRefused("wrong name or password")
    refusal = "wrong name or password"
    with transaction(engine) as session:
        person = web_user_rows.for_update(session, name)
        if person is None:
            _verifies(_DECOY, password)
            raise SignInRefused(refusal)
        if person.last_failed_at is not None:
            last = person.last_failed_at  # SQLite gives it back without its zone: it is UTC
            ready = (last if last.tzinfo else last.replace(tzinfo=UTC)) + wait_after(person.failed_sign_ins)
            if now < ready:
                seconds = max(1, int((ready - now).total_seconds() + 0.999))
                raise SignInRefused(f"too many failed sign-ins: try again in {seconds} s")
        if _verifies(person.password_hash, password):
            if _HASHER.check_needs_rehash(person.password_hash):
                person.password_hash = _HASHER.hash(password)
            person.failed_sign_ins, person.last_failed_at = 0, None
            refusal = ""
        else:
            person.failed_sign_ins += 1
            person.last_failed_at = now
        session.add(person)
        found = Person(person.name, person.role)
    if refusal:
        raise SignInRefused(refusal)
    return found


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
