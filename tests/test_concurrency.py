"""Parallel writers through the real WSGI app, on SQLite and on a real PostgreSQL: for each kind
of write that must not happen twice, twelve clients race and exactly one wins; every other one
gets 409 problem+json, and what is stored is the winner's change alone."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, text
from sqlmodel import Session
from werkzeug.test import TestResponse

from authreg.domain.clock import utcnow
from authreg.domain.documents import parse
from authreg.services import tokens
from authreg.storage import registry_rows
from authreg.storage.sessions import transaction
from tests.conftest import SEED_ID

WRITERS = 12
Headers = dict[str, dict[str, str]]


def race(api: Flask, call: Callable[[Any, int], TestResponse]) -> list[TestResponse]:
    """``WRITERS`` threads, each with its own client, released at once."""
    barrier = threading.Barrier(WRITERS)
    answers: list[TestResponse | None] = [None] * WRITERS

    def run(index: int) -> None:
        client = api.test_client()
        barrier.wait()
        answers[index] = call(client, index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def one_winner(answers: list[TestResponse], won: int) -> TestResponse:
    codes = Counter(answer.status_code for answer in answers)
    assert codes == {won: 1, 409: WRITERS - 1}, codes
    for answer in answers:
        if answer.status_code == 409:
            assert answer.mimetype == "application/problem+json"
            assert answer.get_json()["status"] == 409
    return next(answer for answer in answers if answer.status_code == won)


def seed_json(seed_document: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(parse(seed_document, "seed").canonical()))


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def test_parallel_updates_with_one_if_match(
    api: Flask, bearer: Headers, seeded: Engine, seed_document: dict[str, Any]
) -> None:
    officer = bearer["privacy-officer"]

    def put(client: Any, index: int) -> TestResponse:
        body = {**seed_json(seed_document), "title": f"title written by {index}"}
        return client.put(f"/api/v1/authorisations/{SEED_ID}", json=body, headers={**officer, "If-Match": '"1"'})

    winner = one_winner(race(api, put), 200)
    assert winner.get_json()["version"] == 2
    stored = api.test_client().get(f"/api/v1/authorisations/{SEED_ID}", headers=officer)
    assert stored.headers["ETag"] == '"2"'
    assert count(seeded, f"SELECT count(*) FROM authorisation_version WHERE authorisation_id = '{SEED_ID}'") == 2
    assert stored.get_json()["title"].startswith("title written by ")


def test_parallel_creates_of_one_new_id(
    api: Flask, bearer: Headers, seeded: Engine, seed_document: dict[str, Any]
) -> None:
    body = {**seed_json(seed_document), "id": "vtc-2026-new"}

    def post(client: Any, _index: int) -> TestResponse:
        return client.post("/api/v1/authorisations", json=body, headers=bearer["privacy-officer"])

    one_winner(race(api, post), 201)
    assert count(seeded, "SELECT count(*) FROM authorisation_version WHERE authorisation_id = 'vtc-2026-new'") == 1


@pytest.mark.parametrize("kind", ["suspend", "revoke"])
def test_parallel_status_changes(api: Flask, bearer: Headers, seeded: Engine, kind: str) -> None:
    def change(client: Any, index: int) -> TestResponse:
        body = {"on": "2019-01-01", "reason": f"incident {index}"}
        return client.post(f"/api/v1/authorisations/{SEED_ID}/{kind}", json=body, headers=bearer["privacy-officer"])

    one_winner(race(api, change), 200)
    assert count(seeded, "SELECT count(*) FROM status_change") == 1


def test_parallel_corrections_of_one_fulfilment(api: Flask, bearer: Headers, seeded: Engine) -> None:
    path = f"/api/v1/authorisations/{SEED_ID}/conditions/security-plan/fulfilments"
    first = api.test_client().post(
        path, json={"fulfilled_on": "2018-01-15", "evidence": "brief"}, headers=bearer["privacy-officer"]
    )
    assert first.status_code == 201
    fulfilment = first.get_json()["id"]

    def correct(client: Any, index: int) -> TestResponse:
        body = {"fulfilled_on": "2017-11-30", "evidence": f"correction {index}", "supersedes": fulfilment}
        return client.post(path, json=body, headers=bearer["privacy-officer"])

    one_winner(race(api, correct), 201)
    assert count(seeded, "SELECT count(*) FROM condition_fulfilment") == 2


def test_parallel_samples_with_one_id(api: Flask, bearer: Headers, seeded: Engine) -> None:
    def sample(client: Any, _index: int) -> TestResponse:
        body = {"id": "s1", "drawn_on": "2018-03-01", "subjects": ["85.07.30-033.28"]}
        return client.post(f"/api/v1/authorisations/{SEED_ID}/samples", json=body, headers=bearer["privacy-officer"])

    one_winner(race(api, sample), 201)
    assert count(seeded, "SELECT count(*) FROM sample_subject WHERE sample_id = 's1'") == 1


def test_parallel_declarations_of_one_user_and_day(api: Flask, bearer: Headers, seeded: Engine) -> None:
    def declare(client: Any, index: int) -> TestResponse:
        path = f"/api/v1/authorisations/{SEED_ID}/users/esf-controller-1/declarations"
        return client.post(
            path, json={"signed_on": "2017-09-20", "evidence": f"map {index}"}, headers=bearer["privacy-officer"]
        )

    one_winner(race(api, declare), 201)
    assert count(seeded, "SELECT count(*) FROM declaration WHERE signed_on = '2017-09-20'") == 1


def test_parallel_events_of_one_day(api: Flask, bearer: Headers, seeded: Engine) -> None:
    def engage(client: Any, index: int) -> TestResponse:
        body = {"event": "hbplus-engaged", "occurred_on": "2018-05-01", "evidence": f"contract {index}"}
        return client.post(f"/api/v1/authorisations/{SEED_ID}/events", json=body, headers=bearer["privacy-officer"])

    one_winner(race(api, engage), 201)
    assert count(seeded, "SELECT count(*) FROM condition_event") == 1


def test_parallel_tokens_with_one_name(seeded: Engine) -> None:
    """Tokens are made by the CLI's service function; twelve threads, one name."""
    outcomes: list[str] = []
    barrier = threading.Barrier(WRITERS)

    def make() -> None:
        barrier.wait()
        try:
            tokens.create(seeded, name="racer", role="application", now=utcnow())
            outcomes.append("created")
        except Exception as error:  # the kind of error is what the test asserts
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=make) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(outcomes) == {"created": 1, "Conflict": WRITERS - 1}
    assert count(seeded, "SELECT count(*) FROM api_token WHERE name = 'racer'") == 1


def test_changes_commit_in_the_order_of_their_numbers(engine: Engine) -> None:
    """A change numbered later may not commit before an earlier one: a server that caught up with
    the later number would never reload the earlier change (found in review of issue 9)."""
    first = Session(engine)
    first.begin()
    number = registry_rows.record_change(first, actor="a", summary="first", now=utcnow(), authorisations=["a"])
    later: list[int] = []

    def second() -> None:
        with transaction(engine) as session:
            later.append(
                registry_rows.record_change(session, actor="b", summary="second", now=utcnow(), authorisations=["b"])
            )

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=1.0)
    assert thread.is_alive(), "the second change did not wait for the first to commit"
    first.commit()
    first.close()
    thread.join(timeout=10)
    assert later == [number + 1]
