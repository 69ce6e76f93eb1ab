"""API tokens in the database: only their SHA-256 is stored."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from authreg.storage.models import ApiToken


def add(session: Session, *, name: str, role: str, token_hash: str, now: datetime) -> ApiToken:
    token = ApiToken(name=name, role=role, token_hash=token_hash, created_at=now)
    session.add(token)
    session.flush()
    return token


def by_name(session: Session, name: str) -> ApiToken | None:
    return session.exec(select(ApiToken).where(ApiToken.name == name)).first()


def by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()


def all_tokens(session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(ApiToken.name)))  # type: ignore[arg-type]
