"""What handlers reach through the app: the database, the decision service of this process,
the clock, and the guard that keeps decisions from seeing a change half-applied."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path

from flask import current_app

from authreg.domain.clock import Clock
from authreg.domain.policy_engine import PolicyEngine
from authreg.domain.subjects import load_secret
from authreg.services.database import Database
from authreg.services.decision_service import DecisionService


def engine() -> Database:
    found: Database = current_app.extensions["authreg.engine"]
    return found


def service() -> DecisionService:
    found: DecisionService = current_app.extensions["authreg.decisions"]()
    return found


def current_policy() -> PolicyEngine:
    """The process's policy, caught up with the change log first: a listing or a search answers
    as of now, and a database that cannot be reached is a 503, never a stale answer."""
    decisions = service()
    decisions.sync()
    return decisions.policy


def clock() -> Clock:
    return Clock.current(current_app.config["TIMEZONE"])


def due_soon_days() -> int:
    """How many days before its due date a condition is ``due-soon`` (AUTHREG_DUE_SOON_DAYS)."""
    return int(current_app.config["DUE_SOON_DAYS"])


def today() -> date:
    return clock().today


@contextmanager
def changing() -> Iterator[None]:
    """Wrap a write: decisions in this process wait for it and see it as soon as it commits
    (what the change log says it touched is recompiled)."""
    decisions = current_app.extensions["authreg.decisions"]
    loaded = decisions.loaded
    with loaded[0].changing() if loaded else nullcontext():
        yield
    if loaded:
        decisions.settle()


def subject_key() -> str:
    """The key that hashes data subjects; SecretUnusable (a 503) when it is missing or weak."""
    return load_secret(current_app.config.get("SUBJECT_KEY"), Path(current_app.config["SUBJECT_KEY_FILE"]))
