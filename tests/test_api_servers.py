"""Several servers on one PostgreSQL: a change made through one is used by the other within a
second; a lost database makes decisions 503 (never allow) until it is back."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from authreg.domain.clock import utcnow
from authreg.domain.documents import read_paths
from authreg.services import tokens
from authreg.services.apply import apply_documents
from authreg.storage import identity, migrate
from authreg.storage.sessions import make_engine
from tests.conftest import POLICIES, SEED_ASK, SEED_ID, TEST_SECRET, record_seed_facts
from tests.postgres import running_server
from tests.serving import served

ASK = {**SEED_ASK, "at": "2019-06-01"}


def _call(port: int, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _registry(url: str) -> tuple[str, str]:
    migrate.upgrade(url)
    engine = make_engine(url)
    apply_documents(engine, read_paths([POLICIES]), actor="test", now=utcnow())
    identity.check_key(engine, TEST_SECRET)
    record_seed_facts(engine)
    app_token = tokens.create(engine, name="case-app", role="application", now=utcnow())
    officer = tokens.create(engine, name="dpo", role="privacy-officer", now=utcnow())
    engine.dispose()
    return app_token, officer


def test_a_change_through_one_server_is_used_by_the_other_within_a_second(postgres_url: str) -> None:
    app_token, officer = _registry(postgres_url)
    with (
        served(postgres_url, AUTHREG_SECRET_KEY=TEST_SECRET) as first,
        served(postgres_url, AUTHREG_SECRET_KEY=TEST_SECRET) as second,
    ):
        assert _call(second, "POST", "/api/v1/decisions", app_token, ASK)[1]["decision"] == "allow"
        status, _ = _call(
            first,
            "POST",
            f"/api/v1/authorisations/{SEED_ID}/suspend",
            officer,
            {"on": "2019-01-01", "reason": "incident"},
        )
        assert status == 200
        changed_at = time.monotonic()
        while True:
            answer = _call(second, "POST", "/api/v1/decisions", app_token, ASK)[1]
            if answer["decision"] == "deny":
                break
            assert time.monotonic() - changed_at < 1.0, "the second server still allows after a second"
            time.sleep(0.05)
        assert [r["code"] for r in answer["reasons"]] == ["authorisation-suspended"]


def test_a_lost_database_denies_with_503_and_recovers() -> None:
    with running_server() as server:
        url = server.url(server.create_database())
        app_token, _ = _registry(url)
        with served(url, AUTHREG_SECRET_KEY=TEST_SECRET) as port:
            assert _call(port, "POST", "/api/v1/decisions", app_token, ASK)[0] == 200
            server.stop()
            try:
                for _ in range(3):
                    status, problem = _call(port, "POST", "/api/v1/decisions", app_token, ASK)
                    assert status == 503, problem
                    assert problem["title"] == "Service Unavailable"
            finally:
                server.start()
            deadline = time.monotonic() + 10
            while (status := _call(port, "POST", "/api/v1/decisions", app_token, ASK)[0]) != 200:
                assert time.monotonic() < deadline, status
                time.sleep(0.2)
