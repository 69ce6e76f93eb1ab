"""Group commit (issue 12): the decisions of concurrent requests of one process go to the audit
log in shared transactions, the chain stays whole, and no request is answered unless the
transaction holding its entry committed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from authreg.domain.clock import utcnow
from authreg.domain.errors import Unavailable
from authreg.domain.requests import load_request
from authreg.services.decision_service import DecisionService
from authreg.storage import audit_log, identity
from authreg.storage.models import AuditEntry
from authreg.storage.sessions import reading, transaction
from tests.conftest import SEED_ASK, TEST_SECRET
from tests.triggers import refused_at_commit, trigger

ASKERS = 8
EACH = 15


@pytest.fixture
def service(seeded: Engine) -> Iterator[DecisionService]:
    yield DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)


@pytest.fixture
def commits(seeded: Engine) -> Iterator[Callable[[], int]]:
    """How many transactions have moved the audit head since: each of the writer's moves it
    once, whatever it holds (counted by a trigger in the database)."""
    with transaction(seeded) as session:
        session.execute(text("CREATE TABLE head_moves (n INTEGER NOT NULL)"))
        session.execute(text("INSERT INTO head_moves VALUES (0)"))
    moved = "UPDATE head_moves SET n = n + 1"

    def count() -> int:
        with reading(seeded) as session:
            return int(session.execute(text("SELECT n FROM head_moves")).scalar_one())

    with trigger(seeded, "count_moves", "AFTER UPDATE ON audit_head", "NEW.seq <> OLD.seq", run=moved):
        yield count


@contextmanager
def log_held(engine: Engine, seconds: float) -> Iterator[None]:
    """Another writer holds the audit head for a while, as a slow disk flush does under load:
    the requests that arrive meanwhile pile up behind it. Yields once it holds it."""
    holding = threading.Event()

    def hold() -> None:
        with transaction(engine) as session:
            session.execute(text("UPDATE audit_head SET keyed_from = keyed_from WHERE id = 1"))
            holding.set()
            time.sleep(seconds)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10), "the other writer never got the audit head"
    try:
        yield
    finally:
        holder.join()


def ask(service: DecisionService, name: str) -> list[dict[str, Any]]:
    return [service.ask(load_request(SEED_ASK), asked_by=name, now=utcnow()) for _ in range(EACH)]


def logged_ids(engine: Engine) -> list[str]:
    with reading(engine) as session:
        return list(session.exec(select(AuditEntry.decision_id).order_by(AuditEntry.seq)))  # type: ignore[call-overload]


def test_concurrent_decisions_share_commits_and_the_chain_holds(
    service: DecisionService, seeded: Engine, commits: Callable[[], int]
) -> None:
    before = len(logged_ids(seeded))
    with log_held(seeded, 0.3), ThreadPoolExecutor(ASKERS) as pool:
        answers = [a for batch in pool.map(lambda i: ask(service, f"app-{i}"), range(ASKERS)) for a in batch]
    ids = logged_ids(seeded)
    assert len(answers) == ASKERS * EACH and {a["decision_id"] for a in answers} == set(ids[before:])
    assert 0 < commits() < ASKERS * EACH  # some transactions held several requests' entries
    with reading(seeded) as session:
        found = audit_log.verify(session, key=identity.chain_key(TEST_SECRET))
    assert found.intact and found.entries == len(ids)


def test_a_failed_commit_answers_none_of_the_requests_in_it(service: DecisionService, seeded: Engine) -> None:
    """The commit of a transaction holding any of about a third of the entries fails (as on a
    full disk): each request is either answered with an entry that is in the log, or gets the error
    (503 over HTTP); no answer without its entry."""
    some = "substr(NEW.decision_id, 1, 1) < '6'"
    outcomes: list[str | None] = []

    def one(index: int) -> None:
        try:
            answer = service.ask(load_request(SEED_ASK), asked_by=f"app-{index}", now=utcnow())
            outcomes.append(answer["decision_id"])
        except Unavailable:
            outcomes.append(None)

    with (
        refused_at_commit(seeded, some, "the disk is full"),
        log_held(seeded, 0.1),
        ThreadPoolExecutor(ASKERS) as pool,
    ):
        list(pool.map(one, range(ASKERS * EACH)))
    answered = [found for found in outcomes if found is not None]
    assert answered and len(answered) < len(outcomes)  # both happened
    assert set(answered) <= set(logged_ids(seeded))
    with reading(seeded) as session:
        assert audit_log.verify(session, key=identity.chain_key(TEST_SECRET)).intact
