"""schemathesis against the app's own OpenAPI document: generated requests to every operation,
with a token of a role allowed to call it; no 5xx, and every documented response matches its
schema. Bounded in examples so it stays within a minute or two."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import casbin
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from authreg.api.access import ROLES_MODEL, ROLES_POLICY
from authreg.app import create_app
from authreg.domain.clock import utcnow
from authreg.domain.documents import read_paths
from authreg.services import tokens
from authreg.services.apply import apply_documents
from authreg.storage import migrate
from authreg.storage.sessions import make_engine
from tests.conftest import POLICIES, TEST_SECRET, examples

ROLES = casbin.Enforcer(str(ROLES_MODEL), str(ROLES_POLICY))


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, dict[str, str]]]:
    folder = Path(tmp_path_factory.mktemp("fuzz"))
    url = f"sqlite:///{folder / 'authreg.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    apply_documents(engine, read_paths([POLICIES]), actor="fuzz", now=utcnow())
    made = {role: tokens.create(engine, name=f"fuzz-{role}", role=role, now=utcnow()) for role in tokens.ROLES}
    engine.dispose()
    app = create_app(
        {
            "DATABASE_URL": url,
            "TESTING": True,
            "SUBJECT_KEY": TEST_SECRET,
            "CHECKPOINT_DIR": str(folder / "checkpoints"),
            "SIGNING_KEY_FILE": str(folder / "signing.key"),
        }
    )
    yield app, made
    app.extensions["authreg.engine"].dispose()


def _role_for(method: str, path: str) -> str:
    concrete = re.sub(r"\{(\w+)\}", lambda m: "suspend" if m.group(1) == "kind" else "x", path)
    return next(role for role in tokens.ROLES if ROLES.enforce(role, concrete, method.upper()))


def test_no_server_error_and_responses_match_their_schema(fuzzed: tuple[Flask, dict[str, str]]) -> None:
    """Every operation of the document, 25 generated cases each under CI=true (schemathesis' pytest plugin does
    not run under this pytest, so its Hypothesis strategies are driven here)."""
    app, made = fuzzed
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 23  # every endpoint of the role matrix, and the public register's two
    for operation in operations:
        if operation.path.startswith("/api/v1/public/"):
            _fuzz(operation, {})  # for anyone, without a token
        else:
            _fuzz(operation, {"Authorization": f"Bearer {made[_role_for(operation.method, operation.path)]}"})


def _fuzz(operation: Any, headers: dict[str, str]) -> None:
    @settings(max_examples=examples(25), deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

    run()
