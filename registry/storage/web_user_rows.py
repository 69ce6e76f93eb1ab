"""People of the web pages in the database: only the Argon2 hash of a password is stored."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from authreg.storage.models import WebUser


def add(session: Session, *, name: str, role: str, password_hash: str, now: datetime) -> WebUser:
    person = WebUser(name=name, role=role, password_hash=password_hash, created_at=now)
    session.add(person)
    session.flush()
    return person


def by_name(session: Session, name: str) -> WebUser | None:
    return session.exec(select(WebUser).where(WebUser.name == name)).first()


def for_update(session: Session, name: str) -> WebUser | None:
    """The row, locked until the transaction ends (PostgreSQL), so that two sign-ins of one name
    count their failures one after the other."""
    return session.exec(select(WebUser).where(WebUser.name == name).with_for_update()).first()


def remove(session: Session, name: str) -> bool:
    person = by_name(session, name)
    if person is None:
        return False
    session.delete(person)
    return True


def all_people(session: Session) -> list[WebUser]:
    return list(session.exec(select(WebUser).order_by(WebUser.name)))  # type: ignore[arg-type]
