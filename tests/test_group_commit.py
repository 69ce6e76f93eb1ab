"""Group commit (issue 12): the decisions of concurrent requests of one process go to the audit
log in shared transactions, the chain stays whole, and no request is answered unless the
transaction holding its entry committed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import select

from authreg.domain.clock import utcnow
from authreg.domain.requests import load_request
from authreg.services.decision_service import DecisionService
from authreg.storage import audit_log, identity
from authreg.storage.models import AuditEntry
from authreg.storage.sessions import reading
from tests.conftest import SEED_ASK, TEST_SECRET

ASKERS = 8
EACH = 15


@pytest.fixture
def service(seeded: Engine) -> Iterator[DecisionService]:
    yield DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET)


@pytest.fixture
def commits(seeded: Engine) -> Iterator[list[float]]:
    """The moments transactions committed on the engine; the first few are slowed down, so that
    requests pile up behind them as they do behind a disk flush under load."""
    found: list[float] = []

    def slow(_connection: Any) -> None:
        if len(found) < 3:
            time.sleep(0.05)
        found.append(time.monotonic())

    event.listen(seeded, "commit", slow)
    yield found
    event.remove(seeded, "commit", slow)


def ask(service: DecisionService, name: str) -> list[dict[str, Any]]:
    return [service.ask(load_request(SEED_ASK), asked_by=name, now=utcnow()) for _ in range(EACH)]


def logged_ids(engine: Engine) -> list[str]:
    with reading(engine) as session:
        return list(session.exec(select(AuditEntry.decision_id).order_by(AuditEntry.seq)))  # type: ignore[call-overload]


def test_concurrent_decisions_share_commits_and_the_chain_holds(
    service: DecisionService, seeded: Engine, commits: list[float]
) -> None:
    before = len(logged_ids(seeded))
    with ThreadPoolExecutor(ASKERS) as pool:
        answers = [a for batch in pool.map(lambda i: ask(service, f"app-{i}"), range(ASKERS)) for a in batch]
    ids = logged_ids(seeded)
    assert len(answers) == ASKERS * EACH and {a["decision_id"] for a in answers} == set(ids[before:])
    assert len(commits) < ASKERS * EACH  # some transactions held several requests' entries
    with reading(seeded) as session:
        found = audit_log.verify(session, key=identity.chain_key(TEST_SECRET))
    assert found.intact and found.entries == len(ids)


def test_a_failed_commit_answers_none_of_the_requests_in_it(service: DecisionService, seeded: Engine) -> None:
    """Every third transaction fails: each request is either answered with an entry that is in
    the log, or gets the error; no answer without its entry."""
    failing = threading.Lock()
    count = [0]

    def sometimes(_connection: Any) -> None:
        with failing:
            count[0] += 1
            turn = count[0]
        time.sleep(0.01)
        if turn % 3 == 0:
            raise RuntimeError("the disk is full")

    event.listen(seeded, "commit", sometimes)
    outcomes: list[str | None] = []

    def one(index: int) -> None:
        try:
            answer = service.ask(load_request(SEED_ASK), asked_by=f"app-{index}", now=utcnow())
            outcomes.append(answer["decision_id"])
        except RuntimeError:
            outcomes.append(None)

    try:
        with ThreadPoolExecutor(ASKERS) as pool:
            list(pool.map(one, range(ASKERS * EACH)))
    finally:
        event.remove(seeded, "commit", sometimes)
    answered = [found for found in outcomes if found is not None]
    assert answered and len(answered) < len(outcomes)  # both happened
    assert set(answered) <= set(logged_ids(seeded))
    with reading(seeded) as session:
        assert audit_log.verify(session, key=identity.chain_key(TEST_SECRET)).intact
